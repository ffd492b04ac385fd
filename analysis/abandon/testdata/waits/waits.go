// Package waits holds waits received in a select with other cases, good and
// bad.
package waits

import (
	"context"
	"errors"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/dist/testengine/lock"
	"github.com/turnstile-go/turnstile/selectx"
)

var (
	l     chans.Lock
	rw    chans.RWLock
	sem   = chans.NewSemaphore(3)
	cond  chans.Condition
	q     chans.Queue[int]
	inbox chans.Mailbox[string]
	res   chans.Result[int]
	sig   chans.Signal[int]
	ev    chans.Event
	dl    lock.Lock

	errTimeout = errors.New("timeout")
)

type key struct{}

func work() {}

// The first case: a timeout beside an Acquire on a ctx that never
// ends strands the lock for good.
func timeoutBackground(d time.Duration) error {
	select {
	case r := <-l.Acquire(context.Background()): // want `l.Acquire is abandoned when the case at line \d+ wins, and its ctx never ends \(context.Background\(\)\)`
		defer r()
		work()
		return nil
	case <-time.After(d):
		return errTimeout
	}
}

// A ctx derived from Background only by WithValue, through a variable, and
// a channel kept in a variable: still never ends.
func valueCtx(d time.Duration) (int, error) {
	ctx := context.WithValue(context.TODO(), key{}, 1)
	ch := q.Get(ctx) // want `q.Get is abandoned when the case at line \d+ wins, and its ctx never ends \(context.TODO\(\)\)`
	select {
	case v := <-ch:
		return v, nil
	case <-time.After(d):
		return 0, errTimeout
	}
}

// WithoutCancel cuts the caller's cancellation off.
func withoutCancel(ctx context.Context, stop <-chan struct{}) {
	select {
	case <-cond.Wait(context.WithoutCancel(ctx)): // want `cond.Wait is abandoned .* never ends \(context.WithoutCancel\)`
	case <-stop:
	}
}

// The second case: the cancel of a WithTimeout ctx is deferred on
// one branch only; when the other wins, the grant stays reserved until the
// deadline.
func cancelOnOneBranch(d time.Duration, stop <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	select {
	case r := <-l.Acquire(ctx): // want `l.Acquire is abandoned when the case at line \d+ wins, and cancel is not called on the way to the return at line \d+`
		defer cancel()
		defer r()
		work()
		return nil
	case <-stop:
		return errTimeout
	}
}

// A non-blocking try through default is a select with another case.
func pollDefault() bool {
	select {
	case r := <-sem.AcquireN(context.Background(), 2): // want `sem.AcquireN is abandoned when the case at line \d+ wins, and its ctx never ends`
		r()
		return true
	default:
		return false
	}
}

// Two waits in one select: whichever wins, the other is abandoned.
func either() {
	bg := context.Background()
	select {
	case r := <-rw.AcquireRead(bg): // want `rw.AcquireRead is abandoned`
		r()
	case r := <-l.Acquire(bg): // want `l.Acquire is abandoned`
		r()
	}
}

// A dist engine's wait is a wait like any other.
func distTimeout(d time.Duration) {
	select {
	case g := <-dl.Acquire(context.Background()): // want `dl.Acquire is abandoned .* never ends`
		g.Release()
	case <-time.After(d):
	}
}

// A Put given up on still puts its item later: the caller's "timeout" was
// not one.
func putTimeout(d time.Duration) error {
	select {
	case err := <-q.Put(context.Background(), 1): // want `q.Put is abandoned .* never ends`
		return err
	case <-time.After(d):
		return errTimeout
	}
}

// A loop that makes the wait again after the ticker wins leaves one
// abandoned Receive per tick queued on the caller's ctx, each taking a
// message for nobody.
func loopTicker(ctx context.Context, tick *time.Ticker) {
	for {
		select {
		case m := <-inbox.Receive(ctx, nil): // want `inbox.Receive is made again after the case at line \d+ wins, while the abandoned wait is still queued on the same ctx`
			_ = m
		case <-tick.C:
			work()
		case <-ctx.Done():
			return
		}
	}
}

// A deferred cancel runs at the return, not when the loop comes round.
func loopDeferred(parent context.Context, tick <-chan time.Time) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	for {
		select {
		case v := <-q.Get(ctx): // want `q.Get is made again after the case at line \d+ wins`
			_ = v
		case <-tick:
		}
	}
}

// --- good ---

// The caller's ctx: whoever cancels it gives the grant back.
func callerCtx(ctx context.Context, d time.Duration) error {
	select {
	case r := <-l.Acquire(ctx):
		defer r()
		return nil
	case <-time.After(d):
		return errTimeout
	}
}

// defer cancel() before the select covers every case.
func deferBefore(d time.Duration, stop <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	select {
	case r := <-l.Acquire(ctx):
		defer r()
		return nil
	case <-stop:
		return errTimeout
	}
}

// cancel called on the other branch.
func cancelOnOther(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	select {
	case r := <-l.Acquire(ctx):
		cancel()
		r()
	case <-stop:
		cancel()
	}
}

// cancel passed on counts, as in lostcancel.
func cancelPassed(stop <-chan struct{}, keep func(context.CancelFunc)) {
	ctx, cancel := context.WithCancel(context.Background())
	keep(cancel)
	select {
	case r := <-l.Acquire(ctx):
		r()
	case <-stop:
	}
}

// The other case is the wait's own ctx ending, or its parent's: the wait
// has ended with it.
func ownDone(ctx context.Context) error {
	vctx := context.WithValue(ctx, key{}, 1)
	for {
		select {
		case r := <-l.Acquire(vctx):
			r()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// A ctx for each wait, cancelled whichever case wins, in a loop.
func perIteration(parent context.Context, tick <-chan time.Time) {
	for {
		ctx, cancel := context.WithCancel(parent)
		select {
		case v := <-q.Get(ctx):
			cancel()
			_ = v
		case <-tick:
			cancel()
		}
	}
}

// The channel kept across iterations is still waited for after a tick.
func keepChannel(tick <-chan time.Time) int {
	ch := q.Get(context.Background())
	for {
		select {
		case v := <-ch:
			return v
		case <-tick:
			work()
		}
	}
}

// Received outside a select: the wait is never abandoned.
func plainReceive() {
	r := <-l.Acquire(context.Background())
	r()
}

// selectx cancels the losers itself.
func viaSelectx(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, r, err := selectx.First(ctx, l.Acquire, rw.AcquireWrite)
	if err != nil {
		return err
	}
	r()
	return nil
}

// Nothing exclusive: a Result's value and a Signal's go to everyone, and
// waits without a ctx cost nothing to abandon.
func shared(d time.Duration) {
	select {
	case <-res.Get(context.Background()):
	case <-sig.Next(context.Background()):
	case <-ev.Wait():
	case <-sem.Wait():
	case <-time.After(d):
	}
}

// A case that panics does not return.
func panics(stop <-chan struct{}) {
	select {
	case r := <-l.Acquire(context.Background()):
		r()
	case <-stop:
		panic("stopped")
	}
}

// A single case is a plain receive.
func single() {
	select {
	case r := <-l.Acquire(context.Background()):
		r()
	}
}
