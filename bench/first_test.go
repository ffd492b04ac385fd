package main

import (
	"reflect"
	"testing"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// The selectx benchmarks. Each also reports goroutines/op, the goroutines
// started per call: selectx starts none for ops of package chans.

// BenchmarkFirstChannels: selectx.First over four plain channels
// (selectx.Chan), one of them, a different one each time, with a value
// ready; against reflect.Select over the same four.
func BenchmarkFirstChannels(b *testing.B) {
	var chs [4]chan int
	for i := range chs {
		chs[i] = make(chan int, 1)
	}
	b.Run("impl=chans", func(b *testing.B) {
		ops := make([]selectx.Op[int], len(chs))
		for i := range chs {
			ops[i] = selectx.Chan(chs[i])
		}
		b.ReportAllocs()
		before := created()
		for i := 0; b.Loop(); i++ {
			chs[i%4] <- i
			j, v, err := selectx.First(bg, ops...)
			if err != nil || j != i%4 || v != i {
				b.Fatalf("First = %d, %d, %v; want %d, %d", j, v, err, i%4, i)
			}
		}
		reportGoroutines(b, before)
	})
	b.Run("impl=reflect", func(b *testing.B) {
		cases := make([]reflect.SelectCase, len(chs))
		for i := range chs {
			cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(chs[i])}
		}
		b.ReportAllocs()
		before := created()
		for i := 0; b.Loop(); i++ {
			chs[i%4] <- i
			j, v, ok := reflect.Select(cases)
			if !ok || j != i%4 || v.Int() != int64(i) {
				b.Fatalf("Select = %d, %v, %v; want %d, %d", j, v, ok, i%4, i)
			}
		}
		reportGoroutines(b, before)
	})
}

// BenchmarkFirstLocks: selectx.First over Lock.Acquire of four Locks, three
// of them held; the free one moves round, so every position is exercised,
// and the winner is held again for the next round. The baseline is
// reflect.Select over send cases on four channel-mutexes, three full.
func BenchmarkFirstLocks(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var locks [4]chans.Lock
		held := make([]chans.Release, len(locks))
		ops := make([]selectx.Op[chans.Release], len(locks))
		for i := range locks {
			held[i], _ = locks[i].TryAcquire()
			ops[i] = locks[i].Acquire
		}
		b.ReportAllocs()
		before := created()
		for i := 0; b.Loop(); i++ {
			free := i % 4
			held[free]()
			j, r, err := selectx.First(bg, ops...)
			if err != nil || j != free {
				b.Fatalf("First = %d, %v; want %d", j, err, free)
			}
			held[free] = r
		}
		reportGoroutines(b, before)
		for _, r := range held {
			r()
		}
	})
	b.Run("impl=reflect", func(b *testing.B) {
		var locks [4]chanMutex
		cases := make([]reflect.SelectCase, len(locks))
		for i := range locks {
			locks[i] = newChanMutex()
			locks[i].lock()
			cases[i] = reflect.SelectCase{Dir: reflect.SelectSend, Chan: reflect.ValueOf(locks[i]), Send: reflect.ValueOf(struct{}{})}
		}
		b.ReportAllocs()
		before := created()
		for i := 0; b.Loop(); i++ {
			free := i % 4
			locks[free].unlock()
			if j, _, _ := reflect.Select(cases); j != free {
				b.Fatalf("Select = %d; want %d", j, free)
			}
		}
		reportGoroutines(b, before)
	})
}

// BenchmarkSelectLoop: one iteration of an actor's loop, a selectx.Select
// over four cases of four kinds (a Mailbox message, a Queue item, a Lock, a
// Semaphore permit used as a token), exactly one of them ready, a different
// one each time; the winner's func runs. The baseline impl=chan is a native
// select over four channels, one of them with a value.
func BenchmarkSelectLoop(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var (
			inbox  chans.Mailbox[int]
			jobs   = chans.NewQueue[int](queueCap)
			lock   chans.Lock
			tokens chans.Semaphore // no permits: the loop consumes each token added
			won    int
		)
		hold, _ := lock.TryAcquire()
		cases := []selectx.Case{
			selectx.On(selectx.Bind(inbox.Receive, nil), func(int) { won = 0 }),
			selectx.On(jobs.Get, func(int) { won = 1 }),
			selectx.On(lock.Acquire, func(r chans.Release) { hold, won = r, 2 }),
			selectx.On(tokens.Acquire, func(chans.Release) { won = 3 }), // the token is used up, not given back
		}
		ready := []func(i int){
			func(i int) { inbox.Send(i) },
			func(i int) {
				if err := jobs.TryPut(i); err != nil {
					b.Fatal(err)
				}
			},
			func(int) { hold() },
			func(int) { tokens.Release() },
		}
		b.ReportAllocs()
		before := created()
		for i := 0; b.Loop(); i++ {
			ready[i%4](i)
			j, err := selectx.Select(bg, cases...)
			if err != nil || j != i%4 || won != j {
				b.Fatalf("Select = %d, %v (won %d); want %d", j, err, won, i%4)
			}
		}
		reportGoroutines(b, before)
		hold()
	})
	b.Run("impl=chan", func(b *testing.B) {
		var chs [4]chan int
		for i := range chs {
			chs[i] = make(chan int, 1)
		}
		b.ReportAllocs()
		before := created()
		for i := 0; b.Loop(); i++ {
			chs[i%4] <- i
			var j int
			select {
			case <-chs[0]:
				j = 0
			case <-chs[1]:
				j = 1
			case <-chs[2]:
				j = 2
			case <-chs[3]:
				j = 3
			}
			if j != i%4 {
				b.Fatalf("select = %d; want %d", j, i%4)
			}
		}
		reportGoroutines(b, before)
	})
}
