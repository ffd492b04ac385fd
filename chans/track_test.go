package chans

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// lineHere returns the line it is called on.
func lineHere() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

// calledFrom asserts that st starts at the exported method api of this
// package and that the next frame outside the package's methods is fn (a
// test function's name, without the package) at line.
func calledFrom(t *testing.T, st Stack, api, fn string, line int) {
	t.Helper()
	fs := st.Frames()
	if len(fs) < 2 {
		t.Fatalf("stack %v: want at least %s and %s", fs, api, fn)
	}
	if fs[0].Function != pkgPrefix+api {
		t.Errorf("stack starts at %s, want %s", fs[0].Function, pkgPrefix+api)
	}
	for _, f := range fs[1:] {
		if strings.HasPrefix(f.Function, pkgPrefix+"Test") || !strings.HasPrefix(f.Function, pkgPrefix) {
			if !strings.HasPrefix(f.Function, pkgPrefix+fn) || f.Line != line || !strings.HasSuffix(f.File, "track_test.go") {
				t.Errorf("called from %s (%s:%d), want %s at line %d", f.Function, f.File, f.Line, fn, line)
			}
			return
		}
	}
	t.Errorf("no caller outside the package in %v", fs)
}

// TestTrackRecordsStacks checks, for each way a grant is made, that the
// stack recorded is the asking call's: at the call (a channel granted at
// once, a blocking twin, a Try), in the queue, and once a queued waiter is
// granted from another goroutine's Release (whose stack it must not take).
func TestTrackRecordsStacks(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)

	var l Lock
	Track(&l, "stacks")
	defer Untrack(&l)
	line := lineHere() + 1
	rel := <-l.Acquire(bg())
	calledFrom(t, l.Stats().Holders[0].Stack, "(*Lock).Acquire", "TestTrackRecordsStacks", line)

	line = lineHere() + 1
	w := l.Acquire(bg())
	s := l.Stats()
	is.Equal(s.Waiting, 1)
	calledFrom(t, s.Waiters[0].Stack, "(*Lock).Acquire", "TestTrackRecordsStacks", line)
	done := make(chan struct{})
	go func() { rel(); close(done) }() // the grant is made in this goroutine
	<-done
	s = l.Stats()
	is.Equal(len(s.Holders), 1)
	is.True(s.Holders[0].Unreceived)
	calledFrom(t, s.Holders[0].Stack, "(*Lock).Acquire", "TestTrackRecordsStacks", line)
	(<-w)()

	line = lineHere() + 1
	rel, _ = l.AcquireWait(bg())
	calledFrom(t, l.Stats().Holders[0].Stack, "(*Lock).AcquireWait", "TestTrackRecordsStacks", line)
	rel()
	is.Equal(len(l.Stats().Holders), 0) // released: the record is gone

	line = lineHere() + 1
	g, _ := l.AcquireGuard(bg())
	calledFrom(t, l.Stats().Holders[0].Stack, "(*Lock).AcquireGuard", "TestTrackRecordsStacks", line)
	g.Release()
	is.Equal(len(l.Stats().Holders), 0)

	sem := NewSemaphore(2)
	Track(sem, "sem")
	defer Untrack(sem)
	line = lineHere() + 1
	r1, _ := sem.TryAcquire()
	calledFrom(t, sem.Stats().Holders[0].Stack, "(*Semaphore).TryAcquireN", "TestTrackRecordsStacks", line)
	ctx, cancel := context.WithCancel(bg())
	defer cancel()
	line = lineHere() + 1
	got := sem.Acquire(ctx) // granted at once, in doubt (a ctx that can end)
	s = sem.Stats()
	is.Equal(len(s.Holders), 2)
	is.True(s.Holders[1].Unreceived && s.Holders[1].CanEnd)
	calledFrom(t, s.Holders[1].Stack, "(*Semaphore).Acquire", "TestTrackRecordsStacks", line)
	r2 := <-got
	r1()
	is.Equal(len(sem.Stats().Holders), 1) // each Release drops its own record
	calledFrom(t, sem.Stats().Holders[0].Stack, "(*Semaphore).Acquire", "TestTrackRecordsStacks", line)
	r2()
	is.Equal(len(sem.Stats().Holders), 0)

	q := NewQueue[int](0)
	Track(q, "queue")
	defer Untrack(q)
	line = lineHere() + 1
	item := q.Get(bg())
	_ = q.TryPut(7)
	s = q.Stats()
	is.Equal(s.Unreceived, 1)
	calledFrom(t, s.Holders[0].Stack, "(*Queue[...]).Get", "TestTrackRecordsStacks", line)
	is.Equal(<-item, 7)
	is.Equal(len(q.Stats().Holders), 0) // received: the record goes at the next look
}

// TestTrackForcesTheSlowPath checks that a tracked Lock, RWLock or Semaphore
// keeps its fast-path bit set even when idle, so that every grant is
// recorded and counted, and gets its fast path back when untracked.
func TestTrackForcesTheSlowPath(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)
	var l Lock
	var rw RWLock
	s := NewSemaphore(3)
	use := func() {
		(<-l.Acquire(bg()))()
		r, _ := rw.AcquireReadWait(bg())
		r()
		r, _ = s.AcquireNWait(bg(), 2)
		r()
	}
	use()
	a, b, c := slowBits(&l, &rw, s)
	is.True(!a && !b && !c) // idle, untracked: the fast paths are open
	rwBefore, semBefore := rw.Stats().Grants, s.Stats().Grants

	for _, p := range []Trackable{&l, &rw, s} {
		Track(p, "slow")
	}
	a, b, c = slowBits(&l, &rw, s)
	is.True(a && b && c) // tracked: closed, though idle
	for range 10 {
		use()
	}
	is.Equal(rw.Stats().Grants, rwBefore+10) // every grant made under the mutex, and counted
	is.Equal(s.Stats().Grants, semBefore+10)
	is.Equal(l.Stats().Grants, uint64(11)) // a Lock counts them all anyway

	r, _ := rw.AcquireWriteWait(bg())
	st := rw.Stats()
	is.Equal(len(st.Holders), 1)
	is.Equal(st.Holders[0].Ask, "write")
	is.True(len(st.Holders[0].Stack) > 0) // not hidden by a fast path
	r()

	for _, p := range []Trackable{&l, &rw, s} {
		Untrack(p)
	}
	a, b, c = slowBits(&l, &rw, s)
	is.True(!a && !b && !c) // untracked and idle: open again
	use()
	is.Equal(rw.Stats().Grants, rwBefore+11) // the fast path again: not counted (11: the write above)
}

// TestTrackedReleaseMisuse checks that a tracked grant's Release keeps its
// promises: a second call panics and changes nothing, and a bounded
// Semaphore's over-release panics with the grant still recorded as held.
func TestTrackedReleaseMisuse(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)
	var l Lock
	rw := NewRWLock(0)
	s := NewBoundedSemaphore(1)
	for _, p := range []Trackable{&l, rw, s} {
		Track(p, "misuse")
		defer Untrack(p)
	}
	for _, acquire := range []func() Release{
		func() Release { return <-l.Acquire(bg()) },
		func() Release { r, _ := rw.AcquireWriteWait(bg()); return r },
		func() Release { r, _ := s.AcquireWait(bg()); return r },
	} {
		r := acquire()
		r()
		isChansPanic(t, r)
		r = acquire() // still works, and is free again after
		r()
	}
	is.Equal(len(l.Stats().Holders), 0)
	is.Equal(len(rw.Stats().Holders), 0)

	r, _ := s.AcquireWait(bg())
	s.Release() // an unpaired permit: the grant's own Release would now exceed the bound
	isChansPanic(t, r)
	is.Equal(len(s.Stats().Holders), 1) // the grant is still out, and still listed
	_, _ = s.AcquireWait(bg())          // take the unpaired permit back
	r()                                 // now fine
	is.Equal(len(s.Stats().Holders), 1) // the one just acquired

	isChansPanic(t, func() { Track(nil, "x") })
	isChansPanic(t, func() { Track((*Lock)(nil), "x") })
	isChansPanic(t, func() { Untrack((*Queue[int])(nil)) })
}

// TestTrackNames checks names, renames and the registry's list.
func TestTrackNames(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)
	var a, b Lock
	var e Event
	Track(&b, "b-lock")
	Track(&a, "a-lock")
	line := lineHere() + 1
	Track(&e, "") // a name made from the call
	defer func() { Untrack(&a); Untrack(&b); Untrack(&e) }()
	id := a.Stats().ID
	Track(&a, "a-renamed")
	is.Equal(a.Stats().ID, id)
	var names []string
	for _, s := range Tracked() {
		names = append(names, s.Name)
	}
	is.Equal(names, []string{"Event@track_test.go:" + strconv.Itoa(line), "a-renamed", "b-lock"})
	Untrack(&b)
	Untrack(&b) // again: nothing
	is.Equal(len(Tracked()), 2)
	is.Equal(b.Stats().Name, "")
}

// syncBuffer is a bytes.Buffer safe for the detector's goroutine and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// strandedLog sends the detector's reports to a buffer for the test, with
// threshold d.
func strandedLog(t *testing.T, d time.Duration) *syncBuffer {
	buf := new(syncBuffer)
	oldLog := SetStrandedLogger(slog.New(slog.NewTextHandler(buf, nil)))
	oldAfter := SetStrandedAfter(d)
	t.Cleanup(func() {
		SetStrandedLogger(oldLog)
		SetStrandedAfter(oldAfter)
	})
	return buf
}

// abandon waits for op's grant beside a timeout, and walks away when the
// timeout wins: the mistake the detector is for.
func abandon[T any](op <-chan T, timeout time.Duration) {
	select {
	case <-op:
		panic("granted before the timeout")
	case <-time.After(timeout):
	}
}

// TestStrandedGrantReportedOnce abandons waits in a select, on a Lock and a
// Queue, with context.Background: once the grant arrives nobody receives it,
// and nobody ever will. The detector must report each once, after the
// threshold and not before, naming the primitive and the line of the wait.
// The same abandoned waits on a ctx that can end must not be reported: their
// grants come back when the ctx ends.
func TestStrandedGrantReportedOnce(t *testing.T) {
	trackAllOff(t)
	defer restartDetector()
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		log := strandedLog(t, 2*time.Second)
		ownDetector(t)
		var l, l2 Lock
		q := NewQueue[string](0)
		Track(&l, "orders-lock")
		Track(&l2, "cancellable-lock")
		Track(q, "jobs")
		defer func() { Untrack(&l); Untrack(&l2); Untrack(q) }()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		rel := <-l.Acquire(bg())
		rel2 := <-l2.Acquire(bg())
		var wg sync.WaitGroup
		var lockLine, queueLine int
		wg.Go(func() {
			lockLine = lineHere() + 1
			abandon(l.Acquire(context.Background()), time.Second)
		})
		wg.Go(func() {
			queueLine = lineHere() + 1
			abandon(q.Get(context.Background()), time.Second)
		})
		wg.Go(func() { abandon(l2.Acquire(ctx), time.Second) })
		wg.Wait()
		start := time.Now()
		rel() // the grant goes to the caller that walked away
		rel2()
		is.NoErr(q.TryPut("job"))

		time.Sleep(2*time.Second - time.Millisecond)
		is.Equal(log.String(), "") // not before the threshold
		time.Sleep(time.Until(start.Add(3 * time.Second)))
		out := log.String() // reported within one and a half thresholds
		is.Equal(strings.Count(out, "chans: stranded grant"), 2)
		is.True(strings.Contains(out, "primitive=orders-lock kind=Lock grant=lock"))
		is.True(strings.Contains(out, "primitive=jobs kind=Queue grant=item"))
		is.True(strings.Contains(out, "track_test.go:"+strconv.Itoa(lockLine)))
		is.True(strings.Contains(out, "track_test.go:"+strconv.Itoa(queueLine)))
		is.True(!strings.Contains(out, "cancellable-lock"))

		time.Sleep(time.Minute)
		is.Equal(log.String(), out) // once

		s := l.Stats()
		is.Equal(s.Stranded, 1)
		is.Equal(s.Unreceived, 1)
		is.True(s.Holders[0].Stranded && !s.Holders[0].CanEnd)
		s = l2.Stats()
		is.Equal(s.Stranded, 0)
		is.True(s.Holders[0].Unreceived && s.Holders[0].CanEnd)
		cancel()
		synctest.Wait()
		is.True(!l2.Locked()) // the cancellable one came back
		is.Equal(q.Stats().Stranded, 1)
	})
}

// TestStrandedReceivedInTimeIsNotReported receives a grant after it sat
// unreceived for most of the threshold: no report.
func TestStrandedReceivedInTimeIsNotReported(t *testing.T) {
	trackAllOff(t)
	defer restartDetector()
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		log := strandedLog(t, 2*time.Second)
		ownDetector(t)
		var l Lock
		Track(&l, "slow-receiver")
		defer Untrack(&l)
		ch := l.Acquire(bg())
		time.Sleep(1900 * time.Millisecond)
		rel := <-ch
		time.Sleep(time.Minute)
		is.Equal(log.String(), "")
		rel()
	})
}

// TestDetectorLifetime checks that the detector runs only while something is
// tracked, and stops at once when nothing is.
func TestDetectorLifetime(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)
	if len(Tracked()) != 0 {
		t.Skip("other primitives are tracked")
	}
	is.True(!detectorRunning())
	var l Lock
	Track(&l, "lifetime")
	is.True(detectorRunning())
	old := SetStrandedAfter(0)
	is.True(!detectorRunning()) // off
	SetStrandedAfter(old)
	is.True(detectorRunning())
	Untrack(&l)
	is.True(!detectorRunning())
}

// TestRegistryHoldsWeakly drops tracked primitives, some with a grant
// stranded in a channel that refers back to them, and checks that they are
// collected and leave the list.
func TestRegistryHoldsWeakly(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)
	before := len(Tracked())
	collected := make(chan string, 8)
	func() {
		type server struct {
			name string
			mu   Lock // tracked through a pointer into its struct
		}
		srv := &server{name: "srv"}
		l := new(Lock)
		s := NewSemaphore(2)
		q := NewQueue[int](0)
		g := NewTaskGroup[int](context.Background(), 2, KeepGoing)
		Track(&srv.mu, "server-lock")
		Track(l, "lock")
		Track(s, "sem")
		Track(q, "queue")
		Track(g, "group")
		<-l.Acquire(bg()) // held, never released
		l.Acquire(bg())   // queued with a ctx that cannot end
		s.Acquire(bg())   // stranded: sent, never received
		q.Get(bg())
		_ = q.TryPut(1) // stranded too
		<-g.Go(func(context.Context) (int, error) { return 1, nil }).Done()
		is.Equal(len(Tracked()), before+5)
		runtime.AddCleanup(srv, func(n string) { collected <- n }, "server-lock")
		runtime.AddCleanup(l, func(n string) { collected <- n }, "lock")
		runtime.AddCleanup(s, func(n string) { collected <- n }, "sem")
		runtime.AddCleanup(q, func(n string) { collected <- n }, "queue")
		runtime.AddCleanup(g, func(n string) { collected <- n }, "group")
	}()
	got := map[string]bool{}
	for i := 0; i < 100 && len(got) < 5; i++ {
		runtime.GC()
		for len(collected) > 0 {
			got[<-collected] = true
		}
	}
	is.Equal(len(got), 5) // every tracked primitive was collected
	is.Equal(len(Tracked()), before)
}

// TestTrackAll checks what TrackAll reaches: a Lock on its first call, even
// on the fast path, constructed primitives at birth, a Result once somebody
// waits; and that TrackAll(false) untracks those and only those.
func TestTrackAll(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)
	var named Queue[int]
	Track(&named, "named")
	defer Untrack(&named)
	TrackAll(true)
	defer TrackAll(false)

	var l Lock
	line := lineHere() + 1
	(<-l.Acquire(bg()))() // a fresh Lock takes its mutex under TrackAll
	is.Equal(l.Stats().Name, "Lock@track_test.go:"+strconv.Itoa(line))
	var rw RWLock
	r, _ := rw.AcquireReadWait(bg())
	r()
	is.True(rw.Stats().ID != 0)
	s := NewSemaphore(1)
	is.True(strings.HasPrefix(s.Stats().Name, "Semaphore@track_test.go:"))
	g := NewTaskGroup[int](bg(), 1, KeepGoing)
	defer g.Cancel()
	is.True(g.Stats().ID != 0)
	for _, st := range Tracked() {
		is.True(st.Kind != "Semaphore" || st.ID == s.Stats().ID) // the group's slots are not listed apart
	}
	var res Result[int]
	_ = res.Set(1)
	is.Equal(res.Stats().ID, uint64(0)) // settled, nobody waits: not tracked
	var res2 Result[int]
	ctx, cancel := context.WithCancel(bg())
	res2.Get(ctx)
	is.True(res2.Stats().ID != 0)
	is.True(len(res2.Stats().Waiters[0].Stack) > 0)
	cancel()
	named.Stats()
	is.Equal(named.Stats().Name, "named") // tracked by name: left as it is

	TrackAll(false)
	is.Equal(l.Stats().ID, uint64(0))
	is.Equal(s.Stats().ID, uint64(0))
	is.Equal(g.Stats().ID, uint64(0))
	is.Equal(named.Stats().Name, "named")
	a, b, c := slowBits(&l, &rw, s)
	is.True(!a && !b && !c)
}

// TestTrackEnvironment runs the test binary again with TURNSTILE_TRACK set,
// and checks that tracking is on from the start (1) or stays off with a
// warning (a value that is not a boolean).
func TestTrackEnvironment(t *testing.T) {
	if os.Getenv("CHANS_TRACK_CHILD") != "" {
		var l Lock
		(<-l.Acquire(bg()))()
		if l.Stats().ID != 0 {
			os.Stdout.WriteString("child: tracked\n")
		} else {
			os.Stdout.WriteString("child: not tracked\n")
		}
		return
	}
	is := is.New(t)
	for env, want := range map[string]string{"1": "child: tracked", "bogus": "child: not tracked"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTrackEnvironment$", "-test.v")
		cmd.Env = append(os.Environ(), "CHANS_TRACK_CHILD=1", "TURNSTILE_TRACK="+env)
		out, err := cmd.CombinedOutput()
		is.NoErr(err)
		is.True(strings.Contains(string(out), want+"\n"))
		if env == "bogus" {
			is.True(strings.Contains(string(out), "TURNSTILE_TRACK is not a boolean"))
		}
	}
}

// BenchmarkTracking measures what tracking costs when it is on, beside the
// same operation untracked (tracking=off), and what a Stats call costs.
func BenchmarkTracking(b *testing.B) {
	trackAllOff(b)
	ops := []struct {
		name string
		make func() (Trackable, func())
	}{
		{"LockAcquire", func() (Trackable, func()) {
			l := new(Lock)
			return l, func() { (<-l.Acquire(bg()))() }
		}},
		{"SemaphoreAcquireNWait", func() (Trackable, func()) {
			s := NewSemaphore(4)
			return s, func() { r, _ := s.AcquireNWait(bg(), 2); r() }
		}},
		{"QueueTryPutTryGet", func() (Trackable, func()) {
			q := NewQueue[int](64)
			return q, func() { _ = q.TryPut(1); _, _ = q.TryGet() }
		}},
	}
	for _, op := range ops {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("op=%s/tracking=%s", op.name, map[bool]string{false: "off", true: "on"}[on]), func(b *testing.B) {
				p, f := op.make()
				if on {
					Track(p, "bench")
					defer Untrack(p)
				}
				b.ReportAllocs()
				for b.Loop() {
					f()
				}
			})
		}
	}
	for _, waiters := range []int{0, 100} {
		b.Run(fmt.Sprintf("op=LockStats/waiters=%d", waiters), func(b *testing.B) {
			var l Lock
			rel := <-l.Acquire(bg())
			ctx, cancel := context.WithCancel(bg())
			for range waiters {
				l.Acquire(ctx)
			}
			b.ReportAllocs()
			for b.Loop() {
				l.Stats()
			}
			cancel()
			rel()
		})
	}
}

// TestTrackedTwinsRelease checks that a blocking twin's grant, at once or
// after queueing, is recorded with the twin's stack and dropped by its
// Release, and that a tracked TaskGroup's slots leave no record behind.
func TestTrackedTwinsRelease(t *testing.T) {
	trackAllOff(t)
	is := is.New(t)
	s := NewSemaphore(1)
	var rw RWLock
	Track(s, "sem")
	Track(&rw, "rw")
	defer Untrack(s)
	defer Untrack(&rw)

	line := lineHere() + 1
	r1, _ := s.AcquireWait(bg())
	calledFrom(t, s.Stats().Holders[0].Stack, "(*Semaphore).AcquireWait", "TestTrackedTwinsRelease", line)
	got := make(chan Release)
	var queuedLine int
	go func() {
		queuedLine = lineHere() + 1
		r, _ := s.AcquireWait(bg())
		got <- r
	}()
	for s.Stats().Waiting == 0 { // it queues
		runtime.Gosched()
	}
	r1()
	r2 := <-got
	st := s.Stats()
	is.Equal(len(st.Holders), 1) // the first released, the second granted from the queue
	calledFrom(t, st.Holders[0].Stack, "(*Semaphore).AcquireWait", "TestTrackedTwinsRelease.func1", queuedLine)
	r2()
	is.Equal(len(s.Stats().Holders), 0)
	isChansPanic(t, r2) // still released once only

	w, _ := rw.AcquireWriteWait(bg())
	go func() {
		r, _ := rw.AcquireReadWait(bg())
		got <- r
	}()
	for rw.Stats().Waiting == 0 {
		runtime.Gosched()
	}
	w()
	r := <-got
	is.Equal(rw.Stats().Holders[0].Ask, "read")
	r()
	is.Equal(len(rw.Stats().Holders), 0)

	g := NewTaskGroup[int](bg(), 1, KeepGoing)
	Track(g, "group")
	defer Untrack(g)
	for range 20 {
		g.Go(func(context.Context) (int, error) { return 1, nil })
	}
	<-g.Wait()
	is.Equal(groupSlotRecords(g), 0) // slots given back with give leave no record
	is.Equal(len(g.Stats().Holders), 0)
	g.Cancel()
}
