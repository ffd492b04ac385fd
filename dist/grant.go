package dist

import (
	"sync"
	"sync/atomic"
)

// A Grant is what an engine's acquire hands out across processes: the hold of
// a lock, a reader slot, or permits. Whoever receives it from the acquire's
// channel holds it until Release, or until the engine can no longer vouch for
// it, when Lost is closed.
//
// A Grant is safe for use by several goroutines. Engines make Grants with
// [NewGrant]; the zero Grant is not usable.
type Grant struct {
	token   int64
	release func()
	lost    chan struct{}
	lose    sync.Once
	done    atomic.Bool
}

// NewGrant is for engines. It returns a Grant with the given fencing token,
// whose Release calls release once, and the func that marks the grant lost
// (closes Lost); calling lose more than once, or after Release, is harmless.
// release must not block on the network: an engine decides locally and
// settles with the server afterwards (see the package doc).
func NewGrant(token int64, release func()) (g *Grant, lose func()) {
	if release == nil {
		panic("dist: NewGrant with a nil release")
	}
	g = &Grant{token: token, release: release, lost: make(chan struct{})}
	return g, g.markLost
}

// Token returns the grant's fencing token: an integer strictly greater than
// the token of every earlier grant of the same primitive, durable across
// server restarts. Pass it to the resource the grant protects and have the
// resource refuse tokens lower than one it has seen, so that a holder that
// lost its grant without knowing (a long pause, a partition) cannot write
// over a newer holder.
func (g *Grant) Token() int64 { return g.token }

// Lost returns a channel that is closed when the grant is no longer held for
// certain although its holder did not release it: the session's lease ran
// out, or could not be renewed in time, or the server withdrew the grant.
// It is closed before any other process can be granted what this grant held,
// as far as the engine's clock can tell (each engine states its margin). It
// is never closed by Release. The same channel is returned every time.
func (g *Grant) Lost() <-chan struct{} { return g.lost }

// Release gives the grant back. It returns at once: the engine withdraws the
// grant from the server afterwards, retrying until that lands or the session
// ends, and never withdraws anything of a newer holder. Releasing a lost
// grant is allowed and does nothing harmful. A second call panics, since in
// chans a second release would let two holders in and code that does it is
// wrong on every engine.
func (g *Grant) Release() {
	if g.done.Swap(true) {
		panic("dist: Release of a Grant called twice")
	}
	g.release()
}

// Released reports whether Release was called.
func (g *Grant) Released() bool { return g.done.Load() }

func (g *Grant) markLost() { g.lose.Do(func() { close(g.lost) }) }
