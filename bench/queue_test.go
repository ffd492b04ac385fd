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

// The bounded-queue benchmarks put one item and take it back in one
// goroutine, so neither side ever waits; the baseline impl=chan is a
// buffered channel of the same capacity.

// BenchmarkQueueTry: TryPut and TryGet, against a send and a receive that
// must not block (select with default).
func BenchmarkQueueTry(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
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
	})
	b.Run("impl=chan", func(b *testing.B) {
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
	})
}

// BenchmarkQueueWait: the blocking twins, PutWait and GetWait, against a
// blocking send and receive.
func BenchmarkQueueWait(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		q := chans.NewQueue[int](queueCap)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := q.PutWait(bg, i); err != nil {
				b.Fatal(err)
			}
			if v, err := q.GetWait(bg); err != nil || v != i {
				b.Fatalf("GetWait = %d, %v; want %d", v, err, i)
			}
		}
	})
	b.Run("impl=chan", sendReceive)
}

// BenchmarkQueuePutGet: <-Put(Background) and <-Get(Background).
func BenchmarkQueuePutGet(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) { queuePutGet(b, bg) })
	b.Run("impl=chan", sendReceive)
}

// BenchmarkQueuePutGetCtx: <-Put(ctx) and <-Get(ctx) with a cancellable
// ctx, whose grants are tracked until received; the baseline selects on
// ctx.Done() beside each send and receive.
func BenchmarkQueuePutGetCtx(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		queuePutGet(b, ctx)
	})
	b.Run("impl=chan", func(b *testing.B) {
		ctx, cancel := context.WithCancel(bg)
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
	})
}

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

func sendReceive(b *testing.B) {
	ch := make(chan int, queueCap)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ch <- i
		if v := <-ch; v != i {
			b.Fatalf("got %d, want %d", v, i)
		}
	}
}

// The unbounded-queue benchmarks run one producer goroutine that puts b.N
// items without ever blocking and a consumer (the benchmark goroutine) that
// receives them in order; one op is one item through the queue. The
// baseline is github.com/smallnest/chanx's UnboundedChan.

// BenchmarkUnbounded: the consumer receives every item from <-Get.
func BenchmarkUnbounded(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var q chans.Queue[int] // zero value: unbounded FIFO
		unbounded(b, tryPut(&q), func() (int, bool) {
			v, ok := <-q.Get(bg)
			return v, ok
		})
	})
	b.Run("impl=chanx", unboundedChanx)
}

// BenchmarkUnboundedTryGet: the consumer takes what is stored with TryGet
// and waits with <-Get only when the queue is empty.
func BenchmarkUnboundedTryGet(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var q chans.Queue[int]
		unbounded(b, tryPut(&q), func() (int, bool) {
			if v, err := q.TryGet(); err == nil {
				return v, true
			}
			v, ok := <-q.Get(bg)
			return v, ok
		})
	})
	b.Run("impl=chanx", unboundedChanx)
}

func tryPut(q *chans.Queue[int]) func(int) {
	return func(v int) {
		if err := q.TryPut(v); err != nil {
			panic(err)
		}
	}
}

func unboundedChanx(b *testing.B) {
	ctx, cancel := context.WithCancel(bg)
	defer cancel() // ends chanx's goroutine
	c := chanx.NewUnboundedChan[int](ctx, queueCap)
	unbounded(b, func(v int) { c.In <- v }, func() (int, bool) {
		v, ok := <-c.Out
		return v, ok
	})
}

func unbounded(b *testing.B, put func(int), get func() (int, bool)) {
	b.ReportAllocs()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range b.N {
			put(i)
		}
	}()
	for i := range b.N {
		if v, ok := get(); !ok || v != i {
			b.Fatalf("got %d, %v; want %d", v, ok, i)
		}
	}
	<-done
}
