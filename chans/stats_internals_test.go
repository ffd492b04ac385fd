package chans

import "testing"

// The looks that the tests of Stats and tracking (stats_test.go,
// track_test.go) take at unexported state, kept apart as internals_test.go
// keeps the others.

// slowBits reports whether the fast-path bit of each of a Lock, an RWLock
// and a Semaphore is set, read under their mutexes.
func slowBits(l *Lock, rw *RWLock, s *Semaphore) (lock, rwlock, sem bool) {
	l.mu.Lock()
	lock = l.state.Load()&lockSlow != 0
	l.mu.Unlock()
	rw.mu.Lock()
	rwlock = rw.state.Load()&rwSlow != 0
	rw.mu.Unlock()
	s.mu.Lock()
	sem = s.state.Load()&semSlow != 0
	s.mu.Unlock()
	return lock, rwlock, sem
}

// ownDetector starts a detector of the test's own, in the caller's synctest
// bubble, so that it sleeps on the bubble's clock; whatever detector ran
// before (TURNSTILE_TRACK starts one at init) is stopped. The test's
// detector is stopped at its end; call restartDetector outside the bubble
// afterwards to start one there again if something needs watching.
func ownDetector(t *testing.T) {
	reg.mu.Lock()
	if reg.running {
		reg.stop()
	}
	reg.running = true
	reg.gen++
	reg.wake = make(chan struct{})
	go detect(reg.gen, reg.wake)
	reg.mu.Unlock()
	t.Cleanup(func() {
		reg.mu.Lock()
		if reg.running {
			reg.stop()
		}
		reg.mu.Unlock()
	})
}

// restartDetector starts a detector outside any bubble if one is needed
// (after a test stopped its own).
func restartDetector() {
	reg.mu.Lock()
	reg.ensureDetector()
	reg.mu.Unlock()
}

// detectorRunning reports whether a detector of the current generation runs.
func detectorRunning() bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.running
}

// trackAllOff turns TrackAll off for the test (TURNSTILE_TRACK=1 turns it on
// for the whole run), so that an untracked primitive is untracked.
func trackAllOff(t testing.TB) {
	if trackAll.Load() {
		TrackAll(false)
		t.Cleanup(func() { TrackAll(true) })
	}
}

// groupSlotRecords counts the records of a TaskGroup's semaphore of slots.
func groupSlotRecords[T any](g *TaskGroup[T]) int {
	g.sem.mu.Lock()
	defer g.sem.mu.Unlock()
	return g.sem.q.st.recs.n
}
