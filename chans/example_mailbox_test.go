package chans_test

import (
	"context"
	"fmt"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

// Selective receive: take the message you want now; the others stay queued,
// in order, for later (kiwi's WaitForMessages with accept and defer).
func ExampleMailbox() {
	type msg struct {
		name  string
		value int
	}
	var inbox chans.Mailbox[msg]
	inbox.Send(msg{"print", 1})
	inbox.Send(msg{"urgent", 99})
	inbox.Send(msg{"print", 2})

	ctx := context.Background()
	urgent := func(m msg) bool { return m.name == "urgent" }
	m := <-inbox.Receive(ctx, urgent)
	fmt.Println("first:", m.name, m.value)
	for inbox.Len() > 0 {
		m := <-inbox.Receive(ctx, nil) // nil accepts anything
		fmt.Println("then: ", m.name, m.value)
	}
	// Output:
	// first: urgent 99
	// then:  print 1
	// then:  print 2
}

// A receive with a deadline: if no acceptable message comes in time, the
// channel is closed empty and the messages it refused are still there.
func ExampleMailbox_Receive() {
	var inbox chans.Mailbox[string]
	inbox.Send("noise")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	quit := func(m string) bool { return m == "quit" }
	if _, ok := <-inbox.Receive(ctx, quit); !ok {
		fmt.Println("no quit before the deadline:", ctx.Err())
	}
	fmt.Println("still queued:", inbox.Len())
	// Output:
	// no quit before the deadline: context deadline exceeded
	// still queued: 1
}
