package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzSemaphore and FuzzRWLock run random sequences of operations on the
// primitive and on a plain model (counters and a FIFO slice of requests),
// and check after every step that both agree: each call's answer, which
// waits hold a grant in their buffer, Value/Readers/Locked, String, and the
// panics of misuse. Contexts end in both ways the package must handle: with
// the AfterFunc run (synctest.Wait) and with a public call first (sweep).
//
//	go test -run '^$' -fuzz '^FuzzSemaphore$' -fuzztime 30s ./chans

// fzHandle is one acquire and where the model says it stands.
type fzHandle struct {
	n      int  // permits (Semaphore)
	write  bool // writer (RWLock)
	cancel context.CancelFunc
	ch     <-chan Release
	rel    Release
	state  fzState
}

type fzState uint8

const (
	fzQueued   fzState = iota
	fzGranted          // grant in the buffer, not received
	fzHeld             // received, not released
	fzDone             // closed without a grant, or released
	fzReleased         // released: a second release must panic
)

// fzOps reads the fuzzer's bytes as a stream of small numbers.
type fzOps struct {
	b []byte
	i int
}

func (o *fzOps) more() bool { return o.i < len(o.b) }

func (o *fzOps) next(n int) int {
	if o.i >= len(o.b) {
		return 0
	}
	o.i++
	return int(o.b[o.i-1]) % n
}

// fzCheckHandles compares every handle's channel with the model's state.
func fzCheckHandles(t *testing.T, hs []*fzHandle, log func() string) {
	t.Helper()
	for i, h := range hs {
		switch h.state {
		case fzQueued:
			if len(h.ch) != 0 {
				t.Fatalf("%s: handle %d queued, but its channel holds a grant", log(), i)
			}
		case fzGranted:
			if len(h.ch) != 1 {
				t.Fatalf("%s: handle %d granted, but its channel is empty", log(), i)
			}
		}
	}
}

func FuzzSemaphore(f *testing.F) {
	f.Add(false, uint8(2), []byte{0, 1, 0, 2, 0, 1, 3, 0, 4, 1, 5, 0, 7})
	f.Add(true, uint8(2), []byte{0, 3, 0, 1, 0, 1, 5, 0, 4, 0, 5, 0, 6, 1, 2, 2, 7})
	f.Add(true, uint8(1), []byte{1, 1, 2, 5, 0, 5, 0, 2, 7})
	f.Add(false, uint8(0), []byte{0, 2, 0, 1, 2, 2, 4, 0, 4, 1, 3, 0, 7, 2, 4, 1, 5, 1, 7})
	f.Add(false, uint8(3), []byte{0, 3, 0, 2, 0, 1, 3, 0, 7, 6, 1, 7, 4, 1, 4, 2})
	f.Fuzz(func(t *testing.T, bounded bool, initial uint8, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzSemaphore(t, bounded, int(initial%5), ops)
		})
	})
}

// semModel is a Semaphore as plain data.
type semModel struct {
	value, held, bound int
	queue              []*fzHandle
}

func (m *semModel) dispatch() {
	for len(m.queue) > 0 && m.queue[0].n <= m.value {
		h := m.queue[0]
		m.queue = m.queue[1:]
		m.value -= h.n
		m.held += h.n
		h.state = fzGranted
	}
}

func (m *semModel) String() string {
	if m.bound > 0 {
		return fmt.Sprintf("Semaphore(value=%d, bound=%d, waiters=%d)", m.value, m.bound, len(m.queue))
	}
	return fmt.Sprintf("Semaphore(value=%d, waiters=%d)", m.value, len(m.queue))
}

func fuzzSemaphore(t *testing.T, bounded bool, initial int, ops []byte) {
	var s *Semaphore
	m := &semModel{value: initial}
	if bounded {
		initial = max(initial, 1)
		s, m.value, m.bound = NewBoundedSemaphore(initial), initial, initial
	} else {
		s = NewSemaphore(initial)
	}
	var hs []*fzHandle
	var log []string
	logf := func() string { return strings.Join(log, "; ") }
	o := &fzOps{b: ops}
	pick := func() *fzHandle {
		if len(hs) == 0 {
			return nil
		}
		return hs[o.next(len(hs))]
	}
	for o.more() && len(log) < 200 {
		switch op := o.next(8); op {
		case 0: // AcquireN
			n := o.next(4)
			log = append(log, fmt.Sprintf("AcquireN(%d)", n))
			ctx, cancel := context.WithCancel(context.Background())
			h := &fzHandle{n: n, cancel: cancel, ch: s.AcquireN(ctx, n)}
			hs = append(hs, h)
			switch {
			case m.bound > 0 && n > m.bound:
				h.state = fzDone // can never be met: closed at once
			default:
				m.queue = append(m.queue, h)
				m.dispatch()
			}
		case 1: // TryAcquireN
			n := o.next(4)
			log = append(log, fmt.Sprintf("TryAcquireN(%d)", n))
			rel, ok := s.TryAcquireN(n)
			want := len(m.queue) == 0 && n <= m.value
			if ok != want {
				t.Fatalf("%s: TryAcquireN(%d) = %v, model says %v (%v)", logf(), n, ok, want, m)
			}
			if ok {
				m.value -= n
				m.held += n
				hs = append(hs, &fzHandle{n: n, rel: rel, state: fzHeld, cancel: func() {}})
			}
		case 2: // unpaired Release
			log = append(log, "Release()")
			msg := panicText(s.Release)
			if m.bound > 0 && m.value+1 > m.bound { // toro: only the free permits count
				if !strings.HasPrefix(msg, "chans: ") {
					t.Fatalf("%s: over-release of a bounded semaphore: panic %q", logf(), msg)
				}
			} else {
				if msg != "" {
					t.Fatalf("%s: Release() panicked: %s", logf(), msg)
				}
				m.value++
				m.dispatch()
			}
		case 3, 6: // end a ctx; 6 then calls into the semaphore before the AfterFunc can run
			h := pick()
			if h == nil {
				continue
			}
			log = append(log, fmt.Sprintf("cancel#%d", slices.Index(hs, h)))
			h.cancel()
			if op == 6 {
				s.Value()
			}
			switch h.state {
			case fzQueued:
				m.queue = slices.DeleteFunc(m.queue, func(x *fzHandle) bool { return x == h })
				h.state = fzDone
			case fzGranted:
				m.value += h.n
				m.held -= h.n
				h.state = fzDone
			}
			m.dispatch()
		case 4: // receive
			h := pick()
			if h == nil || h.state == fzQueued {
				continue
			}
			log = append(log, fmt.Sprintf("recv#%d", slices.Index(hs, h)))
			if h.ch == nil {
				continue // a TryAcquireN: nothing to receive
			}
			synctest.Wait()
			rel, ok := <-h.ch
			if ok != (h.state == fzGranted) {
				t.Fatalf("%s: receive ok=%v in state %d", logf(), ok, h.state)
			}
			if ok {
				h.rel, h.state = rel, fzHeld
			}
		case 5: // release a grant
			h := pick()
			if h == nil || (h.state != fzHeld && h.state != fzReleased) {
				continue
			}
			log = append(log, fmt.Sprintf("release#%d", slices.Index(hs, h)))
			msg := panicText(h.rel)
			if h.state == fzReleased {
				if !strings.HasPrefix(msg, "chans: ") {
					t.Fatalf("%s: second release: panic %q", logf(), msg)
				}
				continue
			}
			if m.bound > 0 && m.value+h.n > m.bound {
				// An unpaired Release() filled the bound while this grant
				// was out: its own Release panics, and releases nothing.
				if !strings.HasPrefix(msg, "chans: ") {
					t.Fatalf("%s: release past the bound: panic %q", logf(), msg)
				}
				continue
			}
			if msg != "" {
				t.Fatalf("%s: release panicked: %s", logf(), msg)
			}
			h.state = fzReleased
			m.value += h.n
			m.held -= h.n
			m.dispatch()
		case 7:
			log = append(log, "check")
			if got := s.String(); got != m.String() {
				t.Fatalf("%s: String() = %s, model %s", logf(), got, m)
			}
			if s.Locked() != (m.value == 0) {
				t.Fatalf("%s: Locked() = %v, model value %d", logf(), s.Locked(), m.value)
			}
		}
		synctest.Wait()
		if v := s.Value(); v != m.value {
			t.Fatalf("%s: Value() = %d, model %d", logf(), v, m.value)
		}
		fzCheckHandles(t, hs, logf)
	}
	// The end: every ctx ends, every grant goes home (but for what a bound
	// refuses), and the permits add up.
	for _, h := range hs {
		h.cancel()
		if h.state == fzGranted {
			m.value += h.n
			m.held -= h.n
		}
	}
	synctest.Wait()
	for _, h := range hs {
		if h.state == fzHeld {
			msg := panicText(h.rel)
			if m.bound > 0 && m.value+h.n > m.bound {
				if !strings.HasPrefix(msg, "chans: ") {
					t.Fatalf("%s: release past the bound at the end: panic %q", logf(), msg)
				}
				continue
			}
			m.value += h.n
		}
	}
	if got, want := s.String(), (&semModel{value: m.value, bound: m.bound}).String(); got != want {
		t.Fatalf("%s: at the end %s, want %s", logf(), got, want)
	}
}

func FuzzRWLock(f *testing.F) {
	f.Add(uint8(0), []byte{0, 0, 1, 0, 5, 0, 5, 1, 6, 0, 5, 2, 8})
	f.Add(uint8(2), []byte{0, 0, 0, 1, 0, 4, 1, 5, 0, 6, 0, 8, 5, 2, 6, 1, 8})
	f.Add(uint8(1), []byte{1, 0, 0, 7, 0, 5, 1, 6, 1, 8, 3, 2, 8})
	f.Add(uint8(0), []byte{2, 3, 1, 0, 4, 1, 7, 2, 5, 3, 6, 0, 6, 0, 8})
	f.Fuzz(func(t *testing.T, maxReaders uint8, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzRWLock(t, int(maxReaders%4), ops)
		})
	})
}

// rwModel is an RWLock as plain data.
type rwModel struct {
	max, readers int
	writer       bool
	queue        []*fzHandle
}

func (m *rwModel) can(write bool) bool {
	if write {
		return !m.writer && m.readers == 0
	}
	return !m.writer && (m.max == 0 || m.readers < m.max)
}

func (m *rwModel) take(write bool) {
	if write {
		m.writer = true
	} else {
		m.readers++
	}
}

func (m *rwModel) give(write bool) {
	if write {
		m.writer = false
	} else {
		m.readers--
	}
}

func (m *rwModel) dispatch() {
	for len(m.queue) > 0 && m.can(m.queue[0].write) {
		h := m.queue[0]
		m.queue = m.queue[1:]
		m.take(h.write)
		h.state = fzGranted
	}
}

func (m *rwModel) String() string {
	limit := "inf"
	if m.max > 0 {
		limit = fmt.Sprint(m.max)
	}
	return fmt.Sprintf("RWLock(readers=%d/%s, writer=%t, waiters=%d)", m.readers, limit, m.writer, len(m.queue))
}

func fuzzRWLock(t *testing.T, maxReaders int, ops []byte) {
	l := NewRWLock(maxReaders)
	m := &rwModel{max: maxReaders}
	var hs []*fzHandle
	var log []string
	logf := func() string { return strings.Join(log, "; ") }
	o := &fzOps{b: ops}
	pick := func() *fzHandle {
		if len(hs) == 0 {
			return nil
		}
		return hs[o.next(len(hs))]
	}
	kind := func(write bool) string {
		if write {
			return "Write"
		}
		return "Read"
	}
	for o.more() && len(log) < 200 {
		switch op := o.next(9); op {
		case 0, 1: // AcquireRead, AcquireWrite
			write := op == 1
			log = append(log, "Acquire"+kind(write))
			ctx, cancel := context.WithCancel(context.Background())
			h := &fzHandle{write: write, cancel: cancel}
			if write {
				h.ch = l.AcquireWrite(ctx)
			} else {
				h.ch = l.AcquireRead(ctx)
			}
			hs = append(hs, h)
			m.queue = append(m.queue, h)
			m.dispatch()
		case 2, 3: // TryAcquireRead, TryAcquireWrite
			write := op == 3
			log = append(log, "TryAcquire"+kind(write))
			var rel Release
			var ok bool
			if write {
				rel, ok = l.TryAcquireWrite()
			} else {
				rel, ok = l.TryAcquireRead()
			}
			want := len(m.queue) == 0 && m.can(write)
			if ok != want {
				t.Fatalf("%s: TryAcquire%s = %v, model %v (%v)", logf(), kind(write), ok, want, m)
			}
			if ok {
				m.take(write)
				hs = append(hs, &fzHandle{write: write, rel: rel, state: fzHeld, cancel: func() {}})
			}
		case 4, 7: // end a ctx; 7 then calls in before the AfterFunc can run
			h := pick()
			if h == nil {
				continue
			}
			log = append(log, fmt.Sprintf("cancel#%d", slices.Index(hs, h)))
			h.cancel()
			if op == 7 {
				l.Readers()
			}
			switch h.state {
			case fzQueued:
				m.queue = slices.DeleteFunc(m.queue, func(x *fzHandle) bool { return x == h })
				h.state = fzDone
			case fzGranted:
				m.give(h.write) // all or nothing: a cancelled writer holds nothing
				h.state = fzDone
			}
			m.dispatch()
		case 5: // receive
			h := pick()
			if h == nil || h.state == fzQueued || h.ch == nil {
				continue
			}
			log = append(log, fmt.Sprintf("recv#%d", slices.Index(hs, h)))
			rel, ok := <-h.ch
			if ok != (h.state == fzGranted) {
				t.Fatalf("%s: receive ok=%v in state %d", logf(), ok, h.state)
			}
			if ok {
				h.rel, h.state = rel, fzHeld
			}
		case 6: // release
			h := pick()
			if h == nil || (h.state != fzHeld && h.state != fzReleased) {
				continue
			}
			log = append(log, fmt.Sprintf("release#%d", slices.Index(hs, h)))
			msg := panicText(h.rel)
			if h.state == fzReleased {
				if !strings.HasPrefix(msg, "chans: ") {
					t.Fatalf("%s: second release: panic %q", logf(), msg)
				}
				continue
			}
			if msg != "" {
				t.Fatalf("%s: release panicked: %s", logf(), msg)
			}
			h.state = fzReleased
			m.give(h.write)
			m.dispatch()
		case 8:
			log = append(log, "check")
			if got := l.String(); got != m.String() {
				t.Fatalf("%s: String() = %s, model %s", logf(), got, m)
			}
			if want := len(m.queue) > 0 || !m.can(false); l.Locked() != want {
				t.Fatalf("%s: Locked() = %v, model %v", logf(), l.Locked(), want)
			}
		}
		synctest.Wait()
		if r := l.Readers(); r != m.readers {
			t.Fatalf("%s: Readers() = %d, model %d", logf(), r, m.readers)
		}
		fzCheckHandles(t, hs, logf)
	}
	for _, h := range hs {
		h.cancel()
	}
	synctest.Wait()
	for _, h := range hs {
		if h.state == fzHeld {
			h.rel()
		}
	}
	if got, want := l.String(), (&rwModel{max: maxReaders}).String(); got != want {
		t.Fatalf("%s: at the end %s, want %s", logf(), got, want)
	}
}
