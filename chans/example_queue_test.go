package chans_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

// Producers and consumers with a bounded queue: Put waits while the queue is
// full, and Join waits until every item taken has been marked done.
func ExampleQueue() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	q := chans.NewQueue[int](2)

	var mu sync.Mutex
	var squares []int
	var workers sync.WaitGroup
	for range 3 {
		workers.Go(func() {
			for n := range q.All(ctx) {
				mu.Lock()
				squares = append(squares, n*n)
				mu.Unlock()
				q.TaskDone()
			}
		})
	}

	for n := range 6 {
		if err := <-q.Put(ctx, n); err != nil {
			fmt.Println("put:", err)
		}
	}
	<-q.Join() // every item processed
	stop()     // the workers' All loops end
	workers.Wait()

	slices.Sort(squares)
	fmt.Println(squares)
	// Output: [0 1 4 9 16 25]
}

// A priority queue hands out the least item first. When a Get frees a slot
// in a full queue, the oldest blocked putter's item goes in before the Get
// chooses, so an urgent item waiting to get in is not passed over.
func ExampleNewPriorityQueue() {
	type job struct {
		prio int
		name string
	}
	q := chans.NewPriorityQueue(2, func(a, b job) bool { return a.prio < b.prio })
	q.TryPut(job{5, "backup"})
	q.TryPut(job{3, "report"})
	fmt.Println(q.TryPut(job{1, "page on-call"})) // full

	put := q.Put(context.Background(), job{1, "page on-call"}) // waits for room
	for range 3 {
		j, _ := q.TryGet()
		fmt.Println(j.prio, j.name)
	}
	fmt.Println(<-put)
	// Output:
	// chans: queue full
	// 1 page on-call
	// 3 report
	// 5 backup
	// <nil>
}

// A Get that times out takes nothing: an item it was about to receive goes
// back to the front of the queue.
func ExampleQueue_Get() {
	var q chans.Queue[string]

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, ok := <-q.Get(ctx); !ok {
		fmt.Println("nothing:", ctx.Err())
	}

	q.TryPut("first")
	q.TryPut("second")
	ctx, cancel = context.WithCancel(context.Background())
	ch := q.Get(ctx) // "first" is sent to ch...
	cancel()         // ...but the caller walks away before receiving it
	fmt.Println(q.Len())
	_, ok := <-ch // too late: the queue has it back
	fmt.Println(ok)
	v, _ := q.TryGet()
	fmt.Println(v)
	// Output:
	// nothing: context deadline exceeded
	// 2
	// false
	// first
}

// Shutdown stops the puts and lets the getters drain what is left; with
// immediate it drops that too.
func ExampleQueue_Shutdown() {
	var q chans.Queue[string]
	q.TryPut("a")
	q.TryPut("b")
	q.Shutdown(false)

	err := <-q.Put(context.Background(), "c")
	fmt.Println(errors.Is(err, chans.ErrShutdown))
	for v := range q.All(context.Background()) { // ends once drained
		fmt.Println(v)
		q.TaskDone()
	}
	_, err = q.TryGet()
	fmt.Println(err)
	// Output:
	// true
	// a
	// b
	// chans: queue shut down
}

// Workers that do not need select take with the blocking twin, which returns
// ErrShutdown once the queue is shut down and drained.
func ExampleQueue_GetWait() {
	q := chans.NewQueue[int](2)
	ctx := context.Background()
	go func() {
		for i := 1; i <= 3; i++ {
			if err := q.PutWait(ctx, i); err != nil { // waits for room
				return
			}
		}
		q.Shutdown(false) // the worker drains what is left
	}()
	sum := 0
	for {
		v, err := q.GetWait(ctx)
		if errors.Is(err, chans.ErrShutdown) {
			break
		}
		sum += v
		q.TaskDone()
	}
	fmt.Println(sum)
	// Output: 6
}
