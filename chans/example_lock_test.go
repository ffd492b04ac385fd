package chans_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/turnstile-go/turnstile/chans"
)

func ExampleLock() {
	var (
		mu    chans.Lock // the zero value is an unlocked Lock
		total int
		wg    sync.WaitGroup
	)
	for i := 1; i <= 10; i++ {
		wg.Go(func() {
			release := <-mu.Acquire(context.Background())
			defer release()
			total += i
		})
	}
	wg.Wait()
	fmt.Println(total, mu.Locked())
	// Output: 55 false
}

// A Lock's wait composes with any other channel in a select. When another
// case wins, cancelling the ctx given to Acquire gives back a grant that may
// already be sitting in the abandoned channel.
func ExampleLock_select() {
	var lock chans.Lock
	holder, _ := lock.TryAcquire()
	shutdown := make(chan struct{})
	close(shutdown)

	ctx, cancel := context.WithCancel(context.Background())
	select {
	case release, ok := <-lock.Acquire(ctx):
		if ok {
			defer release()
			fmt.Println("locked")
		}
	case <-shutdown:
		fmt.Println("shutting down")
	}
	cancel() // the abandoned acquire holds nothing from here on
	holder()
	fmt.Println(lock.Locked())
	// Output:
	// shutting down
	// false
}

func ExampleRWLock() {
	var (
		lock  chans.RWLock // the zero value has no limit on readers
		cache = map[string]string{}
	)
	set := func(k, v string) {
		release := <-lock.AcquireWrite(context.Background())
		defer release()
		cache[k] = v
	}
	get := func(k string) string {
		release := <-lock.AcquireRead(context.Background())
		defer release()
		return cache[k]
	}

	set("greeting", "hello")
	results := make([]string, 3)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = get("greeting") })
	}
	wg.Wait()
	fmt.Println(results, lock.Readers(), lock.Locked())
	// Output: [hello hello hello] 0 false
}

// A reader limit, and a queued writer holding back later readers so that
// writers cannot starve.
func ExampleNewRWLock() {
	ctx := context.Background()
	lock := chans.NewRWLock(2)
	r1 := <-lock.AcquireRead(ctx)
	r2 := <-lock.AcquireRead(ctx)
	//abandon:ok refused: two readers is the limit
	_, ok := lock.TryAcquireRead()
	fmt.Println("third reader:", ok, lock.Readers())

	r1()
	w := lock.AcquireWrite(ctx) // waits for r2
	//abandon:ok refused: a writer is queued
	_, ok = lock.TryAcquireRead()
	fmt.Println("reader behind a queued writer:", ok)

	r2()
	release := <-w
	fmt.Println("writer in:", lock.Readers(), lock.Locked())
	release()
	// Output:
	// third reader: false 2
	// reader behind a queued writer: false
	// writer in: 0 true
}

// The blocking twin: for callers who do not need select, AcquireWait waits
// in the caller's goroutine, with no channel, and says why it failed.
func ExampleLock_AcquireWait() {
	var mu chans.Lock
	release, err := mu.AcquireWait(context.Background())
	if err != nil {
		return // ctx.Err(): nothing was taken
	}
	fmt.Println(mu.Locked())
	release()
	fmt.Println(mu.Locked())
	// Output:
	// true
	// false
}

// A Guard is a hold as a plain value: taking a free lock this way allocates
// nothing at all.
func ExampleLock_AcquireGuard() {
	var mu chans.Lock
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := mu.AcquireGuard(ctx)
	if err != nil {
		return
	}
	defer g.Release()
	fmt.Println(mu.String())
	// Output: Lock(locked, waiters=0)
}
