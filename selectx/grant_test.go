package selectx

import (
	"context"
	"slices"
	"sync"
)

// pool is a test-only stand-in for a chans primitive: a counting semaphore
// whose acquire follows the waiting contract. Its channel has capacity 1,
// yields one release func, then is closed; waiters are served in FIFO order;
// when the acquirer's ctx ends, a queued waiter is dropped and a grant still
// sitting unreceived in the channel buffer is taken back and passed on. It
// lets First, All, Completed and Select be tested for lost or doubled grants
// without package chans.
type pool struct {
	mu      sync.Mutex
	free    int
	waiters []chan func()
	calls   int // acquire calls, to see whether an op was started
}

func newPool(free int) *pool { return &pool{free: free} }

func (p *pool) acquire(ctx context.Context) <-chan func() {
	c := make(chan func(), 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if ctx.Err() != nil {
		close(c)
		return c
	}
	if p.free > 0 && len(p.waiters) == 0 {
		p.free--
		p.grant(c)
	} else {
		p.waiters = append(p.waiters, c)
	}
	context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if i := slices.Index(p.waiters, c); i >= 0 {
			p.waiters = slices.Delete(p.waiters, i, i+1)
			close(c)
			return
		}
		// Granted: take it back unless the acquirer received it.
		select {
		case _, ok := <-c:
			if ok {
				p.put()
			}
		default:
		}
	})
	return c
}

// grant hands a permit to c; p.mu is held.
func (p *pool) grant(c chan func()) {
	var once sync.Once
	c <- func() {
		released := false
		once.Do(func() {
			released = true
			p.mu.Lock()
			defer p.mu.Unlock()
			p.put()
		})
		if !released {
			panic("pool: released twice")
		}
	}
	close(c)
}

// put returns a permit: to the oldest waiter, else to the pool; p.mu is held.
func (p *pool) put() {
	if len(p.waiters) > 0 {
		c := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.grant(c)
		return
	}
	p.free++
}

// state reports free permits, queued waiters and acquire calls.
func (p *pool) state() (free, waiting, calls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.free, len(p.waiters), p.calls
}

// release adds a permit, as if a holder outside the test released it.
func (p *pool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.put()
}

// closedOp is an op that never takes effect, like a Get on a shut-down queue.
func closedOp[T any](context.Context) <-chan T {
	c := make(chan T)
	close(c)
	return c
}

// valueOp is an op that has v ready at once and cannot be undone.
func valueOp[T any](v T) Op[T] {
	return func(context.Context) <-chan T {
		c := make(chan T, 1)
		c <- v
		close(c)
		return c
	}
}
