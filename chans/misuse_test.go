package chans

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// W8: misuse panics with a message that starts with "chans: ", and leaves
// the primitive as it was: each case below misuses a primitive, checks the
// panic, then checks that the primitive still works and its state is intact.
func TestMisusePanics(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		misuse func(t *testing.T) (misuse func(), after func(is *is.I))
	}{
		{"Lock/double release", func(*testing.T) (func(), func(*is.I)) {
			var l Lock
			r := <-l.Acquire(ctx)
			r()
			r2, _ := l.TryAcquire() // someone else holds it now
			return r, func(is *is.I) {
				is.True(l.Locked()) // the stale release did not free r2's lock
				r2()
				is.True(!l.Locked())
				r3, ok := l.TryAcquire()
				is.True(ok)
				r3()
			}
		}},
		{"RWLock/double read release", func(*testing.T) (func(), func(*is.I)) {
			l := NewRWLock(0)
			r := <-l.AcquireRead(ctx)
			r2 := <-l.AcquireRead(ctx)
			r()
			return r, func(is *is.I) {
				is.Equal(l.Readers(), 1) // r2's read lock is still counted
				r2()
				w, ok := l.TryAcquireWrite()
				is.True(ok)
				w()
			}
		}},
		{"RWLock/double write release", func(*testing.T) (func(), func(*is.I)) {
			l := NewRWLock(0)
			w, _ := l.TryAcquireWrite()
			w()
			return w, func(is *is.I) {
				is.True(!l.Locked())
				r, ok := l.TryAcquireRead()
				is.True(ok)
				r()
			}
		}},
		{"Semaphore/double release", func(*testing.T) (func(), func(*is.I)) {
			s := NewSemaphore(2)
			r := <-s.AcquireN(ctx, 2)
			r()
			return r, func(is *is.I) {
				is.Equal(s.Value(), 2) // not 4
				r, ok := s.TryAcquireN(2)
				is.True(ok)
				r()
			}
		}},
		{"Semaphore/grant's release past the bound", func(*testing.T) (func(), func(*is.I)) {
			s := NewBoundedSemaphore(2)
			r, _ := s.TryAcquire()
			s.Release() // toro's idiom: only free permits count, so this is allowed
			return r, func(is *is.I) {
				// r's own release would leave 3 free: it panicked and
				// released nothing, so once a permit is taken it still can.
				is.Equal(s.Value(), 2)
				r2, _ := s.TryAcquire()
				r()
				is.Equal(s.Value(), 2)
				_ = r2
			}
		}},
		{"Semaphore/over-release at bound", func(*testing.T) (func(), func(*is.I)) {
			s := NewBoundedSemaphore(1)
			return s.Release, func(is *is.I) { is.Equal(s.Value(), 1) }
		}},
		{"Semaphore/AcquireN negative", func(*testing.T) (func(), func(*is.I)) {
			s := NewSemaphore(1)
			return func() { s.AcquireN(ctx, -1) }, func(is *is.I) { is.Equal(s.String(), "Semaphore(value=1, waiters=0)") }
		}},
		{"Semaphore/TryAcquireN negative", func(*testing.T) (func(), func(*is.I)) {
			s := NewSemaphore(1)
			return func() { s.TryAcquireN(-1) }, func(is *is.I) { is.Equal(s.Value(), 1) }
		}},
		{"NewSemaphore negative", func(*testing.T) (func(), func(*is.I)) {
			return func() { NewSemaphore(-1) }, nil
		}},
		{"NewBoundedSemaphore zero", func(*testing.T) (func(), func(*is.I)) {
			return func() { NewBoundedSemaphore(0) }, nil
		}},
		{"NewRWLock negative", func(*testing.T) (func(), func(*is.I)) {
			return func() { NewRWLock(-1) }, nil
		}},
		{"Condition/Notify negative", func(*testing.T) (func(), func(*is.I)) {
			var c Condition
			w := c.Wait(ctx)
			return func() { c.Notify(-1) }, func(is *is.I) {
				is.Equal(len(w), 0) // nobody woken
				c.Notify(1)
				_, ok := <-w
				is.True(ok)
			}
		}},
		{"Queue/TaskDone too often", func(*testing.T) (func(), func(*is.I)) {
			q := NewQueue[int](0)
			q.TryPut(1)
			q.TryGet()
			q.TaskDone()
			return q.TaskDone, func(is *is.I) {
				is.Equal(q.Unfinished(), 0)
				is.True(isClosed(q.Join()))
				is.NoErr(q.TryPut(2))
				is.Equal(q.Unfinished(), 1)
			}
		}},
		{"NewQueue negative", func(*testing.T) (func(), func(*is.I)) { return func() { NewQueue[int](-1) }, nil }},
		{"NewLifoQueue negative", func(*testing.T) (func(), func(*is.I)) { return func() { NewLifoQueue[int](-1) }, nil }},
		{"NewPriorityQueue negative", func(*testing.T) (func(), func(*is.I)) {
			return func() { NewPriorityQueue(-1, lessInt) }, nil
		}},
		{"NewPriorityQueue nil less", func(*testing.T) (func(), func(*is.I)) {
			return func() { NewPriorityQueue[int](1, nil) }, nil
		}},
		{"Result/Fail(nil)", func(*testing.T) (func(), func(*is.I)) {
			var r Result[int]
			return func() { r.Fail(nil) }, func(is *is.I) {
				is.True(!r.Ready()) // the bad call settled nothing
				is.NoErr(r.Set(3))
				v, err := r.TryGet()
				is.NoErr(err)
				is.Equal(v, 3)
			}
		}},
		{"Go(nil)", func(*testing.T) (func(), func(*is.I)) {
			return func() { Go[int](ctx, nil) }, nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			misuse, after := c.misuse(t)
			msg := panicText(misuse)
			is.True(strings.HasPrefix(msg, "chans: ")) // panics, and says who
			if after != nil {
				after(is)
			}
		})
	}
}

// TestMisuseNotAPanic: the bad input that has a sentinel error instead.
func TestMisuseNotAPanic(t *testing.T) {
	is := is.New(t)
	var r Result[int]
	is.NoErr(r.Set(1))
	is.True(errors.Is(r.Set(2), ErrAlreadySet))
	is.True(errors.Is(r.Fail(errors.New("x")), ErrAlreadySet))
	// A bounded semaphore asked for more than it can ever hold fails the
	// call at once rather than waiting forever.
	s := NewBoundedSemaphore(2)
	_, ok := <-s.AcquireN(context.Background(), 3)
	is.True(!ok)
	is.Equal(s.Value(), 2)
}

// #11: a nil ctx panics with a "chans: " message before any state is touched,
// in every method that takes one, and leaves the primitive usable: after the
// recovered panic, the primitive still serves a call (a mutex left locked by
// the panic would make it wait forever; each check is bounded).
func TestMisuseNilContext(t *testing.T) {
	var nilCtx context.Context
	ctx := context.Background()
	noop := func(context.Context) (int, error) { return 0, nil }
	var (
		l   Lock
		rw  = NewRWLock(0)
		s   = NewBoundedSemaphore(2)
		c   Condition
		res Result[int]
		q   = NewQueue[int](1)
		b   Mailbox[int]
		sig Signal[int]
		bar = NewBarrier(2)
		g   = NewTaskGroup[int](ctx, 1, CancelOnFailure)
	)
	defer g.Cancel()
	lockWorks := func() error {
		r, err := l.AcquireWait(ctx)
		if err == nil {
			r()
		}
		return err
	}
	rwWorks := func() error {
		r, err := rw.AcquireWriteWait(ctx)
		if err == nil {
			r()
		}
		return err
	}
	semWorks := func() error {
		r, err := s.AcquireNWait(ctx, 2)
		if err == nil {
			r()
		}
		return err
	}
	queueWorks := func() error {
		if err := q.PutWait(ctx, 1); err != nil {
			return err
		}
		_, err := q.GetWait(ctx)
		q.TaskDone()
		return err
	}
	mailboxWorks := func() error {
		b.Send(1)
		_, err := b.ReceiveWait(ctx, nil)
		return err
	}
	condWorks := func() error { c.NotifyAll(); _ = c.String(); return nil }
	for _, cs := range []struct {
		name  string
		call  func()
		works func() error
	}{
		{"Lock.Acquire", func() { l.Acquire(nilCtx) }, lockWorks},
		{"Lock.AcquireWait", func() { _, _ = l.AcquireWait(nilCtx) }, lockWorks},
		{"Lock.AcquireGuard", func() { _, _ = l.AcquireGuard(nilCtx) }, lockWorks},
		{"RWLock.AcquireRead", func() { rw.AcquireRead(nilCtx) }, rwWorks},
		{"RWLock.AcquireWrite", func() { rw.AcquireWrite(nilCtx) }, rwWorks},
		{"RWLock.AcquireReadWait", func() { _, _ = rw.AcquireReadWait(nilCtx) }, rwWorks},
		{"RWLock.AcquireWriteWait", func() { _, _ = rw.AcquireWriteWait(nilCtx) }, rwWorks},
		{"Semaphore.Acquire", func() { s.Acquire(nilCtx) }, semWorks},
		{"Semaphore.AcquireN", func() { s.AcquireN(nilCtx, 1) }, semWorks},
		{"Semaphore.AcquireWait", func() { _, _ = s.AcquireWait(nilCtx) }, semWorks},
		{"Semaphore.AcquireNWait", func() { _, _ = s.AcquireNWait(nilCtx, 1) }, semWorks},
		{"Condition.Wait", func() { c.Wait(nilCtx) }, condWorks},
		{"Result.Get", func() { res.Get(nilCtx) }, func() error { _, err := res.TryGet(); return errIf(err != ErrNotReady, err) }},
		{"Result.Wait", func() { _, _ = res.Wait(nilCtx) }, func() error { _, err := res.TryGet(); return errIf(err != ErrNotReady, err) }},
		{"Queue.Put", func() { q.Put(nilCtx, 1) }, queueWorks},
		{"Queue.Get", func() { q.Get(nilCtx) }, queueWorks},
		{"Queue.PutWait", func() { _ = q.PutWait(nilCtx, 1) }, queueWorks},
		{"Queue.GetWait", func() { _, _ = q.GetWait(nilCtx) }, queueWorks},
		{"Queue.All", func() { q.All(nilCtx) }, queueWorks},
		{"Mailbox.Receive", func() { b.Receive(nilCtx, nil) }, mailboxWorks},
		{"Mailbox.ReceiveWait", func() { _, _ = b.ReceiveWait(nilCtx, nil) }, mailboxWorks},
		{"Signal.Next", func() { sig.Next(nilCtx) }, func() error { sig.Emit(1); return nil }},
		{"Barrier.Wait", func() { bar.Wait(nilCtx) }, func() error { return errIf(bar.Waiting() != 0, nil) }},
		{"Go", func() { Go(nilCtx, noop) }, nil},
		{"NewTaskGroup", func() { NewTaskGroup[int](nilCtx, 1, KeepGoing) }, nil},
		{"TaskGroup.Start", func() { g.Start(nilCtx, noop) }, func() error { _, err := g.StartWait(ctx, noop); return err }},
		{"TaskGroup.StartWait", func() { _, _ = g.StartWait(nilCtx, noop) }, func() error { _, err := g.StartWait(ctx, noop); return err }},
		{"NewPipeline", func() { NewPipeline(nilCtx) }, nil},
	} {
		t.Run(cs.name, func(t *testing.T) {
			is := is.New(t)
			msg := panicText(cs.call)
			is.True(strings.HasPrefix(msg, "chans: ")) // says who
			is.True(strings.Contains(msg, "nil Context"))
			if cs.works == nil {
				return
			}
			done := make(chan error, 1)
			go func() { done <- cs.works() }()
			select {
			case err := <-done:
				is.NoErr(err)
			case <-time.After(10 * time.Second):
				t.Fatal("the primitive no longer serves calls after the panic")
			}
		})
	}
}

// errIf returns err, or an error if bad and err is nil.
func errIf(bad bool, err error) error {
	if bad && err == nil {
		return errors.New("unexpected state")
	}
	if !bad {
		return nil
	}
	return err
}

// #11: a bounded semaphore's blocking twin refuses at once a request above
// the bound, with a sentinel error.
func TestMisuseAboveBoundTwin(t *testing.T) {
	is := is.New(t)
	s := NewBoundedSemaphore(2)
	r, err := s.AcquireNWait(context.Background(), 3)
	is.True(r == nil)
	is.True(errors.Is(err, ErrAboveBound))
	is.Equal(s.Value(), 2)
}
