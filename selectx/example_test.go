package selectx_test

import (
	"context"
	"errors"
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

// Take two locks at once, or neither. All gives back what it took if it
// cannot take everything; here ctx is already done, so it starts nothing.
func ExampleAll() {
	var a, b chans.Lock
	rs, err := selectx.All(context.Background(), a.Acquire, b.Acquire)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("holding both:", a.Locked() && b.Locked())
	for _, release := range rs {
		release()
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rs, err = selectx.All(ctx, a.Acquire, b.Acquire)
	fmt.Println(err, rs[0] == nil && rs[1] == nil, a.Locked() || b.Locked())
	// Output:
	// holding both: true
	// context canceled true false
}

// Handle items as they come, from whichever queue has one. Items ready at
// once come in argument order; the loop ends when every op has delivered.
func ExampleCompleted() {
	q0, q1, q2 := chans.NewQueue[string](0), chans.NewQueue[string](0), chans.NewQueue[string](0)
	_ = q1.TryPut("b")
	_ = q2.TryPut("c")
	n := 0
	for i, item := range selectx.Completed(context.Background(), q0.Get, q1.Get, q2.Get) {
		fmt.Println("queue", i, "gave", item)
		if n++; n == 2 {
			_ = q0.TryPut("a") // the loop is still waiting for q0
		}
	}
	// Output:
	// queue 1 gave b
	// queue 2 gave c
	// queue 0 gave a
}

// Take the lock or a job, whichever comes first. The winner's func runs in
// the caller's goroutine once the others are cancelled: the lock the first
// case was queued for is not taken.
func ExampleSelect() {
	var lock chans.Lock
	jobs := chans.NewQueue[string](0)
	holder, _ := lock.TryAcquire() // the lock is busy
	_ = jobs.TryPut("resize image")

	i, err := selectx.Select(context.Background(),
		selectx.On(lock.Acquire, func(release chans.Release) {
			defer release()
			fmt.Println("got the lock")
		}),
		selectx.On(jobs.Get, func(job string) { fmt.Println("handling", job) }),
	)
	fmt.Println(i, err)
	holder()
	fmt.Println("locked:", lock.Locked(), "jobs left:", jobs.Len())
	// Output:
	// handling resize image
	// 1 <nil>
	// locked: false jobs left: 0
}

// On pairs an op with what to do with its value, so the cases of one Select
// may have different types. then may be nil when the index is all you need
// and the op hands out nothing exclusive. A Case holds no state of its own:
// the same cases serve several Selects.
func ExampleOn() {
	var answer chans.Result[int]
	var stop chans.Event
	_ = answer.Set(42)
	cases := []selectx.Case{
		selectx.On(selectx.Closed(stop.Wait()), nil),
		selectx.On(answer.Get, func(v int) { fmt.Println("the answer is", v) }),
	}
	for range 2 {
		i, err := selectx.Select(context.Background(), cases...)
		fmt.Println(i, err)
		stop.Set() // from now on both are ready: the earlier case wins
	}
	// Output:
	// the answer is 42
	// 1 <nil>
	// 0 <nil>
}

// Chan makes an op of a plain channel (a timer's, a Process's, your own).
// Nothing is taken back when it loses: a value sent on it stays for the next
// receiver.
func ExampleChan() {
	a, b := make(chan string, 1), make(chan string, 1)
	a <- "from a"
	b <- "from b"
	i, v, err := selectx.First(context.Background(), selectx.Chan(a), selectx.Chan(b))
	fmt.Println(i, v, err) // both ready: the earlier op wins
	fmt.Println(<-b)
	// Output:
	// 0 from a <nil>
	// from b
}

// Hand a callback to code that reports through one, then wait for its
// result. Only the first call counts: a later value goes to Discard (give
// back a grant there).
func ExampleGroup_Callback() {
	g := selectx.Group[string, int]{Discard: func(key string, v int) {
		fmt.Println("discarded", key, v)
	}}
	done, _ := g.Callback("sum")
	go func() { done(1 + 2) }() // reports later, from another goroutine

	v, err := g.Wait(context.Background(), "sum")
	fmt.Println(v, err)
	done(4) // called again
	fmt.Println(g.Close())
	// Output:
	// 3 <nil>
	// discarded sum 4
	// <nil>
}

// Bind makes an op of a method with one more argument, without a closure:
// here two permits of a semaphore, or a lock, whichever comes first.
func ExampleBind() {
	sem := chans.NewSemaphore(2)
	var lock chans.Lock
	i, release, err := selectx.First(context.Background(), selectx.Bind(sem.AcquireN, 2), lock.Acquire)
	if err != nil {
		return
	}
	defer release()
	fmt.Println(i, sem.Value(), lock.Locked())
	// Output: 0 0 false
}

// CompletedErr reports failures too, each with its reason: here a task that
// failed and one that did not.
func ExampleCompletedErr() {
	ctx := context.Background()
	errNoAnswer := errors.New("no answer")
	ok := chans.Go(ctx, func(context.Context) (string, error) { return "fine", nil })
	<-ok.Done()
	bad := chans.Go(ctx, func(context.Context) (string, error) { return "", errNoAnswer })
	<-bad.Done()
	for c, err := range selectx.CompletedErr(ctx, ok.Get, bad.Get) {
		if err != nil {
			fmt.Println(err, errors.Is(err, errNoAnswer))
			continue
		}
		fmt.Println("op", c.Index, "gave", c.Value)
	}
	// Output:
	// op 0 gave fine
	// selectx: op 1 failed: no answer true
}
