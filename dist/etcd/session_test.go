package etcd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

// Close ends everything of the session at once: its holders' grants are
// lost, its waits closed, its Try and Event calls refused with
// dist.ErrSessionDone; the revoked lease takes its keys, so another
// session's waiter is granted without waiting for a TTL.
func TestSessionCloseEndsEverything(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	ss := sessions(t, addr, 2, etcd.WithTTL(30*time.Second))
	ctx := bounded(t, 20*time.Second)
	l := etcd.NewLock(ss[0], "close")
	g, err := l.AcquireWait(ctx)
	is.NoErr(err)
	sem := etcd.NewSemaphore(ss[0], "close-sem", 1)
	sg, err := sem.AcquireWait(ctx)
	is.NoErr(err)
	queued := sem.Acquire(ctx)
	ev := etcd.NewEvent(ss[0], "close-ev")
	evw := ev.Wait(ctx)
	other := etcd.NewLock(ss[1], "close").Acquire(ctx)

	is.NoErr(ss[0].Close(ctx))
	<-ss[0].Done()
	is.True(errors.Is(ss[0].Err(), dist.ErrSessionDone))
	_, ok := <-g.Lost()
	is.True(!ok)
	_, ok = <-sg.Lost()
	is.True(!ok)
	_, ok = <-queued
	is.True(!ok)
	_, ok = <-evw
	is.True(!ok)
	g.Release() // allowed, harmless
	sg.Release()
	_, err = l.TryAcquire(ctx)
	is.True(errors.Is(err, dist.ErrSessionDone))
	_, err = l.AcquireWait(ctx)
	is.True(errors.Is(err, dist.ErrSessionDone))
	is.True(errors.Is(ev.Set(ctx), dist.ErrSessionDone))
	_, ok = <-etcd.NewLock(ss[0], "after").Acquire(ctx)
	is.True(!ok)
	is.NoErr(ss[0].Close(ctx)) // a second Close is harmless

	og, ok := <-other // the revocation freed the lock at once
	is.True(ok)
	is.True(og.Token() > g.Token())
	og.Release()
}

// A session whose lease is revoked behind its back (an operator, another
// client) ends at its next renewal: its grants are lost, its waits closed,
// a queued one at once, since the watch covers the waiter's own key
// (concurrency.Mutex's waiter waits on for the keys ahead of it,
// etcd-io/etcd#19597).
func TestSessionLeaseRevoked(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	s := newSession(t, newClient(t, addr), etcd.WithTTL(3*time.Second))
	other := newSession(t, newClient(t, addr))
	ctx := bounded(t, 20*time.Second)
	g, err := etcd.NewLock(other, "revoked").AcquireWait(ctx)
	is.NoErr(err)
	h, err := etcd.NewLock(s, "revoked-held").AcquireWait(ctx)
	is.NoErr(err)
	w := etcd.NewLock(s, "revoked").Acquire(ctx)
	_, err = other.Client().Revoke(ctx, s.Lease())
	is.NoErr(err)
	_, ok := <-w // the watch saw the waiter's key go
	is.True(!ok)
	select {
	case <-h.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("the grant of a revoked lease was not lost")
	}
	<-s.Done()
	is.True(strings.Contains(s.Err().Error(), "expired or was revoked"))
	g.Release()
}

// Misuse panics with an etcd: message before anything is sent.
func TestMisusePanics(t *testing.T) {
	addr := startEtcd(t)
	s := newSession(t, newClient(t, addr))
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"empty name", func() { etcd.NewLock(s, "") }},
		{"reserved element", func() { etcd.NewLock(s, "a/~b") }},
		{"reserved first element", func() { etcd.NewEvent(s, "~x") }},
		{"NUL", func() { etcd.NewLock(s, "a\x00b") }},
		{"limit 0", func() { etcd.NewSemaphore(s, "s", 0) }},
		{"negative maxReaders", func() { etcd.NewRWLock(s, "rw", -1) }},
		{"AcquireN 0", func() { etcd.NewSemaphore(s, "s", 2).AcquireN(context.Background(), 0) }},
		{"nil client", func() { etcd.NewSession(context.Background(), nil) }},
		{"TTL 0", func() { etcd.WithTTL(0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				p := recover()
				msg, _ := p.(string)
				if !strings.HasPrefix(msg, "etcd: ") {
					t.Fatalf("recovered %v, want an etcd: panic", p)
				}
			}()
			c.f()
		})
	}
}

// etcd-io/etcd#16221: with recipe.RWMutex, a writer whose session expired
// while it waited was let in beside the next writer. Here a waiter is
// admitted only while its own key exists: the expired writer's wait closes
// empty, and only the live writer holds.
func TestRWLockWriterExpiredWhileWaiting(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	ss := sessions(t, addr, 3)
	ctx := bounded(t, 20*time.Second)
	m1 := etcd.NewRWLock(ss[0], "rw16221", 0)
	m2 := etcd.NewRWLock(ss[1], "rw16221", 0)
	m3 := etcd.NewRWLock(ss[2], "rw16221", 0)
	g1, err := m1.AcquireWriteWait(ctx)
	is.NoErr(err)
	w2 := m2.AcquireWrite(ctx)
	w3 := m3.AcquireWrite(ctx)
	_, err = ss[0].Client().Revoke(ctx, ss[1].Lease()) // m2's session expires
	is.NoErr(err)
	g1.Release()
	g3, ok := <-w3
	is.True(ok)
	_, ok = <-w2
	is.True(!ok) // never granted: its key went with its lease
	readers, err := m1.Readers(ctx)
	is.NoErr(err)
	is.Equal(readers, 0)
	g3.Release()
}

// Two goroutines of one session are two waiters (two concurrency.Mutex
// values on one session share a key and both "hold"): the second waits for
// the first, and is granted by its release within the session, without
// waiting for the release to reach the server.
func TestOneSessionTwoWaiters(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	s := newSession(t, newClient(t, addr))
	ctx := bounded(t, 20*time.Second)
	a, b := etcd.NewLock(s, "one-session"), etcd.NewLock(s, "one-session")
	g, err := a.AcquireWait(ctx)
	is.NoErr(err)
	w := b.Acquire(ctx)
	_, err = b.TryAcquire(ctx)
	is.True(errors.Is(err, dist.ErrBusy))
	select {
	case <-w:
		t.Fatal("a second waiter of the session was granted while the first held")
	default:
	}
	g.Release()
	g2, ok := <-w
	is.True(ok)
	is.True(g2.Token() > g.Token())
	g2.Release()
}
