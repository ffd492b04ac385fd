package chans

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// Tracking is what a primitive does when somebody needs to know who holds it
// and who waits: it records, per waiter and per grant, the stack of the call
// that asked, and it keeps every grant in sight until its Release (Lock,
// RWLock, Semaphore) or its receipt (the others). It is off by default and
// costs nothing then beyond a nil check on paths that already take the
// mutex. A tracked Lock, RWLock or Semaphore keeps its slow bit set, so its
// one-CAS fast path is never taken and no grant escapes the record; each
// call then takes the mutex, and each tracked call that waits or is granted
// captures its stack (runtime.Callers, a microsecond or so), formatted only
// when somebody looks.

// Trackable is any primitive of this package: Lock, RWLock, Semaphore,
// Condition, Event, Result, Queue, Mailbox, Signal, Barrier and TaskGroup.
// No other type can implement it.
type Trackable interface {
	// Stats reports the primitive's holders and waiters; see [Stats].
	Stats() Stats

	mutex() *sync.Mutex       // the primitive's mutex; nil for a nil primitive
	tracking() *tracking      // its tracking, or nil; the mutex is held
	retrack(t *tracking)      // tracks it as t (nil: stops); the mutex is held
	strand(c *strandCheck)    // the detector's look at its grants; the mutex is held
	weakly() func() Trackable // a reference that does not keep it alive
}

// tracking is a tracked primitive's entry: shared by its waiter queues, and
// changed only under the primitive's mutex.
type tracking struct {
	name, kind string
	id         uint64 // in the registry; 0 for a TaskGroup's own semaphore, which is not listed apart
	auto       bool   // tracked by TrackAll, not by name
	child      bool   // a TaskGroup's semaphore: its slots are the group's to show, not held grants
}

// trackAll is set by TrackAll. It is read at a primitive's first call that
// takes its mutex (see born; a fresh Lock or RWLock always takes it, see
// lockBorn), by constructors and by callers that queue: never by a fast
// path.
var trackAll atomic.Bool

// init reads TURNSTILE_TRACK once: a true value (as strconv.ParseBool reads
// it: 1, t, true...) turns TrackAll on before main runs.
func init() {
	v := os.Getenv("TURNSTILE_TRACK")
	if v == "" {
		return
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		slog.Warn("chans: TURNSTILE_TRACK is not a boolean; tracking stays off", "TURNSTILE_TRACK", v)
		return
	}
	TrackAll(on)
}

// Track starts tracking p under name (a name made from p's kind and the
// caller's file and line if name is ""), or renames p if it is tracked
// already. A tracked primitive is listed by [Tracked] and on the debug page
// (package github.com/turnstile-go/turnstile/debug); its waiters and grants
// carry the stacks of their calls from now on; the stranded-grant detector
// watches its grants. The registry holds p weakly: a tracked primitive that
// becomes unreachable is collected as if it were not tracked, and drops out
// of the list. Track panics if p is nil.
//
// While p is tracked every call on it takes its mutex, and each call that
// waits or is granted takes its stack: keep tracking for the primitives you
// are looking at, or for a debugging run (TrackAll).
func Track(p Trackable, name string) {
	mu := mutexOf(p, "Track")
	mu.Lock()
	defer mu.Unlock()
	startTracking(p, name, false)
}

// Untrack stops tracking p: it leaves the registry and forgets what it
// recorded, and a Lock, RWLock or Semaphore gets its fast path back once
// nothing else keeps it slow. Untrack of a primitive that is not tracked
// does nothing. It panics if p is nil.
func Untrack(p Trackable) {
	mu := mutexOf(p, "Untrack")
	mu.Lock()
	defer mu.Unlock()
	stopTracking(p)
}

// TrackAll turns tracking on (or off) for every primitive: while it is on,
// each primitive is tracked from the first call that takes its mutex, or
// from its constructor, under a name made from its kind and the file and
// line of that call ("Lock@server.go:41"). A fresh Lock or RWLock takes its
// mutex on its first call, so none is missed, even one used only
// uncontended; a Semaphore is tracked by its constructor (a zero Semaphore
// by its first call that takes the mutex: an acquire that waits, a Stats; one
// given its permits by Release and then only acquired at once is missed); a
// Result once somebody waits for it (a settled Result nobody waits for is
// not worth a line). Primitives already in use when TrackAll(true) is called
// stay as they are: track them by name. TrackAll(false) stops tracking every
// primitive that TrackAll started to track; those tracked by name stay
// tracked.
//
// Setting the environment variable TURNSTILE_TRACK=1 calls TrackAll(true)
// when the package is initialized, before main runs.
func TrackAll(on bool) {
	trackAll.Store(on)
	if on {
		reg.mu.Lock()
		reg.ensureDetector()
		reg.mu.Unlock()
		return
	}
	for _, p := range trackedNow() {
		mu := p.mutex()
		mu.Lock()
		if t := p.tracking(); t != nil && t.auto {
			stopTracking(p)
		}
		mu.Unlock()
	}
	reg.mu.Lock()
	reg.stopIfIdle()
	reg.mu.Unlock()
}

// Tracked returns the Stats of every tracked primitive that is still
// reachable, by name (then by ID). Each is read under its own mutex, one
// after the other, not at one instant for all.
func Tracked() []Stats {
	ps := trackedNow()
	out := make([]Stats, 0, len(ps))
	for _, p := range ps {
		if s := p.Stats(); s.ID != 0 { // untracked meanwhile if 0
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Stats) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// SetStrandedAfter sets how long a grant may sit in its channel, unreceived,
// for a caller whose ctx cannot end, before the stranded-grant detector
// reports it, and returns the previous setting. The default is 10 seconds;
// 0 turns the detector off.
//
// Such a grant is never taken back: the lock, permits, item or message are
// stuck with a caller that walked away (typically a select whose other case
// won, around a wait made with context.Background). The detector reports it
// once, with the stack of the call that asked for it, through log/slog (see
// [SetStrandedLogger]) and in Stats (Holder.Stranded, Stats.Stranded). It
// sees only tracked primitives, since an untracked one does not keep sight
// of a grant made to a ctx that cannot end. It is one goroutine for all of
// them, started when tracking starts and stopped when nothing is tracked any
// more (and TrackAll is off); it looks every quarter of the threshold (at
// most every second), so a stranded grant is reported between one and about
// one and a half thresholds after it was sent.
func SetStrandedAfter(d time.Duration) time.Duration {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	old := reg.after
	reg.after = max(d, 0)
	reg.ensureDetector()
	reg.stopIfIdle()
	return old
}

// SetStrandedLogger sets the logger the detector reports stranded grants to
// (nil: slog.Default()), and returns the previous one.
func SetStrandedLogger(l *slog.Logger) *slog.Logger {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	old := reg.logger
	reg.logger = l
	return old
}

// mutexOf returns p's mutex, panicking if p is nil.
func mutexOf(p Trackable, fn string) *sync.Mutex {
	var mu *sync.Mutex
	if p != nil {
		mu = p.mutex()
	}
	if mu == nil {
		panic("chans: " + fn + " of a nil primitive")
	}
	return mu
}

// startTracking tracks p (its mutex held): by name, or, with auto, for
// TrackAll, in which case a primitive already tracked is left alone.
func startTracking(p Trackable, name string, auto bool) {
	if t := p.tracking(); t != nil {
		if !auto {
			if name != "" {
				t.name = name
			}
			t.auto = false
		}
		return
	}
	t := &tracking{name: name, auto: auto}
	p.retrack(t)
	if t.name == "" {
		t.name = t.kind + "@" + where()
	}
	reg.add(t, p.weakly())
}

// stopTracking stops tracking p; its mutex is held.
func stopTracking(p Trackable) {
	if t := p.tracking(); t != nil {
		p.retrack(nil)
		reg.remove(t.id)
	}
}

// trackAtBirth tracks a primitive made by a constructor, if TrackAll is on:
// a Semaphore may otherwise serve its whole life on its fast path without
// ever taking its mutex, and a TaskGroup made by NewTaskGroup has no first
// call of its own to notice.
func trackAtBirth(p Trackable) {
	if trackAll.Load() {
		mu := p.mutex()
		mu.Lock()
		startTracking(p, "", true)
		mu.Unlock()
	}
}

// born runs at the first bind of a waitq, with the mutex held: the first
// call that takes the primitive's mutex; o is the waitq's owner. A Result
// waits for a waiter (see bornWaiting); a Queue's putters' waitq has no
// owner of its own to track. It is not generic, so that bind, which every
// call makes, stays as small as it was.
func born(o any) {
	if !trackAll.Load() {
		return
	}
	if _, ok := o.(interface{ trackedOnWait() }); ok {
		return
	}
	if p, ok := o.(Trackable); ok {
		startTracking(p, "", true) // does nothing if p is tracked
	}
}

// attach is bind without the birth: retrack binds without tracking again.
func (q *waitq[T]) attach(mu *sync.Mutex, o owner[T]) {
	if q.mu == nil {
		q.mu, q.o = mu, o
	}
}

// setTracking tracks q as t (nil: not), its grants held until a Release if
// holds, their Release wrapped by wrap.
func (q *waitq[T]) setTracking(t *tracking, holds bool, wrap func(T, *grantRec[T]) T) {
	if t == nil {
		holds, wrap = false, nil
		q.st.recs.clear()
	}
	q.st.tr, q.st.holds, q.st.wrap = t, holds, wrap
	q.st.stamp = q.st.stamp || t != nil
}

// A grantRec is a tracked grant: who asked (the stack), when it was made,
// and where it waits to be received. Its fields change under the
// primitive's mutex.
type grantRec[T any] struct {
	next, prev *grantRec[T]
	listed     bool

	at        int64  // nanotime of the grant
	stack     Stack  // where the caller asked
	ch        chan T // the channel it was sent on; nil if returned directly (received)
	n         int    // see ask
	write     bool   // see ask
	exclusive bool   // taken back if its ctx ends unreceived; a final grant is not recorded unless held
	canEnd    bool   // the caller's ctx can end
	released  bool   // its (wrapped) Release was called
	seen      int64  // the detector first saw it unreceived (the detector's nanotime)
	stranded  bool   // reported by the detector
}

// unreceived reports whether the grant still sits in its channel.
func (r *grantRec[T]) unreceived() bool { return len(r.ch) == 1 } // nil (received at once): 0

// trackGrant records a grant sent to w, a waiter that queued or was made
// for a call granted at once (its stack was taken at its call). Grants that
// are not held (an item, a message) are recorded only if exclusive and
// received by a channel, since only those can be stranded.
func (q *waitq[T]) trackGrant(w *waiter[T], v T, h hold) T {
	if !q.st.holds && (h != exclusive || w.kind == byBlocking) {
		return v
	}
	r := &grantRec[T]{at: nanotime(), stack: w.stack(), n: w.n, write: w.write, exclusive: h == exclusive, canEnd: w.watch != unwatched}
	if w.kind == byChannel {
		r.ch = w.ch
	}
	w.tracked().rec = r
	return q.record(r, v)
}

// trackNow records a grant made at the call, in the caller's goroutine, on
// a channel that no waiter keeps (see now).
func (q *waitq[T]) trackNow(ch chan T, ctx context.Context, a ask[T], v T, h hold) T {
	if !q.st.holds && h != exclusive {
		return v
	}
	r := &grantRec[T]{at: nanotime(), stack: callers(), ch: ch, n: a.n, write: a.write, exclusive: h == exclusive, canEnd: ctx.Done() != nil}
	return q.record(r, v)
}

// trackDirect records a held grant returned directly, in the caller's
// goroutine.
func (q *waitq[T]) trackDirect(v T, a ask[T]) T {
	if !q.st.holds {
		return v // an item or a message returned is received
	}
	r := &grantRec[T]{at: nanotime(), stack: callers(), n: a.n, write: a.write, exclusive: true}
	return q.record(r, v)
}

// record keeps r and returns v, wrapped if the waitq wraps its grants.
func (q *waitq[T]) record(r *grantRec[T], v T) T {
	q.st.prune()
	q.st.recs.push(r)
	if q.st.wrap != nil {
		v = q.st.wrap(v, r)
	}
	return v
}

// prune forgets the records of grants that are not held and were received.
// It keeps the list as long as the grants in doubt, so the cost of a
// tracked grant stays O(unreceived grants).
func (st *qstats[T]) prune() {
	if st.holds {
		return
	}
	for r := st.recs.head; r != nil; {
		next := r.next
		if !r.unreceived() {
			st.recs.remove(r)
		}
		r = next
	}
}

// wrapRelease makes a held grant's Release drop its record (Semaphore and
// RWLock, whose grants are not numbered as a Lock's are). The record goes
// first, under the mutex; if the Release then panics with the grant still
// out (a bounded Semaphore's over-release), it comes back.
func wrapRelease(q *waitq[Release]) func(Release, *grantRec[Release]) Release {
	return func(rel Release, r *grantRec[Release]) Release {
		return func() {
			q.mu.Lock()
			first := !r.released
			r.released = true
			q.st.recs.remove(r)
			q.mu.Unlock()
			if !first {
				rel() // a second call: rel panics
				return
			}
			ok := false
			defer func() {
				if !ok {
					q.mu.Lock()
					r.released = false
					if q.st.tr != nil {
						q.st.recs.push(r)
					}
					q.mu.Unlock()
				}
			}()
			rel()
			ok = true
		}
	}
}

// recList is a doubly linked list of records.
type recList[T any] struct {
	head, tail *grantRec[T]
	n          int
}

func (l *recList[T]) push(r *grantRec[T]) {
	r.prev, r.next, r.listed = l.tail, nil, true
	if l.tail == nil {
		l.head = r
	} else {
		l.tail.next = r
	}
	l.tail = r
	l.n++
}

// remove takes r out; it does nothing if r is not listed.
func (l *recList[T]) remove(r *grantRec[T]) {
	if !r.listed {
		return
	}
	if r.prev == nil {
		l.head = r.next
	} else {
		r.prev.next = r.next
	}
	if r.next == nil {
		l.tail = r.prev
	} else {
		r.next.prev = r.prev
	}
	r.next, r.prev, r.listed = nil, nil, false
	l.n--
}

func (l *recList[T]) clear() {
	for l.head != nil {
		l.remove(l.head)
	}
}

// ---- The registry and the stranded-grant detector

// registry lists the tracked primitives, and holds the state of the
// detector that watches them. Lock order: a primitive's mutex, then mu;
// never the other way, so mu is never held while a primitive is called.
type registry struct {
	mu      sync.Mutex
	next    uint64
	entries map[uint64]func() Trackable // weak references, by tracking id
	after   time.Duration               // SetStrandedAfter
	logger  *slog.Logger                // SetStrandedLogger
	gen     uint64                      // the detector's generation: a detector of a stale one exits
	running bool                        // a detector of the current generation runs
	wake    chan struct{}               // closed to stop it at once
}

var reg = registry{after: 10 * time.Second}

// add registers t, the tracking of the primitive get refers to, and starts
// the detector if it is not running.
func (r *registry) add(t *tracking, get func() Trackable) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	t.id = r.next
	if r.entries == nil {
		r.entries = make(map[uint64]func() Trackable)
	}
	r.entries[t.id] = get
	r.ensureDetector()
}

// remove forgets the primitive tracked as id, and stops the detector if
// nothing is tracked any more.
func (r *registry) remove(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.entries, id)
	r.stopIfIdle()
}

// ensureDetector starts a detector if there is something to watch (a
// tracked primitive, or TrackAll on) and none runs. r.mu is held.
func (r *registry) ensureDetector() {
	if r.running || r.after <= 0 || len(r.entries) == 0 && !trackAll.Load() {
		return
	}
	r.running = true
	r.gen++
	r.wake = make(chan struct{})
	go detect(r.gen, r.wake)
}

// stopIfIdle stops the detector if there is nothing to watch: it moves the
// generation on and wakes the detector, which exits. r.mu is held.
func (r *registry) stopIfIdle() {
	if r.running && (r.after <= 0 || len(r.entries) == 0 && !trackAll.Load()) {
		r.stop()
	}
}

// stop stops the detector; r.mu is held.
func (r *registry) stop() {
	r.running = false
	r.gen++
	close(r.wake)
	r.wake = nil
}

// trackedNow returns every tracked primitive still reachable, and forgets
// those that were collected.
func trackedNow() []Trackable {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	ps := make([]Trackable, 0, len(reg.entries))
	for id, get := range reg.entries {
		if p := get(); p != nil {
			ps = append(ps, p)
		} else {
			delete(reg.entries, id)
		}
	}
	reg.stopIfIdle()
	return ps
}

// weakly returns a reference to p that does not keep it alive.
func weakly[P any, PT interface {
	*P
	Trackable
}](p PT) func() Trackable {
	wp := weak.Make((*P)(p))
	return func() Trackable {
		if v := wp.Value(); v != nil {
			return PT(v)
		}
		return nil
	}
}

// A strandCheck is one look of the detector: the primitives add what they
// find stranded.
type strandCheck struct {
	now   int64         // the detector's nanotime
	after time.Duration // the threshold
	found []strandedGrant
}

// strandedGrant is one report.
type strandedGrant struct {
	name, kind, ask string
	age             time.Duration
	stack           Stack
}

// strand looks at q's records for the detector: an exclusive grant to a
// caller whose ctx cannot end, unreceived at two looks at least after apart,
// is reported, once. Comparing two looks of the detector's own clock, rather
// than the grant's time with the detector's, keeps it right for primitives
// made in a synctest bubble, whose clock is not the detector's.
func (q *waitq[T]) strand(c *strandCheck, ask func(int, bool) string) {
	for r := q.st.recs.head; r != nil; r = r.next {
		switch {
		case r.stranded || !r.exclusive || r.canEnd:
		case !r.unreceived():
			r.seen = 0
		case r.seen == 0:
			r.seen = c.now
		case time.Duration(c.now-r.seen) >= c.after:
			r.stranded = true
			c.found = append(c.found, strandedGrant{name: q.st.tr.name, kind: q.st.tr.kind, ask: ask(r.n, r.write), age: time.Duration(nanotime() - r.at), stack: r.stack})
		}
	}
}

// detect is the detector: it looks at every tracked primitive every quarter
// of the threshold (at most every second, at least every 10ms) until its
// generation is stale or wake is closed.
func detect(gen uint64, wake <-chan struct{}) {
	tick := time.NewTimer(time.Hour)
	defer tick.Stop()
	for {
		reg.mu.Lock()
		if reg.gen != gen {
			reg.mu.Unlock()
			return
		}
		every := min(max(reg.after/4, 10*time.Millisecond), time.Second)
		reg.mu.Unlock()

		tick.Reset(every)
		select {
		case <-tick.C:
		case <-wake:
			return
		}

		reg.mu.Lock()
		stale := reg.gen != gen
		after, logger := reg.after, reg.logger
		reg.mu.Unlock()
		if stale {
			return
		}
		c := strandCheck{now: nanotime(), after: after}
		for _, p := range trackedNow() {
			mu := p.mutex()
			mu.Lock()
			p.strand(&c)
			mu.Unlock()
		}
		if logger == nil {
			logger = slog.Default()
		}
		for _, g := range c.found {
			logger.Warn("chans: stranded grant: sent to a caller that never received it, on a ctx that cannot end; it stays taken until the program ends (cancel the ctx of a wait abandoned in a select, or use selectx)",
				"primitive", g.name, "kind", g.kind, "grant", g.ask, "unreceived", g.age.Round(time.Millisecond).String(), "stack", g.stack.String())
		}
	}
}

// ---- Stacks

// A Stack is where a caller called into a primitive: the program counters
// runtime.Callers gave, formatted only when asked. The frames inside this
// package below its exported method (the waiter queue, the slow paths) are
// left out.
type Stack []uintptr

// A Frame is one call in a Stack.
type Frame struct {
	Function string // the function, with its package path
	File     string
	Line     int
}

// callers takes the stack of the current goroutine: at most 48 frames.
func callers() Stack {
	pc := make([]uintptr, 48)
	n := runtime.Callers(2, pc)
	return Stack(pc[:n:n])
}

// pkgPrefix is the prefix of this package's function names.
const pkgPrefix = "github.com/turnstile-go/turnstile/chans."

// Frames returns the calls, innermost first, starting at the method of this
// package that was called.
func (s Stack) Frames() []Frame {
	if len(s) == 0 {
		return nil
	}
	var out []Frame
	started := false
	fs := runtime.CallersFrames(s)
	for {
		f, more := fs.Next()
		if !started && (!strings.HasPrefix(f.Function, pkgPrefix) || exported(f.Function)) {
			started = true
		}
		if started {
			out = append(out, Frame{Function: f.Function, File: f.File, Line: f.Line})
		}
		if !more {
			return out
		}
	}
}

// exported reports whether the function of this package named fn is an
// exported function or method (not a closure inside one).
func exported(fn string) bool {
	last := fn[strings.LastIndexByte(fn, '.')+1:]
	return last != "" && last[0] >= 'A' && last[0] <= 'Z'
}

// String formats the stack as runtime/debug.Stack does: each function on a
// line, its file and line indented on the next.
func (s Stack) String() string {
	var b strings.Builder
	for _, f := range s.Frames() {
		b.WriteString(f.Function)
		b.WriteString("\n\t")
		b.WriteString(f.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte('\n')
	}
	return b.String()
}

// where names the caller's first frame outside this package, as
// "file.go:41", for the names TrackAll gives.
func where() string {
	pc := make([]uintptr, 32)
	fs := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := fs.Next()
		if !strings.HasPrefix(f.Function, pkgPrefix) || strings.HasPrefix(f.Function, pkgPrefix+"Test") {
			return filepath.Base(f.File) + ":" + strconv.Itoa(f.Line)
		}
		if !more {
			return "?"
		}
	}
}

// ---- What each primitive does for tracking (its Stats is at the end of its
// own file). retrack binds the waitqs without the birth (see attach), since it
// runs inside it, and re-syncs a fast-path bit, which tracking keeps set.

func (l *Lock) mutex() *sync.Mutex {
	if l == nil {
		return nil
	}
	return &l.mu
}
func (l *Lock) tracking() *tracking { return l.q.st.tr }
func (l *Lock) retrack(t *tracking) {
	if t != nil {
		t.kind = "Lock"
	}
	l.q.attach(&l.mu, l)
	l.q.setTracking(t, true, nil) // a Lock's Release finds its record by the grant number: see unlockSlow
	l.sync()
}
func (l *Lock) strand(c *strandCheck)    { l.q.strand(c, says("lock")) }
func (l *Lock) weakly() func() Trackable { return weakly(l) }

func (l *RWLock) mutex() *sync.Mutex {
	if l == nil {
		return nil
	}
	return &l.mu
}
func (l *RWLock) tracking() *tracking { return l.q.st.tr }
func (l *RWLock) retrack(t *tracking) {
	if t != nil {
		t.kind = "RWLock"
	}
	l.q.attach(&l.mu, l)
	l.q.setTracking(t, true, wrapRelease(&l.q))
	l.sync()
}
func (l *RWLock) strand(c *strandCheck)    { l.q.strand(c, readWrite) }
func (l *RWLock) weakly() func() Trackable { return weakly(l) }

func (s *Semaphore) mutex() *sync.Mutex {
	if s == nil {
		return nil
	}
	return &s.mu
}
func (s *Semaphore) tracking() *tracking { return s.q.st.tr }
func (s *Semaphore) retrack(t *tracking) {
	if t != nil && t.kind == "" {
		t.kind = "Semaphore"
	}
	s.q.attach(&s.mu, s)
	if t != nil && t.child {
		s.q.setTracking(t, false, nil) // the group gives slots back with give, not a Release
	} else {
		s.q.setTracking(t, true, wrapRelease(&s.q))
	}
	s.sync()
}

// twinGrant counts a grant that take made at once and, while the semaphore
// is tracked, makes its Release under the mutex, with its record (see take);
// otherwise it returns nil, and the twin makes the Release outside.
func (s *Semaphore) twinGrant(n int) Release {
	if s.q.st.tr == nil || !s.q.st.holds {
		s.q.st.grants++
		return nil
	}
	return s.q.noteDirect(s.releaser(n), ask[Release]{n: n})
}
func (s *Semaphore) strand(c *strandCheck)    { s.q.strand(c, permits) }
func (s *Semaphore) weakly() func() Trackable { return weakly(s) }

func (c *Condition) mutex() *sync.Mutex {
	if c == nil {
		return nil
	}
	return &c.mu
}
func (c *Condition) tracking() *tracking { return c.q.st.tr }
func (c *Condition) retrack(t *tracking) {
	if t != nil {
		t.kind = "Condition"
	}
	c.q.attach(&c.mu, c)
	c.q.setTracking(t, false, nil)
}
func (c *Condition) strand(k *strandCheck)    { c.q.strand(k, says("notification")) }
func (c *Condition) weakly() func() Trackable { return weakly(c) }

func (e *Event) mutex() *sync.Mutex {
	if e == nil {
		return nil
	}
	return &e.mu
}
func (e *Event) tracking() *tracking { return e.st.tr }
func (e *Event) retrack(t *tracking) {
	if t != nil {
		t.kind = "Event"
	}
	e.st.tr = t
}
func (e *Event) strand(*strandCheck)      {} // an Event grants nothing exclusive
func (e *Event) weakly() func() Trackable { return weakly(e) }

// eventStats is what an Event keeps for Stats and tracking.
type eventStats struct {
	tr   *tracking
	sets uint64 // Sets of a clear Event
	born bool   // the first call that took the mutex has been made
}

// noteBorn tracks the Event under TrackAll from its first call that takes
// the mutex (held).
func (e *Event) noteBorn() {
	if !e.st.born {
		e.st.born = true
		if trackAll.Load() {
			startTracking(e, "", true)
		}
	}
}

// noteSet counts a Set that sets a clear Event; the mutex is held.
func (e *Event) noteSet() {
	e.noteBorn()
	if !e.set.Load() {
		e.st.sets++
	}
}

func (r *Result[T]) mutex() *sync.Mutex {
	if r == nil {
		return nil
	}
	return &r.mu
}
func (r *Result[T]) tracking() *tracking {
	if r.q == nil {
		return nil
	}
	return r.q.st.tr
}
func (r *Result[T]) retrack(t *tracking) {
	if t != nil {
		t.kind = "Result"
	}
	r.waiters().setTracking(t, false, nil) // waiters binds it; born leaves a Result to bornWaiting
}
func (r *Result[T]) strand(*strandCheck)      {} // a Result's value is shared: nothing to strand
func (r *Result[T]) trackedOnWait()           {} // see born
func (r *Result[T]) weakly() func() Trackable { return weakly(r) }

// bornWaiting tracks a Result under TrackAll once somebody queues for it;
// the mutex is held.
func (q *waitq[T]) bornWaiting(w *waiter[T]) {
	if r, ok := q.o.(*Result[T]); ok && q.st.tr == nil && trackAll.Load() {
		startTracking(r, "", true)
		w.tracked().stack, w.since = callers(), nanotime()
	}
}

func (q *Queue[T]) mutex() *sync.Mutex {
	if q == nil {
		return nil
	}
	return &q.mu
}
func (q *Queue[T]) tracking() *tracking { return q.getters.st.tr }
func (q *Queue[T]) retrack(t *tracking) {
	if t != nil {
		t.kind = "Queue"
	}
	q.getters.attach(&q.mu, q)
	q.putters.attach(&q.mu, (*putOwner[T])(q))
	q.getters.setTracking(t, false, nil)
	q.putters.setTracking(t, false, nil)
}
func (q *Queue[T]) strand(c *strandCheck)    { q.getters.strand(c, says("item")) }
func (q *Queue[T]) weakly() func() Trackable { return weakly(q) }

func (b *Mailbox[M]) mutex() *sync.Mutex {
	if b == nil {
		return nil
	}
	return &b.mu
}
func (b *Mailbox[M]) tracking() *tracking { return b.q.st.tr }
func (b *Mailbox[M]) retrack(t *tracking) {
	if t != nil {
		t.kind = "Mailbox"
	}
	b.q.attach(&b.mu, b)
	b.q.setTracking(t, false, nil)
}
func (b *Mailbox[M]) strand(c *strandCheck)    { b.q.strand(c, says("message")) }
func (b *Mailbox[M]) weakly() func() Trackable { return weakly(b) }

func (s *Signal[T]) mutex() *sync.Mutex {
	if s == nil {
		return nil
	}
	return &s.mu
}
func (s *Signal[T]) tracking() *tracking { return s.q.st.tr }
func (s *Signal[T]) retrack(t *tracking) {
	if t != nil {
		t.kind = "Signal"
	}
	s.q.attach(&s.mu, s)
	s.q.setTracking(t, false, nil)
}
func (s *Signal[T]) strand(*strandCheck)      {} // values are shared: nothing to strand
func (s *Signal[T]) weakly() func() Trackable { return weakly(s) }

func (b *Barrier) mutex() *sync.Mutex {
	if b == nil {
		return nil
	}
	return &b.mu
}
func (b *Barrier) tracking() *tracking { return b.q.st.tr }
func (b *Barrier) retrack(t *tracking) {
	if t != nil {
		t.kind = "Barrier"
	}
	b.q.attach(&b.mu, b)
	b.q.setTracking(t, false, nil)
}
func (b *Barrier) strand(*strandCheck)      {} // indexes are final: nothing to strand
func (b *Barrier) weakly() func() Trackable { return weakly(b) }

func (g *TaskGroup[T]) mutex() *sync.Mutex {
	if g == nil {
		return nil
	}
	return &g.mu
}
func (g *TaskGroup[T]) tracking() *tracking { return g.st.tr }

// retrack tracks the group and, with it, its semaphore of slots, which is
// not listed apart (its waiters are the group's).
func (g *TaskGroup[T]) retrack(t *tracking) {
	if t != nil {
		t.kind = "TaskGroup"
	}
	g.st.tr = t
	if t == nil {
		g.st.stacks = nil
	}
	if g.sem == nil {
		return
	}
	g.sem.mu.Lock()
	defer g.sem.mu.Unlock()
	if old := g.sem.q.st.tr; old != nil && old.id != 0 {
		reg.remove(old.id) // tracked at its birth, under TrackAll
	}
	var st *tracking
	if t != nil {
		st = &tracking{name: "slots", kind: "Semaphore", child: true}
	}
	g.sem.retrack(st)
}
func (g *TaskGroup[T]) strand(*strandCheck)      {} // slots are received by the group itself
func (g *TaskGroup[T]) weakly() func() Trackable { return weakly(g) }

// groupStats is what a TaskGroup keeps for Stats and tracking.
type groupStats struct {
	tr         *tracking
	stamp      bool          // Stats was called, or tracking started: from now on tasks are stamped
	started    []int64       // per task once stamping, when it was recorded (nanotime); 0 once it is done, notStamped before stamping
	stacks     map[int]Stack // tracked: where each running task was submitted
	gaveUp     uint64        // starts that gave up waiting for a slot
	notStarted uint64        // tasks Go recorded without starting them
}

// notStamped marks a task recorded before anybody asked for Stats. (Not -1:
// nanotime may be negative, in a synctest bubble, whose clock starts in 2000.)
const notStamped = math.MinInt64

// noteStart stamps the task just recorded, submitted at stack if its caller
// took it (nil: here); g.mu is held.
func (g *TaskGroup[T]) noteStart(stack Stack) {
	i := len(g.tasks) - 1
	if !g.st.stamp && g.st.tr == nil {
		return // nobody has asked: no clock read, and no entry, per task
	}
	for len(g.st.started) < i {
		g.st.started = append(g.st.started, notStamped) // recorded before anybody asked
	}
	g.st.started = append(g.st.started, nanotime())
	if g.st.tr != nil {
		if g.st.stacks == nil {
			g.st.stacks = make(map[int]Stack)
		}
		if stack == nil {
			stack = callers()
		}
		g.st.stacks[i] = stack
	}
}

// noteDone books the end of a start or a task (see done); g.mu is held.
func (g *TaskGroup[T]) noteDone(i int, err error) {
	if i < 0 {
		g.st.gaveUp++
		return
	}
	if i < len(g.st.started) {
		g.st.started[i] = 0
	}
	delete(g.st.stacks, i)
	if err != nil && errors.Is(err, ErrNotStarted) {
		g.st.notStarted++
	}
}

// noteBorn tracks a group under TrackAll; g.mu is held.
func (g *TaskGroup[T]) noteBorn() {
	if trackAll.Load() && g.st.tr == nil {
		startTracking(g, "", true)
	}
}

// readWrite names an RWLock's grants.
func readWrite(_ int, write bool) string {
	if write {
		return "write"
	}
	return "read"
}
