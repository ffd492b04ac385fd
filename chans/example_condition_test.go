package chans_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

// Notify wakes waiters in the order they called Wait; NotifyAll wakes the
// rest. A waiter is registered when Wait is called, so a notification sent
// right after cannot be missed.
func ExampleCondition() {
	var cond chans.Condition
	woken := make(chan int)
	for i := range 3 {
		w := cond.Wait(context.Background()) // registered here, in order
		go func() {
			<-w
			woken <- i
		}()
	}

	cond.Notify(1)
	fmt.Println("first:", <-woken)

	cond.NotifyAll()
	rest := []int{<-woken, <-woken}
	slices.Sort(rest)
	fmt.Println("rest:", rest)
	// Output:
	// first: 0
	// rest: [1 2]
}

// A wait with a deadline. A notification that reaches a waiter whose ctx ends
// before it receives is passed to the next waiter, so none is wasted.
func ExampleCondition_timeout() {
	var cond chans.Condition
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, ok := <-cond.Wait(ctx); !ok {
		fmt.Println("no notification:", ctx.Err())
	}
	// Output: no notification: context deadline exceeded
}
