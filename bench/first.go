package main

import (
	"context"
	"reflect"
	"testing"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// firstChannels: four channels, one of them (a different one each time) with
// a value ready; selectx.First over selectx.Chan ops.
func firstChannelsChans(b *testing.B) {
	var chs [4]chan int
	ops := make([]selectx.Op[int], len(chs))
	for i := range chs {
		chs[i] = make(chan int, 1)
		ops[i] = selectx.Chan(chs[i])
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		chs[i%4] <- i
		j, v, err := selectx.First(ctx, ops...)
		if err != nil || j != i%4 || v != i {
			b.Fatalf("First = %d, %d, %v; want %d, %d", j, v, err, i%4, i)
		}
	}
}

// firstChannelsReflect is the same over reflect.Select.
func firstChannelsReflect(b *testing.B) {
	var chs [4]chan int
	cases := make([]reflect.SelectCase, len(chs))
	for i := range chs {
		chs[i] = make(chan int, 1)
		cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(chs[i])}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		chs[i%4] <- i
		j, v, ok := reflect.Select(cases)
		if !ok || j != i%4 || v.Int() != int64(i) {
			b.Fatalf("Select = %d, %v, %v; want %d, %d", j, v, ok, i%4, i)
		}
	}
}

// firstLocks: four locks, three held; take whichever is free, then release
// it. The free one moves round, so every position is exercised.
func firstLocksChans(b *testing.B) {
	var locks [4]chans.Lock
	held := make([]chans.Release, len(locks))
	ops := make([]selectx.Op[chans.Release], len(locks))
	for i := range locks {
		held[i], _ = locks[i].TryAcquire()
		ops[i] = locks[i].Acquire
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		free := i % 4
		held[free]()
		j, r, err := selectx.First(ctx, ops...)
		if err != nil || j != free {
			b.Fatalf("First = %d, %v; want %d", j, err, free)
		}
		held[free] = r // hold it again for the next round
	}
	for _, r := range held {
		r()
	}
}

// firstLocksReflect is the same with channel-mutexes and reflect.Select over
// four send cases.
func firstLocksReflect(b *testing.B) {
	var locks [4]chanMutex
	cases := make([]reflect.SelectCase, len(locks))
	for i := range locks {
		locks[i] = newChanMutex()
		locks[i].lock()
		cases[i] = reflect.SelectCase{Dir: reflect.SelectSend, Chan: reflect.ValueOf(locks[i]), Send: reflect.ValueOf(struct{}{})}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		free := i % 4
		locks[free].unlock()
		j, _, _ := reflect.Select(cases)
		if j != free {
			b.Fatalf("Select = %d; want %d", j, free)
		}
	}
}
