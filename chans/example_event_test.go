package chans_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

// An Event as a start gate: everyone waits until it is set.
func ExampleEvent() {
	var ready chans.Event
	var started atomic.Int32
	var wg sync.WaitGroup
	for range 5 {
		gate := ready.Wait()
		wg.Go(func() {
			<-gate
			started.Add(1)
		})
	}
	fmt.Println("before Set:", started.Load())
	ready.Set()
	wg.Wait()
	fmt.Println("after Set:", started.Load(), ready.IsSet())
	// Output:
	// before Set: 0
	// after Set: 5 true
}

// Wait takes no ctx: to wait with a deadline, select on it. A channel
// obtained before a Set is closed by it even if Clear follows at once.
func ExampleEvent_Wait() {
	var e chans.Event
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	select {
	case <-e.Wait():
		fmt.Println("set")
	case <-ctx.Done():
		fmt.Println("still clear:", ctx.Err())
	}

	before := e.Wait()
	e.Set()
	e.Clear()
	<-before // closed by the Set
	fmt.Println("woken; set now?", e.IsSet())
	// Output:
	// still clear: context deadline exceeded
	// woken; set now? false
}
