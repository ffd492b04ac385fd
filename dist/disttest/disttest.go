// Package disttest is the conformance suite of turnstile's multi-process
// engines: tests that any engine's Lock, RWLock, Semaphore, Event and Queue
// must pass, checking the contract of package dist (D1–D6) as far as a test
// that knows nothing of the engine can. An engine's own tests run it with a
// factory that makes handles on one fresh primitive, each from its own
// session, as separate processes would have them:
//
//	func TestConformance(t *testing.T) {
//		disttest.Lock(t, func(t *testing.T, n int) []disttest.Locker {
//			name := uniqueName(t)
//			ls := make([]disttest.Locker, n)
//			for i := range ls {
//				ls[i] = etcd.NewLock(newSession(t), name)
//			}
//			return ls
//		})
//	}
//
// What a generic test cannot do is left to the engine's fault tests: a
// process killed or cut off while it holds (Lost, D4), a server restart.
//
// Every wait the suite expects to succeed is bounded (by Bound), so a broken
// engine fails the test instead of hanging it; a check that something does
// not happen watches for Quiet. Neither asserts how fast an engine is.
package disttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist"
)

// Bound is how long the suite waits for anything that must happen: a grant,
// a channel closing, a release landing. A variable, so that an engine whose
// tests run against a slow server may raise it.
var Bound = 10 * time.Second

// Quiet is how long the suite watches for something that must not happen
// (a waiter granted out of turn) before it believes it will not.
var Quiet = 150 * time.Millisecond

// Rounds is how many rounds the cancellation hammers run; at least 100, as
// the contract's tests promise.
var Rounds = 100

// bounded returns a ctx that ends after Bound, cancelled when the test ends.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Bound)
	t.Cleanup(cancel)
	return ctx
}

// granted receives a grant from ch within Bound and fails the test if none
// comes or ch closes empty.
func granted(t *testing.T, ch <-chan *dist.Grant, what string) *dist.Grant {
	t.Helper()
	select {
	case g, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed without a grant", what)
		}
		if g == nil {
			t.Fatalf("%s: a nil grant", what)
		}
		return g
	case <-time.After(Bound):
		t.Fatalf("%s: no grant within %v", what, Bound)
	}
	return nil
}

// recv receives from ch within Bound, failing the test if nothing comes: an
// engine under test that never closes a channel fails the suite rather than
// hanging it. Call it from the test's goroutine.
func recv[T any](t *testing.T, ch <-chan T, what string) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(Bound):
		t.Fatalf("%s: nothing within %v", what, Bound)
	}
	var zero T
	return zero, false
}

// closedEmpty checks that ch closes without a value within Bound.
func closedEmpty[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatalf("%s: got a value, want the channel closed empty", what)
		}
	case <-time.After(Bound):
		t.Fatalf("%s: channel not closed within %v", what, Bound)
	}
}

// pending checks that ch yields nothing for Quiet.
func pending[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatalf("%s: granted out of turn", what)
		}
		t.Fatalf("%s: channel closed, want it still waiting", what)
	case <-time.After(Quiet):
	}
}

// busy checks that a Try failed with dist.ErrBusy.
func busy(t *testing.T, g *dist.Grant, err error, what string) {
	t.Helper()
	if err == nil {
		g.Release()
		t.Fatalf("%s: Try took the grant, want dist.ErrBusy", what)
	}
	if !errors.Is(err, dist.ErrBusy) {
		t.Fatalf("%s: Try failed with %v, want dist.ErrBusy", what, err)
	}
}

// eventually retries try, every 10 ms, until it succeeds or Bound passes.
// It is for what no channel announces: a release landing on a server, seen
// from another process.
func eventually(t *testing.T, what string, try func() bool) {
	t.Helper()
	deadline := time.Now().Add(Bound)
	for !try() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, Bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tokens checks that grants come with strictly increasing tokens (D5).
type tokens struct {
	mu   sync.Mutex
	last int64
	seen bool
}

// next records g's token and reports an error if it is not above the last.
func (k *tokens) next(g *dist.Grant) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seen && g.Token() <= k.last {
		return fmt.Errorf("token %d after %d: tokens must increase", g.Token(), k.last)
	}
	k.last, k.seen = g.Token(), true
	return nil
}

// releaseTwicePanics checks that a second Release of g panics with a
// message that starts with "dist: ".
func releaseTwicePanics(t *testing.T, g *dist.Grant) {
	t.Helper()
	g.Release()
	defer func() {
		t.Helper()
		p := recover()
		msg, _ := p.(string)
		if len(msg) < 6 || msg[:6] != "dist: " {
			t.Fatalf("second Release: recovered %v, want a dist: panic", p)
		}
	}()
	g.Release()
}
