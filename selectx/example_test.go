package selectx_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// Begin two tasks and handle their results in the order they complete
// (yieldpoints' first example).
func ExampleGroup_WaitAny() {
	var g selectx.Group[int, string]
	callback0, _ := g.Callback(0)
	callback1, _ := g.Callback(1)

	// Fire callback1 soon, callback0 later.
	time.AfterFunc(10*time.Millisecond, func() {
		callback1("foo")
		time.AfterFunc(100*time.Millisecond, func() { callback0("bar") })
	})

	keys := []int{0, 1}
	for len(keys) > 0 {
		key, result, err := g.WaitAny(context.Background(), keys...)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("key:", key, ", result:", result)
		keys = slices.DeleteFunc(keys, func(k int) bool { return k == key })
	}
	// Output:
	// key: 1 , result: foo
	// key: 0 , result: bar
}

// Wait with a timeout: the ctx's deadline. The key stays registered, so
// decline to wait for it with Cancel.
func ExampleGroup_Wait() {
	var g selectx.Group[string, string]
	_, _ = g.Callback("key") // never called
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := g.Wait(ctx, "key")
	fmt.Println(err)
	_ = g.Cancel("key")
	// Output: context deadline exceeded
}

// Register a timeout and wait for it later on (yieldpoints' Timeout).
func ExampleGroup_After() {
	var g selectx.Group[string, struct{}]
	start := time.Now()
	_ = g.After("key", 100*time.Millisecond)
	fmt.Println("going to wait")
	_, _ = g.Wait(context.Background(), "key")
	fmt.Println("waited at least 0.1 seconds:", time.Since(start) >= 100*time.Millisecond)
	// Output:
	// going to wait
	// waited at least 0.1 seconds: true
}

// If you begin a task but don't wait for it, Cancel its key: Close then has
// nothing to report.
func ExampleGroup_Cancel() {
	var g selectx.Group[string, string]
	_, _ = g.Callback("key") // never called
	_ = g.Cancel("key")
	fmt.Println("declined:", g.Close())

	_, _ = g.Callback("forgotten")
	fmt.Println("forgot:", g.Close())
	// Output:
	// declined: <nil>
	// forgot: selectx: keys neither waited for nor cancelled: [forgotten]
}

// Take whichever of two locks is free. The loser's Acquire is cancelled, so
// it holds nothing and queues nothing.
func ExampleFirst() {
	var a, b chans.Lock
	releaseA, _ := a.TryAcquire() // someone else holds a

	i, release, err := selectx.First(context.Background(), a.Acquire, b.Acquire)
	if err != nil {
		fmt.Println(err)
		releaseA()
		return
	}
	fmt.Println("took lock", i)
	release()
	releaseA()
	fmt.Println("a locked:", a.Locked(), "b locked:", b.Locked())
	// Output:
	// took lock 1
	// a locked: false b locked: false
}

// Wait for a lock, unless shutdown is signalled first. An Event's Wait
// signals by closing, so it goes through Closed; the lock the losing branch
// was queued for is given back.
func ExampleClosed() {
	var l chans.Lock
	var shutdown chans.Event
	holder, _ := l.TryAcquire() // someone else holds the lock
	shutdown.Set()

	i, err := selectx.Select(context.Background(),
		selectx.On(l.Acquire, func(release chans.Release) {
			fmt.Println("got the lock")
			release()
		}),
		selectx.On(selectx.Closed(shutdown.Wait()), func(struct{}) {
			fmt.Println("shutting down")
		}),
	)
	fmt.Println(i, err)
	holder()
	fmt.Println("locked:", l.Locked())
	// Output:
	// shutting down
	// 1 <nil>
	// locked: false
}
