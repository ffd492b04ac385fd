package chans_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/turnstile-go/turnstile/chans"
)

// Limit how many goroutines do something at once.
func ExampleSemaphore() {
	sem := chans.NewSemaphore(3)
	var (
		mu            sync.Mutex
		running, most int
		wg            sync.WaitGroup
	)
	for range 20 {
		wg.Go(func() {
			release := <-sem.Acquire(context.Background())
			defer release()
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()

			mu.Lock()
			running--
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Println("never more than 3:", most <= 3, "free:", sem.Value())
	// Output: never more than 3: true free: 3
}

// Weighted acquisition: a large request at the head of the line holds back
// smaller ones behind it, so it is not starved.
func ExampleSemaphore_AcquireN() {
	ctx := context.Background()
	mem := chans.NewSemaphore(10) // say, megabytes of buffer
	small := <-mem.AcquireN(ctx, 6)

	big := mem.AcquireN(ctx, 8) // waits: only 4 free
	//abandon:ok refused: the 8 queued come first
	_, ok := mem.TryAcquireN(2)
	fmt.Println("2 more while 8 wait:", ok, "free:", mem.Value())

	small()
	release := <-big
	fmt.Println("big in, free:", mem.Value())
	release()
	fmt.Println("all back:", mem.Value())
	// Output:
	// 2 more while 8 wait: false free: 4
	// big in, free: 2
	// all back: 10
}

// A bounded semaphore catches a release that has no matching acquire.
func ExampleNewBoundedSemaphore() {
	sem := chans.NewBoundedSemaphore(1)
	release := <-sem.Acquire(context.Background())
	release()
	defer func() { fmt.Println("panic:", recover()) }()
	sem.Release() // one more than was ever acquired
	// Output: panic: chans: Semaphore released more times than it was acquired
}

// Wait reports when the semaphore has a free permit without taking it.
func ExampleSemaphore_Wait() {
	sem := chans.NewSemaphore(1)
	release := <-sem.Acquire(context.Background())
	free := sem.Wait()
	select {
	case <-free:
		fmt.Println("free")
	default:
		fmt.Println("locked")
	}
	release()
	<-free
	fmt.Println("free again:", sem.Value())
	// Output:
	// locked
	// free again: 1
}
