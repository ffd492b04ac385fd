package main

import (
	"testing"

	"github.com/turnstile-go/turnstile/chans"
)

// BenchmarkEventWaitSet: a receive from Event.Wait on a set Event, against a
// receive from a channel closed long ago.
func BenchmarkEventWaitSet(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var e chans.Event
		e.Set()
		b.ReportAllocs()
		for b.Loop() {
			<-e.Wait()
		}
	})
	b.Run("impl=chan", closedReceive)
}

// BenchmarkResultDone: a receive from Result.Done on a set Result.
func BenchmarkResultDone(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var r chans.Result[int]
		if err := r.Set(1); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			<-r.Done()
		}
	})
	b.Run("impl=chan", closedReceive)
}

func closedReceive(b *testing.B) {
	c := make(chan struct{})
	close(c)
	b.ReportAllocs()
	for b.Loop() {
		<-c
	}
}
