package disttest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/disttest"
	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// The suite is tested against mem, a plain in-process engine: one FIFO of
// weighted claims per primitive, shared by all its "sessions" (handles),
// following the contract the way a network engine does (a buffered grant
// taken back when the waiter's ctx ends, a Try that never passes a waiter).
// It passes the suite; the same engine with one bug planted (bugEnv) must
// fail it, which TestPlantedBugsAreCaught checks in child processes.

func TestMain(m *testing.M) { leakcheck.Main(m) }

// bugEnv names the bug a child process plants in mem.
const bugEnv = "DISTTEST_PLANTED_BUG"

// bug is the planted bug of this process, or "".
var bug = os.Getenv(bugEnv)

func init() {
	if bug != "" {
		disttest.Bound = time.Second // a planted leak fails fast
	}
}

// A claim is what a waiter asks for, as in the etcd engine: alone, or n of
// a limit.
type claim struct {
	excl     bool
	n, limit int
}

// admits walks claims in order and reports whether the last one fits beside
// those before it.
type tally struct {
	n, sum, limit int
	full          bool
}

func (t *tally) admit(c claim) bool {
	if t.full {
		return false
	}
	if c.excl {
		t.full = true
		t.n++
		return t.n == 1
	}
	lim := t.limit
	if c.limit > 0 && (lim == 0 || c.limit < lim) {
		lim = c.limit
	}
	if lim > 0 && t.sum+c.n > lim {
		t.full = true
		return false
	}
	t.n, t.sum, t.limit = t.n+1, t.sum+c.n, lim
	return true
}

// A memPrim is one primitive: the line of its waiters and holders.
type memPrim struct {
	mu    sync.Mutex
	token int64
	line  []*memWaiter
	set   bool
	evs   []chan struct{}
}

type memWaiter struct {
	c       claim
	ch      chan *dist.Grant
	granted bool
}

func (p *memPrim) acquire(ctx context.Context, c claim, try bool) (<-chan *dist.Grant, *dist.Grant, error) {
	ch := make(chan *dist.Grant, 1)
	if err := ctx.Err(); err != nil {
		close(ch)
		return ch, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w := &memWaiter{c: c, ch: ch}
	p.line = append(p.line, w)
	if try {
		if !p.admitted(w) && bug != "barge" {
			p.remove(w)
			return nil, nil, fmt.Errorf("mem: %w", dist.ErrBusy)
		}
		w.granted = true
		return nil, p.grant(w), nil
	}
	p.dispatch()
	context.AfterFunc(ctx, func() { p.abandon(w) })
	return ch, nil, nil
}

// admitted reports whether w is admitted by the walk of the line.
func (p *memPrim) admitted(w *memWaiter) bool {
	var t tally
	for _, v := range p.line {
		ok := t.admit(v.c)
		if v == w {
			return ok
		}
	}
	return false
}

func (p *memPrim) grant(w *memWaiter) *dist.Grant {
	p.token++
	if bug == "tokens" && p.token%3 == 0 {
		p.token -= 2
	}
	g, _ := dist.NewGrant(p.token, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.remove(w)
		p.dispatch()
	})
	return g
}

func (p *memPrim) dispatch() {
	var t tally
	line := p.line
	if bug == "lifo" {
		line = slices.Clone(line)
		slices.Reverse(line)
	}
	for _, w := range line {
		if !t.admit(w.c) {
			return
		}
		if !w.granted {
			w.granted = true
			w.ch <- p.grant(w)
			close(w.ch)
		}
	}
}

func (p *memPrim) abandon(w *memWaiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.line, w) {
		return
	}
	if !w.granted {
		p.remove(w)
		close(w.ch)
		p.dispatch()
		return
	}
	if bug == "leak" {
		return // the tempting wrong version: a granted waiter is the caller's
	}
	if _, ok := <-w.ch; ok {
		p.remove(w)
		p.dispatch()
	}
}

func (p *memPrim) remove(w *memWaiter) {
	if i := slices.Index(p.line, w); i >= 0 {
		p.line = slices.Delete(p.line, i, i+1)
	}
}

func (p *memPrim) snapshot(c claim) (tally, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t tally
	for _, w := range p.line {
		t.admit(w.c)
	}
	held := t
	return held, t.admit(c)
}

// memLock, memSem, memRW and memEvent are the handles.
type memLock struct{ p *memPrim }

func (l memLock) Acquire(ctx context.Context) <-chan *dist.Grant {
	ch, _, _ := l.p.acquire(ctx, claim{excl: true}, false)
	return ch
}

func (l memLock) TryAcquire(ctx context.Context) (*dist.Grant, error) {
	_, g, err := l.p.acquire(ctx, claim{excl: true}, true)
	return g, err
}

func (l memLock) Locked(context.Context) (bool, error) {
	_, free := l.p.snapshot(claim{excl: true})
	return !free, nil
}

type memSem struct {
	p     *memPrim
	limit int
}

func (s memSem) AcquireN(ctx context.Context, n int) <-chan *dist.Grant {
	if n > s.limit {
		ch := make(chan *dist.Grant)
		close(ch)
		return ch
	}
	ch, _, _ := s.p.acquire(ctx, claim{n: n, limit: s.limit}, false)
	return ch
}

func (s memSem) TryAcquireN(ctx context.Context, n int) (*dist.Grant, error) {
	if n > s.limit {
		return nil, dist.ErrAboveLimit
	}
	_, g, err := s.p.acquire(ctx, claim{n: n, limit: s.limit}, true)
	return g, err
}

func (s memSem) Value(context.Context) (int, error) {
	t, _ := s.p.snapshot(claim{n: 1, limit: s.limit})
	return s.limit - t.sum, nil
}

type memRW struct {
	p   *memPrim
	max int
}

func (rw memRW) AcquireRead(ctx context.Context) <-chan *dist.Grant {
	ch, _, _ := rw.p.acquire(ctx, claim{n: 1, limit: rw.max}, false)
	return ch
}

func (rw memRW) AcquireWrite(ctx context.Context) <-chan *dist.Grant {
	ch, _, _ := rw.p.acquire(ctx, claim{excl: true}, false)
	return ch
}

func (rw memRW) TryAcquireRead(ctx context.Context) (*dist.Grant, error) {
	_, g, err := rw.p.acquire(ctx, claim{n: 1, limit: rw.max}, true)
	return g, err
}

func (rw memRW) TryAcquireWrite(ctx context.Context) (*dist.Grant, error) {
	_, g, err := rw.p.acquire(ctx, claim{excl: true}, true)
	return g, err
}

type memEvent struct{ p *memPrim }

func (e memEvent) Wait(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	if ctx.Err() != nil {
		close(ch)
		return ch
	}
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	if e.p.set {
		ch <- struct{}{}
		close(ch)
		return ch
	}
	e.p.evs = append(e.p.evs, ch)
	context.AfterFunc(ctx, func() {
		e.p.mu.Lock()
		defer e.p.mu.Unlock()
		if i := slices.Index(e.p.evs, ch); i >= 0 {
			e.p.evs = slices.Delete(e.p.evs, i, i+1)
			close(ch)
		}
	})
	return ch
}

func (e memEvent) Set(context.Context) error {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	e.p.set = true
	for _, ch := range e.p.evs {
		ch <- struct{}{}
		close(ch)
	}
	e.p.evs = nil
	return nil
}

func (e memEvent) Clear(context.Context) error {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	e.p.set = false
	return nil
}

func (e memEvent) IsSet(context.Context) (bool, error) {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	return e.p.set, nil
}

// TestPlantedBugsAreCaught runs the suite in child processes against mem
// with one bug planted each, and checks that the subtest meant to catch it
// fails: a suite that cannot fail would prove nothing.
func TestPlantedBugsAreCaught(t *testing.T) {
	if bug != "" {
		t.Skip("a child process")
	}
	for _, c := range []struct{ bug, run, caughtBy string }{
		{"leak", "TestLock/CancelRace", "TestLock/CancelRace"},
		{"barge", "TestLock/TryNeverPasses", "TestLock/TryNeverPasses"},
		{"lifo", "TestLock/FIFO", "TestLock/FIFO"},
		{"tokens", "TestLock/FIFO", "TestLock/FIFO"},
		{"barge", "TestSemaphore/HeavyHoldsBackLight", "TestSemaphore/HeavyHoldsBackLight"},
		{"leak", "TestSemaphore/CancelRace", "TestSemaphore/CancelRace"},
		{"barge", "TestRWLock/WriterHoldsBackReaders", "TestRWLock/WriterHoldsBackReaders"},
	} {
		t.Run(c.bug+"/"+c.run, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^"+strings.ReplaceAll(c.run, "/", "$/^")+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), bugEnv+"="+c.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed with bug %q planted:\n%s", c.bug, out)
			}
			if !strings.Contains(string(out), "--- FAIL: "+c.caughtBy) {
				t.Fatalf("bug %q: %s did not fail:\n%s", c.bug, c.caughtBy, out)
			}
		})
	}
}
