// Package grants holds grants released, or not, on every path.
package grants

import (
	"context"
	"errors"
	"log"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/testengine/lock"
	"github.com/turnstile-go/turnstile/selectx"
)

var (
	l   chans.Lock
	rw  chans.RWLock
	sem = chans.NewSemaphore(3)
	dl  lock.Lock

	errBad = errors.New("bad")
)

func work() error { return nil }

// The third case: a Release received and not called on an early
// return.
func earlyReturn(ctx context.Context, bad bool) error {
	release, ok := <-l.Acquire(ctx) // want `the Release release from l.Acquire is not released on every path: the return at line \d+ is reached`
	if !ok {
		return ctx.Err()
	}
	if bad {
		return errBad
	}
	defer release()
	return work()
}

func tryEarly(bad bool) {
	r, ok := sem.TryAcquireN(2) // want `the Release r from sem.TryAcquireN is not released on every path`
	if !ok {
		return
	}
	if bad {
		return
	}
	r()
}

func inCase(ctx context.Context, stop <-chan struct{}, bad bool) {
	select {
	case r := <-rw.AcquireWrite(ctx): // want `the Release r from rw.AcquireWrite is not released on every path`
		if bad {
			return
		}
		r()
	case <-stop:
	}
}

func loop(ctx context.Context, skip func() bool) {
	for {
		r, ok := <-l.Acquire(ctx) // want `the Release r from l.Acquire is not released on every path: the loop comes back to line \d+`
		if !ok {
			return
		}
		if skip() {
			continue
		}
		r()
	}
}

// Token and Lost do not give a Grant back.
func token(ctx context.Context, use func(int64)) error {
	g, err := dl.AcquireWait(ctx) // want `the Grant g from dl.AcquireWait is not released on every path`
	if err != nil {
		return err
	}
	use(g.Token())
	<-g.Lost()
	return nil
}

func first(ctx context.Context, bad bool) error {
	_, r, err := selectx.First(ctx, l.Acquire, rw.AcquireRead) // want `the Release r from selectx.First is not released on every path`
	if err != nil {
		return err
	}
	if bad {
		return errBad
	}
	r()
	return nil
}

// --- good ---

func deferred(ctx context.Context) error {
	r, ok := <-l.Acquire(ctx)
	if !ok {
		return ctx.Err()
	}
	defer r()
	return work()
}

func tryIf() {
	if r, ok := l.TryAcquire(); ok {
		defer r()
		_ = work()
	}
}

func switchGuard(ctx context.Context) error {
	r, err := dl.AcquireWait(ctx)
	switch {
	case errors.Is(err, context.Canceled):
		return nil
	case err != nil:
		return err
	}
	defer r.Release()
	return work()
}

func nilGuard(ctx context.Context) {
	r := <-l.Acquire(ctx)
	if r == nil {
		return
	}
	r()
}

func andGuard(ctx context.Context, want bool) {
	r, ok := <-l.Acquire(ctx)
	if !ok || !want {
		if ok {
			r()
		}
		return
	}
	r()
}

// Returned, stored, passed, captured: someone else releases it.
func returned(ctx context.Context) (chans.Release, error) {
	r, err := dl.AcquireWait(ctx)
	if err != nil {
		return nil, err
	}
	return func() { r.Release() }, nil
}

type holder struct{ r chans.Release }

func stored(h *holder) {
	r, ok := l.TryAcquire()
	if !ok {
		return
	}
	h.r = r
}

func passed(ctx context.Context, keep func(*dist.Grant)) {
	g, ok := <-dl.Acquire(ctx)
	if ok {
		keep(g)
	}
}

func captured(ctx context.Context) {
	r, ok := <-sem.Acquire(ctx)
	if !ok {
		return
	}
	go func() {
		defer r()
		_ = work()
	}()
}

func namedResult(ctx context.Context) (r chans.Release, ok bool) {
	r, ok = <-l.Acquire(ctx)
	return
}

// A path that cannot return holds nothing anyone waits for.
func fatal(ctx context.Context) {
	r, ok := <-l.Acquire(ctx)
	if !ok {
		log.Fatal("no lock")
	}
	if err := work(); err != nil {
		log.Fatal(err)
	}
	r()
}

func loopReleased(ctx context.Context, n int) {
	for range n {
		r, ok := <-l.Acquire(ctx)
		if !ok {
			continue
		}
		r()
	}
}
