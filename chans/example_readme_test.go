package chans_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

// The pairs of the README's "Plain Go vs turnstile": each side is the body of
// one of these Examples, so both compile and run as shown.

var errTimeout = errors.New("timed out")

// Plain Go's way to take a lock and give up after a while: a channel of
// capacity one as a mutex, and a timer.
func Example_plainLockTimeout() {
	mu := make(chan struct{}, 1) // a channel of capacity 1 as a mutex
	update := func(d time.Duration, f func()) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case mu <- struct{}{}:
			defer func() { <-mu }()
			f()
			return nil
		case <-t.C:
			return errTimeout
		}
	}

	n := 0
	mu <- struct{}{} // someone else holds the lock
	fmt.Println("while held:", update(10*time.Millisecond, func() { n++ }), n)
	<-mu
	fmt.Println("after release:", update(10*time.Millisecond, func() { n++ }), n)
	// Output:
	// while held: timed out 0
	// after release: <nil> 1
}

// Acquire with a timeout: the wait is a channel receive, the timeout a ctx.
// A grant that arrives as the deadline passes is never lost: if the caller
// did not receive it, the lock goes back to the next waiter.
func ExampleLock_timeout() {
	var mu chans.Lock
	update := func(d time.Duration, f func()) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		release, ok := <-mu.Acquire(ctx)
		if !ok {
			return ctx.Err() // context.DeadlineExceeded
		}
		defer release()
		f()
		return nil
	}

	n := 0
	holder, _ := mu.TryAcquire() // someone else holds the lock
	fmt.Println("while held:", update(10*time.Millisecond, func() { n++ }), n)
	holder()
	fmt.Println("after release:", update(10*time.Millisecond, func() { n++ }), n)
	// Output:
	// while held: context deadline exceeded 0
	// after release: <nil> 1
}

// Plain Go's sync.Cond cannot time out: a timer must wake every waiter, and
// each must check the time again. The timer broadcasts while holding the
// mutex, and the deadline is fixed before the timer starts; without either,
// a wake-up can come before the waiter sleeps and be lost.
func Example_plainCondTimeout() {
	var (
		mu    sync.Mutex
		cond  = sync.NewCond(&mu)
		ready bool
	)
	waitReady := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		t := time.AfterFunc(d, func() {
			mu.Lock() // broadcast under the lock, or the wake-up can be lost
			defer mu.Unlock()
			cond.Broadcast()
		})
		defer t.Stop()
		mu.Lock()
		defer mu.Unlock()
		for !ready && time.Now().Before(deadline) {
			cond.Wait()
		}
		return ready
	}

	fmt.Println(waitReady(10 * time.Millisecond))
	mu.Lock()
	ready = true
	cond.Broadcast()
	mu.Unlock()
	fmt.Println(waitReady(10 * time.Millisecond))
	// Output:
	// false
	// true
}

// A wait with a deadline. A notification that reaches a waiter whose ctx ends
// before it receives is passed to the next waiter, so none is wasted.
func ExampleCondition_timeout() {
	var notify chans.Condition
	waitNotified := func(d time.Duration) bool {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, ok := <-notify.Wait(ctx)
		return ok
	}

	fmt.Println(waitNotified(10 * time.Millisecond))
	// Output: false
}
