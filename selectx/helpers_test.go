package selectx

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// The helpers shared by the tests of package selectx. (The fuzz targets,
// in package selectx_test, share fuzz_test.go.)

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

// after is an op that delivers v once d has passed; it cannot be undone.
func after[T any](d time.Duration, v T) Op[T] {
	return func(context.Context) <-chan T {
		c := make(chan T, 1)
		time.AfterFunc(d, func() {
			c <- v
			close(c)
		})
		return c
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if got := recover(); got != want {
			t.Errorf("panic %v, want %q", got, want)
		}
	}()
	f()
}

// recvWithin receives from c, failing the test after 10 seconds: a safety
// net for waits on the operating system, where fake time cannot help.
func recvWithin[T any](t *testing.T, c <-chan T) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-c:
		return v, ok
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received within 10s")
		panic("unreachable")
	}
}

// within runs f in a goroutine and fails the test if it has not returned
// after 10 seconds: a bound for calls that would block forever on a lock
// left held, where a synctest bubble would hang instead of failing.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: blocked for 10s (a lock left held?)", what)
	}
}

// noLeak fails t if a goroutine started during t outlives it. Call it
// first, so that its check runs after the other cleanups.
func noLeak(t *testing.T) {
	t.Helper()
	before := leakcheck.Snapshot()
	t.Cleanup(func() {
		if leaked := leakcheck.Find(before, 5*time.Second); len(leaked) > 0 {
			t.Errorf("%d goroutine(s) outlived the test:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	})
}

// pipe returns the ends of an os.Pipe, closed when the test ends.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}
