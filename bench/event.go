package main

import (
	"testing"

	"github.com/turnstile-go/turnstile/chans"
)

func eventWaitSetChans(b *testing.B) {
	var e chans.Event
	e.Set()
	b.ReportAllocs()
	for b.Loop() {
		<-e.Wait()
	}
}

// eventWaitSetChan is the baseline for both Event.Wait and Result.Done: a
// receive from a channel that was closed long ago.
func eventWaitSetChan(b *testing.B) {
	c := make(chan struct{})
	close(c)
	b.ReportAllocs()
	for b.Loop() {
		<-c
	}
}

func resultDoneChans(b *testing.B) {
	var r chans.Result[int]
	if err := r.Set(1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		<-r.Done()
	}
}
