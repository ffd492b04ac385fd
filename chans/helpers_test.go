package chans

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The helpers every test file of package chans shares: receives that do not
// block, panics as text, the test contexts (countingCtx counts
// registrations, hookCtx splits a ctx's end from its AfterFunc), a wait in
// progress whatever its element type (pending), and the queue flavours.
// Whatever reads a primitive's unexported state lives in internals_test.go
// instead.

// recvNow receives from ch if that does not block: ready says whether it
// did, ok whether a value came (false for a closed, empty channel).
func recvNow[T any](ch <-chan T) (v T, ok, ready bool) {
	select {
	case v, ok = <-ch:
		return v, ok, true
	default:
		return v, false, false
	}
}

// panicText runs f and returns the message it panicked with, or "" if it
// returned normally.
func panicText(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// isChansPanic asserts that f panics with a "chans: " message.
func isChansPanic(t *testing.T, f func()) {
	t.Helper()
	msg := panicText(f)
	if !strings.HasPrefix(msg, "chans: ") {
		t.Fatalf("want a panic starting with %q, got %q", "chans: ", msg)
	}
}

// countingCtx is a cancellable context that counts the context.AfterFunc
// registrations made on it. context.AfterFunc calls a context's own
// AfterFunc method when it has one, and the stop function it returns calls
// ours, so live() is exactly the number of registrations neither stopped nor
// fired: what a long-lived ctx accumulates.
type countingCtx struct {
	done chan struct{}

	mu    sync.Mutex
	err   error
	next  int
	fns   map[int]func()
	total int
}

func newCountingCtx() *countingCtx {
	return &countingCtx{done: make(chan struct{}), fns: map[int]func(){}}
}

func (c *countingCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *countingCtx) Done() <-chan struct{} { return c.done }

func (c *countingCtx) Value(any) any { return nil }

func (c *countingCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *countingCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	id := c.next
	c.next++
	c.fns[id] = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.fns[id]
		delete(c.fns, id)
		return ok
	}
}

func (c *countingCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = context.Canceled
	close(c.done)
	for id, f := range c.fns {
		delete(c.fns, id)
		go f()
	}
}

// live is the number of registrations neither stopped nor fired.
func (c *countingCtx) live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fns)
}

// registered is the number of registrations ever made.
func (c *countingCtx) registered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// isClosed reports whether ch is closed (Event and latch channels carry no
// values, so a ready receive means closed).
func isClosed(ch <-chan struct{}) bool {
	_, _, ready := recvNow(ch)
	return ready
}

// hookCtx is a context whose end the test drives: end() closes Done and sets
// Err, as cancel does; fire() runs the callbacks registered through
// context.AfterFunc (each starts the goroutine that runs the primitive's
// abandon). onRegister, if set, runs inside the registration, that is with
// the primitive's mutex held.
type hookCtx struct {
	mu         sync.Mutex
	done       chan struct{}
	err        error
	funcs      map[int]func()
	next       int
	registered int // AfterFunc registrations ever made
	onRegister func(*hookCtx)
}

func newHookCtx() *hookCtx {
	return &hookCtx{done: make(chan struct{}), funcs: map[int]func(){}}
}

func (c *hookCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *hookCtx) Done() <-chan struct{} { return c.done }

func (c *hookCtx) Value(any) any { return nil }

func (c *hookCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc is what context.AfterFunc calls to register f.
func (c *hookCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	id := c.next
	c.next++
	c.funcs[id] = f
	c.registered++
	hook := c.onRegister
	c.mu.Unlock()
	if hook != nil {
		hook(c)
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.funcs[id]
		delete(c.funcs, id)
		return ok
	}
}

// end ends the ctx without running the AfterFunc callbacks.
func (c *hookCtx) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = context.Canceled
		close(c.done)
	}
}

// fire runs the callbacks registered and not stopped, as cancel would have.
func (c *hookCtx) fire() {
	c.mu.Lock()
	fs := c.funcs
	c.funcs = map[int]func(){}
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// pending is a wait in progress, whatever its channel's element type.
type pending interface {
	buffered() bool                // a grant sits in the channel
	recv() (any, bool)             // receive (blocks until the outcome is known)
	closedEmpty() bool             // closed without a value, right now
	poll() (v any, ok, ready bool) // receive if that does not block (recvNow)
}

type pend[T any] struct{ ch <-chan T }

func (p pend[T]) buffered() bool { return len(p.ch) == 1 }

func (p pend[T]) recv() (any, bool) {
	v, ok := <-p.ch
	return v, ok
}

func (p pend[T]) poll() (any, bool, bool) {
	v, ok, ready := recvNow(p.ch)
	return v, ok, ready
}

func (p pend[T]) closedEmpty() bool {
	select {
	case v, ok := <-p.ch:
		if ok {
			panic(fmt.Sprintf("closedEmpty: got a value %v", v))
		}
		return true
	default:
		return false
	}
}

// lessInt orders the ints of a priority queue.
func lessInt(a, b int) bool { return a < b }

// queueKinds is every queue flavour, for the cases toro and tornado run on
// each of them, indexed by fifoKind, lifoKind and prioKind.
var queueKinds = []struct {
	name string
	new  func(maxsize int) *Queue[int]
}{
	{"fifo", NewQueue[int]},
	{"lifo", NewLifoQueue[int]},
	{"prio", func(m int) *Queue[int] { return NewPriorityQueue(m, lessInt) }},
}

// The indexes of queueKinds.
const (
	fifoKind = iota
	lifoKind
	prioKind
)

// bg is context.Background, for the many calls that wait for good.
func bg() context.Context { return context.Background() }

// endedCtx returns a ctx that has already ended (W4).
func endedCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
