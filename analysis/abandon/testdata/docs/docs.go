// Package docs holds the examples of analysis/README.md, verbatim, with
// what the analyzer says about them (TestREADME checks that they still match
// the README).
package docs

import (
	"context"
	"errors"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

var (
	l     chans.Lock
	lock  chans.RWLock
	inbox chans.Mailbox[string]

	errTimeout = errors.New("timeout")
	errStopped = errors.New("stopped")
	errBad     = errors.New("bad")
)

func accept(string) bool { return true }
func handle(string)      {}
func flush()             {}
func work()              {}

func bad1(d time.Duration) error {
	// reported: l.Acquire is abandoned when the case at line … wins, and its ctx never ends (context.Background())
	select {
	case r := <-l.Acquire(context.Background()): // want `l.Acquire is abandoned when the case at line \d+ wins, and its ctx never ends`
		defer r()
	case <-time.After(d):
		return errTimeout
	}
	return nil
}

func good1(d time.Duration) error {
	// fine: the deadline is the ctx, and cancel runs on every path
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r, ok := <-l.Acquire(ctx)
	if !ok {
		return ctx.Err()
	}
	defer r()
	return nil
}

func bad2(d time.Duration, stop <-chan struct{}) error {
	// reported: l.Acquire is abandoned when the case at line … wins, and cancel is not called on the way to the return at line …
	ctx, cancel := context.WithTimeout(context.Background(), d)
	select {
	case r := <-l.Acquire(ctx): // want `l.Acquire is abandoned when the case at line \d+ wins, and cancel is not called on the way to the return`
		defer cancel()
		defer r()
	case <-stop:
		return errStopped
	}
	return nil
}

func good2(d time.Duration, stop <-chan struct{}) error {
	// fine: deferred before the select, it covers every case
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	select {
	case r := <-l.Acquire(ctx):
		defer r()
	case <-stop:
		return errStopped
	}
	return nil
}

func bad3(ctx context.Context, tick *time.Ticker) {
	// reported: inbox.Receive is made again after the case at line … wins, while the abandoned wait is still queued on the same ctx
	for {
		select {
		case m := <-inbox.Receive(ctx, accept): // want `inbox.Receive is made again after the case at line \d+ wins`
			handle(m)
		case <-tick.C:
			flush()
		}
	}
}

func good3(parent context.Context, tick *time.Ticker) {
	// fine: a ctx for each wait, cancelled whichever case wins
	for {
		ctx, cancel := context.WithCancel(parent)
		select {
		case m := <-inbox.Receive(ctx, accept):
			cancel()
			handle(m)
		case <-tick.C:
			cancel()
			flush()
		}
	}
}

func bad4(ctx context.Context) {
	// reported: the channel l.Acquire returns is dropped
	l.Acquire(ctx) // want `the channel l.Acquire returns is dropped`
}

func good4(ctx context.Context) {
	// fine: the blocking twin, or receive the channel
	r, ok := <-l.Acquire(ctx)
	_, _ = r, ok
}

func bad5(ctx context.Context, bad bool) error {
	// reported: the Release release from l.Acquire is not released on every path: the return at line … is reached
	release, ok := <-l.Acquire(ctx) // want `the Release release from l.Acquire is not released on every path: the return at line \d+ is reached`
	if !ok {
		return ctx.Err()
	}
	if bad {
		return errBad
	}
	defer release()
	return nil
}

func good5(ctx context.Context, bad bool) error {
	// fine: deferred as soon as it is held
	release, ok := <-l.Acquire(ctx)
	if !ok {
		return ctx.Err()
	}
	defer release()
	if bad {
		return errBad
	}
	return nil
}

func bad6() {
	// reported: the Release from l.TryAcquire is dropped, so it is never released
	if _, ok := l.TryAcquire(); ok { // want `the Release from l.TryAcquire is dropped`
		work()
	}
}

func good6() {
	// fine
	if r, ok := l.TryAcquire(); ok {
		defer r()
		work()
	}
}

func directive() {
	//abandon:ok refused: two readers is the limit
	_, ok := lock.TryAcquireRead()
	_ = ok
}
