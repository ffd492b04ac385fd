// Package drops holds waits whose channel, or grant, nobody takes.
package drops

import (
	"context"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/dist/testengine/lock"
)

var (
	l    chans.Lock
	sem  = chans.NewSemaphore(3)
	cond chans.Condition
	q    chans.Queue[int]
	res  chans.Result[int]
	dl   lock.Lock
)

func waits(ctx context.Context) {
	l.Acquire(ctx)           // want `the channel l.Acquire returns is dropped`
	_ = sem.AcquireN(ctx, 2) // want `the channel sem.AcquireN returns is dropped`
	go cond.Wait(ctx)        // want `the channel cond.Wait returns is dropped`
	ch := q.Get(ctx)         // want `the channel q.Get returns is never received from`
	_ = ch
	_ = len(ch)
}

func grants(ctx context.Context, d time.Duration) bool {
	<-l.Acquire(ctx)                 // want `the Release from l.Acquire is dropped, so it is never released`
	_, ok := <-sem.Acquire(ctx)      // want `the Release from sem.Acquire is dropped`
	_, ok = l.TryAcquire()           // want `the Release from l.TryAcquire is dropped`
	dl.TryAcquire()                  // want `the Grant from dl.TryAcquire is dropped`
	var _, err = dl.AcquireWait(ctx) // want `the Grant from dl.AcquireWait is dropped`
	select {
	case <-l.Acquire(ctx): // want `the Release from l.Acquire is dropped`
	case <-time.After(d):
	}
	return ok && err == nil
}

// --- good ---

// A Put's channel may be dropped: its doc says a caller that never
// receives loses nothing. A Result's Get takes nothing from anyone.
func allowed(ctx context.Context) {
	q.Put(ctx, 1)
	_ = res.Get(ctx)
}

// A channel passed on is someone else's to receive.
func passed(ctx context.Context, keep func(<-chan chans.Release)) <-chan chans.Release {
	keep(l.Acquire(ctx))
	ch := l.Acquire(ctx)
	keep(ch)
	return sem.Acquire(ctx)
}
