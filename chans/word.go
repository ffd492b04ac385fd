package chans

// Lock, RWLock and Semaphore keep their state in one atomic word with a slow
// bit: while it is clear, acquires and releases change the word with one
// compare-and-swap and no mutex; while it is set, every call takes the mutex.

// atomicWord is an atomic.Uint64 or atomic.Int64, seen through the two
// methods the slow bit needs.
type atomicWord[W int64 | uint64] interface {
	Load() W
	CompareAndSwap(old, new W) bool
}

// setSlow sets the slow bit of the word (on) or clears it. The caller holds
// the primitive's mutex; the loop is for the fast paths, which may change
// the word meanwhile while the bit is clear.
func setSlow[W int64 | uint64](w atomicWord[W], slow W, on bool) {
	for {
		old := w.Load()
		want := old &^ slow
		if on {
			want |= slow
		}
		if old == want || w.CompareAndSwap(old, want) {
			return
		}
	}
}

// fastOutcome is what a Try's lock-free path found. The Try must decide from
// one load of the word: the tempting version tries the fast path and, when
// it fails, loads the word again to see whether the mutex has anything to
// add, and so fails a Try whose first load saw the slow bit (a first call,
// or a waiter leaving) and whose second saw it clear and the grant free.
type fastOutcome uint8

const (
	fastSlow    fastOutcome = iota // the slow bit is set: the mutex decides
	fastTaken                      // taken with one compare-and-swap
	fastRefused                    // the word alone says no: held, or too few free
)
