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
// not be copied after first use. No code of yours runs under its lock (not
// Discard, not a key's String method), and a misuse panic (an unhashable
// key, a nil ctx) comes before the Group is touched, so a recovered panic
// leaves it usable.
type Group[K comparable, T any] struct {
	// Discard, if not nil, receives every callback result that no Wait will
	// return: the result of a key cancelled (by Cancel, CancelAll or Close)
	// after its callback ran, and the value of a callback called after its
	// key was cancelled or called a second time. Set it when T is a grant
	// (a chans.Release, a queue item) so that it can be given back. It is
	// called without the Group's lock held, in the goroutine that dropped the
	// value, so a panic in it reaches that goroutine's caller: the caller of
	// Cancel, of CancelAll or Close (once every other value has been given to
	// Discard), or of the callback. Timeouts registered by After are never
	// discarded this way, so nothing of yours runs in a timer's goroutine,
	// where nobody could recover a panic. Set it before first use.
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
// cancelled, are ignored and their values go to Discard, in the goroutine
// that calls the func: a panic in Discard reaches that caller. (It does not
// panic on a second call: it may be handed to code you do not control, and a
// call racing a Cancel cannot be told from a late one anyway.) Callback
// returns ErrKeyReuse if key is still registered.
//
// Callback, After, Wait, WaitAny and Cancel panic, before they touch the
// Group, if a key cannot be a map key: possible only when K is an interface
// type (or holds one) and the key's dynamic type is a slice, a map or a func.
func (g *Group[K, T]) Callback(key K) (func(T), error) {
	checkKey("Callback", key)
	e := g.register(key, false, 0)
	if e == nil {
		return nil, keyReuse(key)
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
//
// The timer runs in a goroutine of the runtime's, and nothing of yours runs
// there: a timeout is never given to Discard.
func (g *Group[K, T]) After(key K, d time.Duration) error {
	checkKey("After", key)
	if g.register(key, true, d) == nil {
		return keyReuse(key)
	}
	return nil
}

// Wait waits for key to complete and returns its result; the key is then no
// longer registered. It returns ErrUnknownKey (wrapped, naming the key) if key
// is not registered, also when Cancel removes it during the wait or when
// another Wait took the result first. If ctx ends first, or is done at the
// call, Wait returns ctx.Err() and the key stays registered, its result kept
// for a later Wait. Wait panics if ctx is nil.
func (g *Group[K, T]) Wait(ctx context.Context, key K) (T, error) {
	_, v, err := g.waitAny("Wait", ctx, []K{key})
	return v, err
}

// WaitAny waits until one of keys completes and returns that key and its
// result; that key is then no longer registered, the others stay. If several
// have completed, the earliest in argument order is returned. Errors are as
// for Wait: ErrUnknownKey as soon as any of keys is not registered, or
// ctx.Err(). WaitAny panics if keys is empty or ctx is nil.
func (g *Group[K, T]) WaitAny(ctx context.Context, keys ...K) (K, T, error) {
	if len(keys) == 0 {
		panic("selectx: WaitAny needs at least one key")
	}
	return g.waitAny("WaitAny", ctx, keys)
}

func (g *Group[K, T]) waitAny(method string, ctx context.Context, keys []K) (K, T, error) {
	checkCtx("Group."+method, ctx)
	for _, k := range keys {
		checkKey(method, k)
	}
	var (
		zeroK K
		zero  T
	)
	for {
		if err := ctx.Err(); err != nil {
			return zeroK, zero, err
		}
		k, e, missing, changed := g.take(keys)
		switch {
		case missing:
			return zeroK, zero, unknown(k)
		case e != nil:
			return k, e.v, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}

// take removes and returns the first of keys that has completed. If none
// has, it returns a nil entry and a channel that is closed when that may
// have changed; missing is true, with the key, if one of keys is not
// registered.
func (g *Group[K, T]) take(keys []K) (k K, e *entry[T], missing bool, changed <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, key := range keys {
		ke := g.keys[key]
		if ke == nil {
			return key, nil, true, nil
		}
		if ke.done && e == nil {
			k, e = key, ke
		}
	}
	if e != nil {
		delete(g.keys, k)
		return k, e, false, nil
	}
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return k, nil, false, g.changed
}

// Cancel forgets key and stops its timer, if any: the way to decline to wait
// (yieldpoints' Cancel). A result the key already had goes to Discard, in
// the caller's goroutine (a panic in Discard reaches the caller, the key
// being cancelled all the same); so does a later call of its callback.
// Waits blocked on key return ErrUnknownKey. Cancel returns ErrUnknownKey if
// key is not registered.
func (g *Group[K, T]) Cancel(key K) error {
	checkKey("Cancel", key)
	e := g.remove(key)
	if e == nil {
		return unknown(key)
	}
	if e.done && e.timer == nil {
		g.discard(key, e.v)
	}
	return nil
}

// remove unregisters key and returns its entry, nil if it was not
// registered.
func (g *Group[K, T]) remove(key K) *entry[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.keys[key]
	if e != nil {
		delete(g.keys, key)
		e.stop()
		g.wake()
	}
	return e
}

// CancelAll cancels every registered key, as Cancel does (yieldpoints'
// CancelAll). If Discard panics, CancelAll still gives it every other
// result, then the panic goes on to the caller.
func (g *Group[K, T]) CancelAll() { g.cancelAll() }

// Close cancels every registered key, as CancelAll does, and returns an error
// naming them (in registration order) if there were any: each is a key that
// was neither waited for nor cancelled, most likely a forgotten timeout or a
// result nobody collected. Close returns nil if there were none. The Group
// stays usable. A panic in Discard is as for CancelAll.
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
	keys, es := g.removeAll()
	g.discardAll(keys, es)
	return keys
}

// removeAll empties the group and returns its keys and their entries, in
// registration order.
func (g *Group[K, T]) removeAll() ([]K, []*entry[T]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	keys := make([]K, 0, len(g.keys))
	for k, e := range g.keys {
		e.stop()
		keys = append(keys, k)
	}
	all := g.keys
	g.keys = nil
	g.wake()
	slices.SortFunc(keys, func(a, b K) int { return cmp.Compare(all[a].seq, all[b].seq) })
	es := make([]*entry[T], len(keys))
	for i, k := range keys {
		es[i] = all[k]
	}
	return keys, es
}

// discardAll gives the callback results among es to Discard, in order. If
// one Discard panics, the deferred call gives it the rest while the panic
// unwinds (recursively, should another panic), and the panic then goes on to
// the caller with its own stack: stopping at the first panic would lose the
// values after it, grants perhaps, and recovering it to panic again later
// would lose where it came from.
func (g *Group[K, T]) discardAll(keys []K, es []*entry[T]) {
	i := 0
	defer func() {
		if i < len(keys) {
			g.discardAll(keys[i+1:], es[i+1:])
		}
	}()
	for ; i < len(keys); i++ {
		if e := es[i]; e.done && e.timer == nil {
			g.discard(keys[i], e.v)
		}
	}
}

// register adds key, with a timer that completes it with the zero T after d
// if timed, and returns its entry; nil if key is still registered. Nothing
// of the caller's runs under g.mu: the error that names a reused key (which
// may call the key's String method) is made by the caller.
func (g *Group[K, T]) register(key K, timed bool, d time.Duration) *entry[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.keys[key]; ok {
		return nil
	}
	if g.keys == nil {
		g.keys = make(map[K]*entry[T])
	}
	g.seq++
	e := &entry[T]{seq: g.seq}
	g.keys[key] = e
	if timed {
		var zero T
		// The timer's func waits for g.mu until e.timer is set.
		e.timer = time.AfterFunc(d, func() { g.complete(key, e, zero) })
	}
	return e
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

// checkKey panics if key cannot be a map key, before the Group is touched.
// The map itself would panic too, but with g.mu held: every later call
// would block (net/http, for one, recovers handler panics and goes on). A
// lookup in a nil map hashes the key all the same, so it asks exactly what
// the Group's map would, at the cost of one hash.
func checkKey[K comparable](method string, key K) {
	defer func() {
		if recover() != nil {
			panic(fmt.Sprintf("selectx: Group.%s: key of unhashable type %T", method, key))
		}
	}()
	var m map[K]struct{}
	_ = m[key]
}

func keyReuse[K any](key K) error { return fmt.Errorf("%w: %v", ErrKeyReuse, key) }

func unknown[K any](key K) error { return fmt.Errorf("%w: %v", ErrUnknownKey, key) }
