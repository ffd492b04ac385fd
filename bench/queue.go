package main

import (
	"context"
	"testing"

	"github.com/smallnest/chanx"
	"github.com/turnstile-go/turnstile/chans"
)

// queueCap is the capacity of the bounded queues and of the channels they are
// compared with, and the initial capacity given to chanx.
const queueCap = 64

func queueTryChans(b *testing.B) {
	q := chans.NewQueue[int](queueCap)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := q.TryPut(i); err != nil {
			b.Fatal(err)
		}
		if v, err := q.TryGet(); err != nil || v != i {
			b.Fatalf("TryGet = %d, %v; want %d", v, err, i)
		}
	}
}

// queueTryChan is the channel form of TryPut and TryGet: a send and a
// receive that must not block.
func queueTryChan(b *testing.B) {
	ch := make(chan int, queueCap)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		select {
		case ch <- i:
		default:
			b.Fatal("full")
		}
		select {
		case v := <-ch:
			if v != i {
				b.Fatalf("got %d, want %d", v, i)
			}
		default:
			b.Fatal("empty")
		}
	}
}

// queuePutGet receives from Put then from Get, in one goroutine, under ctx.
func queuePutGet(b *testing.B, ctx context.Context) {
	q := chans.NewQueue[int](queueCap)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := <-q.Put(ctx, i); err != nil {
			b.Fatal(err)
		}
		if v, ok := <-q.Get(ctx); !ok || v != i {
			b.Fatalf("Get = %d, %v; want %d", v, ok, i)
		}
	}
}

func queuePutGetChans(b *testing.B) { queuePutGet(b, context.Background()) }

func queuePutGetCtxChans(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queuePutGet(b, ctx) // grants are tracked until received: the costly case
}

// queuePutGetChan is a blocking send and receive on a buffered channel.
func queuePutGetChan(b *testing.B) {
	ch := make(chan int, queueCap)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ch <- i
		if v := <-ch; v != i {
			b.Fatalf("got %d, want %d", v, i)
		}
	}
}

// queuePutGetCtxChan is the cancellable channel form: each side selects on
// ctx.Done() as well.
func queuePutGetCtxChan(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan int, queueCap)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		select {
		case ch <- i:
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
		select {
		case v := <-ch:
			if v != i {
				b.Fatalf("got %d, want %d", v, i)
			}
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
	}
}

// unbounded runs one producer goroutine that puts b.N items without ever
// blocking and a consumer (the benchmark goroutine) that receives them in
// order; one op is one item through the queue.
func unbounded(b *testing.B, put func(int), get func() (int, bool)) {
	b.ReportAllocs()
	go func() {
		for i := range b.N {
			put(i)
		}
	}()
	for i := range b.N {
		if v, ok := get(); !ok || v != i {
			b.Fatalf("got %d, %v; want %d", v, ok, i)
		}
	}
}

func unboundedChans(b *testing.B) {
	var q chans.Queue[int] // zero value: unbounded FIFO
	ctx := context.Background()
	unbounded(b, func(v int) {
		if err := q.TryPut(v); err != nil {
			panic(err)
		}
	}, func() (int, bool) {
		v, ok := <-q.Get(ctx)
		return v, ok
	})
}

func unboundedChanx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends chanx's goroutine
	c := chanx.NewUnboundedChan[int](ctx, queueCap)
	unbounded(b, func(v int) { c.In <- v }, func() (int, bool) {
		v, ok := <-c.Out
		return v, ok
	})
}

// unboundedTryGetChans is the same queue with a consumer that takes what is
// stored with TryGet and waits with Get only when the queue is empty, which
// makes no channel for an item that is already there.
func unboundedTryGetChans(b *testing.B) {
	var q chans.Queue[int]
	ctx := context.Background()
	unbounded(b, func(v int) {
		if err := q.TryPut(v); err != nil {
			panic(err)
		}
	}, func() (int, bool) {
		if v, err := q.TryGet(); err == nil {
			return v, true
		}
		v, ok := <-q.Get(ctx)
		return v, ok
	})
}
