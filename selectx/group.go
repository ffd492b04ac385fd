package selectx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Errors returned by Group.
var (
	// ErrKeyReuse: Callback or After was given a key that is still
	// registered.
	ErrKeyReuse = errors.New("selectx: key already registered")
	// ErrUnknownKey: the key is not registered: never, or no longer
	// (its result was taken by a Wait, or it was cancelled).
	ErrUnknownKey = errors.New("selectx: unknown key")
)

// Group collects results by key, as yieldpoints' and Tornado's keyed
// callbacks do: register a key with Callback (a func to hand to code that
// reports later) or After (a timeout), go on with other work, and collect
// with Wait or WaitAny when ready. A key stays registered until a Wait
// returns its result or it is cancelled; then it may be registered again.
//
// Every key should end one of those two ways; Close reports the ones that did
// not. The zero Group is ready to use; it is safe for concurrent use and must
// not be copied after first use.
type Group[K comparable, T any] struct {
	// Discard, if not nil, receives every callback result that no Wait will
	// return: the result of a key cancelled (by Cancel, CancelAll or Close)
	// after its callback ran, and the value of a callback called after its
	// key was cancelled or called a second time. Set it when T is a grant
	// (a chans.Release, a queue item) so that it can be given back. It is
	// called without the Group's lock held, in the goroutine that dropped the
	// value. Timeouts registered by After are never discarded this way.
	// Set it before first use.
	Discard func(key K, v T)

	mu   sync.Mutex
	keys map[K]*entry[T]
	seq  uint64 // registration counter: Close names keys in this order
	// changed is closed when a key completes or is cancelled, to wake
	// waiters so that they look again; nil while nobody waits.
	changed chan struct{}
}

type entry[T any] struct {
	seq   uint64
	v     T
	done  bool
	timer *time.Timer // nil for Callback keys
}

// Callback registers key and returns the func that completes it with its
// argument. The func is safe to call from any goroutine and never waits for a
// Wait.
// Only its first call counts; later calls, and calls after the key was
// cancelled, are ignored and their values go to Discard. (It does not panic
// on a second call: it may be handed to code you do not control, and a call
// racing a Cancel cannot be told from a late one anyway.) Callback returns
// ErrKeyReuse if key is still registered.
func (g *Group[K, T]) Callback(key K) (func(T), error) {
	g.mu.Lock()
	e, err := g.register(key)
	g.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return func(v T) {
		if !g.complete(key, e, v) {
			g.discard(key, v)
		}
	}, nil
}

// After registers key to complete with the zero T once d has passed (yieldpoints'
// WithTimeout). Register a timeout, start the work, then WaitAny for both.
// Cancel the key to stop the timer if you no longer need it. After returns
// ErrKeyReuse if key is still registered.
func (g *Group[K, T]) After(key K, d time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, err := g.register(key)
	if err != nil {
		return err
	}
	var zero T
	// The timer func waits for g.mu until e.timer is set.
	e.timer = time.AfterFunc(d, func() { g.complete(key, e, zero) })
	return nil
}

// Wait waits for key to complete and returns its result; the key is then no
// longer registered. It returns ErrUnknownKey (wrapped, naming the key) if key
// is not registered, also when Cancel removes it during the wait or when
// another Wait took the result first. If ctx ends first, or is done at the
// call, Wait returns ctx.Err() and the key stays registered, its result kept
// for a later Wait.
func (g *Group[K, T]) Wait(ctx context.Context, key K) (T, error) {
	_, v, err := g.WaitAny(ctx, key)
	return v, err
}

// WaitAny waits until one of keys completes and returns that key and its
// result; that key is then no longer registered, the others stay. If several
// have completed, the earliest in argument order is returned. Errors are as
// for Wait: ErrUnknownKey as soon as any of keys is not registered, or
// ctx.Err(). WaitAny panics if keys is empty.
func (g *Group[K, T]) WaitAny(ctx context.Context, keys ...K) (K, T, error) {
	if len(keys) == 0 {
		panic("selectx: WaitAny needs at least one key")
	}
	var (
		zeroK K
		zero  T
	)
	for {
		if err := ctx.Err(); err != nil {
			return zeroK, zero, err
		}
		g.mu.Lock()
		k, e, err := g.firstDone(keys)
		if err != nil || e != nil {
			if e != nil {
				delete(g.keys, k)
			}
			g.mu.Unlock()
			if err != nil {
				return zeroK, zero, err
			}
			return k, e.v, nil
		}
		if g.changed == nil {
			g.changed = make(chan struct{})
		}
		changed := g.changed
		g.mu.Unlock()

		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}

// Cancel forgets key and stops its timer, if any: the way to decline to wait
// (yieldpoints' Cancel). A result the key already had goes to Discard; so
// does a later call of its callback. Waits blocked on key return
// ErrUnknownKey. Cancel returns ErrUnknownKey if key is not registered.
func (g *Group[K, T]) Cancel(key K) error {
	g.mu.Lock()
	e := g.keys[key]
	if e == nil {
		g.mu.Unlock()
		return unknown(key)
	}
	delete(g.keys, key)
	e.stop()
	g.wake()
	g.mu.Unlock()
	if e.done && e.timer == nil {
		g.discard(key, e.v)
	}
	return nil
}

// CancelAll cancels every registered key, as Cancel does (yieldpoints'
// CancelAll).
func (g *Group[K, T]) CancelAll() { g.cancelAll() }

// Close cancels every registered key, as CancelAll does, and returns an error
// naming them (in registration order) if there were any: each is a key that
// was neither waited for nor cancelled, most likely a forgotten timeout or a
// result nobody collected. Close returns nil if there were none. The Group
// stays usable.
func (g *Group[K, T]) Close() error {
	leaked := g.cancelAll()
	if len(leaked) == 0 {
		return nil
	}
	return fmt.Errorf("selectx: keys neither waited for nor cancelled: %v", leaked)
}

// cancelAll empties the group and returns the keys it held, in registration
// order.
func (g *Group[K, T]) cancelAll() []K {
	g.mu.Lock()
	keys := make([]K, 0, len(g.keys))
	for k, e := range g.keys {
		e.stop()
		keys = append(keys, k)
	}
	all := g.keys
	g.keys = nil
	g.wake()
	g.mu.Unlock()

	slices.SortFunc(keys, func(a, b K) int { return cmp.Compare(all[a].seq, all[b].seq) })
	for _, k := range keys {
		if e := all[k]; e.done && e.timer == nil {
			g.discard(k, e.v)
		}
	}
	return keys
}

// register adds key; g.mu is held.
func (g *Group[K, T]) register(key K) (*entry[T], error) {
	if _, ok := g.keys[key]; ok {
		return nil, fmt.Errorf("%w: %v", ErrKeyReuse, key)
	}
	if g.keys == nil {
		g.keys = make(map[K]*entry[T])
	}
	g.seq++
	e := &entry[T]{seq: g.seq}
	g.keys[key] = e
	return e, nil
}

// complete records v as e's result and reports whether it did: not if e
// already has one or is no longer registered under key.
func (g *Group[K, T]) complete(key K, e *entry[T], v T) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.done || g.keys[key] != e {
		return false
	}
	e.v, e.done = v, true
	g.wake()
	return true
}

// firstDone returns the first of keys that has completed, or a nil entry if
// none has; an error if any is not registered. g.mu is held.
func (g *Group[K, T]) firstDone(keys []K) (K, *entry[T], error) {
	var first K
	var found *entry[T]
	for _, k := range keys {
		e := g.keys[k]
		if e == nil {
			return k, nil, unknown(k)
		}
		if e.done && found == nil {
			first, found = k, e
		}
	}
	return first, found, nil
}

// wake wakes every waiter; g.mu is held.
func (g *Group[K, T]) wake() {
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}

func (g *Group[K, T]) discard(key K, v T) {
	if g.Discard != nil {
		g.Discard(key, v)
	}
}

func (e *entry[T]) stop() {
	if e.timer != nil {
		e.timer.Stop()
	}
}

func unknown[K any](key K) error { return fmt.Errorf("%w: %v", ErrUnknownKey, key) }
