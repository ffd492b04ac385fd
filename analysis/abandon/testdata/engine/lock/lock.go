// Package lock is an engine for the analyzer's tests: a Lock with the
// methods of a dist engine's (a wait yielding *dist.Grant, its blocking
// twin, TryAcquire), kept in one process on a chans.Lock. Its import path
// is under the turnstile module's, as dist/etcd's and dist/pg's are, so the
// analyzer treats it as it treats them. The tests only type-check it.
package lock

import (
	"context"
	"sync/atomic"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/dist"
)

// Lock is a mutual-exclusion lock whose grants carry fencing tokens.
type Lock struct {
	l     chans.Lock
	token atomic.Int64
}

// Acquire waits for the lock. The channel has a buffer of one and yields
// the Grant, or is closed empty if ctx ends first.
func (l *Lock) Acquire(ctx context.Context) <-chan *dist.Grant {
	out := make(chan *dist.Grant, 1)
	go func() {
		defer close(out)
		if g, err := l.AcquireWait(ctx); err == nil {
			out <- g
		}
	}()
	return out
}

// AcquireWait waits for the lock and returns its Grant, or ctx.Err().
func (l *Lock) AcquireWait(ctx context.Context) (*dist.Grant, error) {
	r, ok := <-l.l.Acquire(ctx)
	if !ok {
		return nil, ctx.Err()
	}
	return l.grant(r), nil
}

// TryAcquire takes the lock if it is free.
func (l *Lock) TryAcquire() (*dist.Grant, bool) {
	r, ok := l.l.TryAcquire()
	if !ok {
		return nil, false
	}
	return l.grant(r), true
}

func (l *Lock) grant(r chans.Release) *dist.Grant {
	g, _ := dist.NewGrant(l.token.Add(1), r)
	return g
}
