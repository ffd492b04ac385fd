package etcd

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/dist"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file holds the one recipe every Lock, RWLock and Semaphore shares.
//
// A primitive called name is the set of keys under name+"/~/". Each waiter
// puts one key of its own, under its session's lease, with a unique name;
// the key's create revision orders the waiters (FIFO as the server recorded
// them) and is the fencing token of the grant it becomes. The key's value is
// the waiter's claim: exclusive (a Lock, an RWLock writer), or n permits of
// a given limit (a Semaphore's AcquireN, an RWLock reader: one of
// maxReaders).
//
// Who holds is a pure function of the keys: walk them in create-revision
// order, admitting each claim while it fits beside the ones admitted before
// it (an exclusive claim fits only first; n permits fit while the sum stays
// within the smallest limit seen so far); the first claim that does not fit
// is refused, and so is everything after it. So the holders are always a
// prefix of the queue (FIFO: a heavy waiter at the head holds back lighter
// ones behind it, a writer holds back later readers), and every session,
// looking at the same keys, agrees on them without asking anyone.
//
// The rule is monotone, which is what makes it safe to decide from a copy
// of the keys that may lag behind the server: keys are only ever added
// after every existing one, and deleting a key can only let the keys after
// it in. A waiter admitted at some revision stays admitted until its own key
// goes, and a session that decides late decides conservatively, never
// wrongly. Two tempting versions are wrong here: watching only the key just
// ahead (concurrency.Mutex) tells nothing when the watcher's own key is gone
// (etcd-io/etcd#19597: a waiter whose session expired waits on), and
// deciding from the keys ahead alone without checking one's own key still
// exists let two writers of recipe.RWMutex in after an expiry
// (etcd-io/etcd#16221). Here a waiter is admitted only while its own key is
// in the walk, and the watch covers the whole prefix, its own keys included.
//
// A session decides for its own waiters from a mirror of the keys, kept by
// one watch per primitive per session; a waiter costs one key and no
// goroutine. A release or a cancellation is decided locally at once: the
// entry is marked withdrawn, which the walks of its own session skip at
// once (so a waiter of the same session behind it is granted without a
// round trip, and Try and Locked see it gone), while the other sessions go
// on seeing the key, conservatively, until its fenced delete lands.

// lingerFor is how long a primitive's watch goes on after its session's last
// entry on it went: a watch started anew must catch up with the server,
// which takes etcd up to 100 ms for a watch that starts in the past, so a
// primitive used again soon keeps its watch.
const lingerFor = 10 * time.Second

// A claim is what a waiter asks for, stored as its key's value.
type claim struct {
	excl  bool  // alone: a Lock, an RWLock writer
	n     int64 // permits wanted, if not excl
	limit int64 // the permits of the primitive as the waiter sees it; 0 = no limit
}

// maxWeight bounds the permits one claim may ask for, so that sums of
// claims never overflow.
const maxWeight = 1 << 40

func (c claim) encode() string {
	if c.excl {
		return "x"
	}
	return fmt.Sprintf("%d/%d", c.n, c.limit)
}

// parseClaim reads a key's value. Anything it does not understand (a key
// put under the prefix by something else) counts as exclusive: it holds
// everyone back rather than letting anyone in wrongly.
func parseClaim(v []byte) claim {
	var c claim
	if string(v) == "x" {
		return claim{excl: true}
	}
	if _, err := fmt.Sscanf(string(v), "%d/%d", &c.n, &c.limit); err != nil ||
		c.n < 1 || c.n > maxWeight || c.limit < 0 || c.limit > maxWeight || (c.limit > 0 && c.n > c.limit) ||
		c.encode() != string(v) {
		return claim{excl: true}
	}
	return c
}

// A tally walks a primitive's keys in order and admits their claims.
type tally struct {
	n     int   // claims admitted
	sum   int64 // their permits
	limit int64 // the smallest limit among them; 0 while there is none
	full  bool  // a claim was refused: so is every later one
}

// admit reports whether c, next in line, is admitted.
func (t *tally) admit(c claim) bool {
	if t.full {
		return false
	}
	if c.excl {
		t.full = true // nothing after an exclusive claim, admitted or not
		if t.n == 0 {
			t.n = 1
			return true
		}
		return false
	}
	lim := t.limit
	if c.limit > 0 && (lim == 0 || c.limit < lim) {
		lim = c.limit
	}
	if lim > 0 && t.sum+c.n > lim {
		t.full = true
		return false
	}
	t.n++
	t.sum += c.n
	t.limit = lim
	return true
}

// An item is one key of the mirror.
type item struct {
	key string
	rev int64 // create revision
	c   claim
}

type entryState uint8

const (
	creating  entryState = iota + 1 // its put is on its way
	waiting                         // queued on the server, not admitted yet
	granted                         // a grant was made: in ch, received, or returned by a Try
	withdrawn                       // released or abandoned: its delete is on its way
	finished                        // nothing more will happen to it
)

// An entry is one of this session's keys on a primitive: a waiter, a
// holder, or a withdrawal on its way.
type entry struct {
	l     *line
	key   string
	rev   int64 // create revision once known: the grant's token
	state entryState
	early bool             // the key vanished while its put was answered
	ch    chan *dist.Grant // capacity 1: the grant, then closed
	stop  func() bool      // stops the context.AfterFunc, if registered
	lose  func()           // closes the grant's Lost
	after int64            // a reused name: the create revision of its last incarnation
}

// marker returns the name of e's marker key: put by the withdrawal of an
// entry whose put never answered, so that the put, if the server applies it
// late, finds it and creates nothing. It lives outside every primitive's
// prefix (name+"/~gone/..." is not under name+"/~/"), under the session's
// lease.
func (e *entry) marker() string {
	return e.l.name + "/~gone/" + strings.TrimPrefix(e.key, e.l.pfx)
}

// A line is a session's view of one primitive: its own entries and, while
// the watch runs, a mirror of all the primitive's keys.
type line struct {
	s    *Session
	name string
	pfx  string

	mu      sync.Mutex
	ended   bool
	mine    map[string]*entry
	waiting int // entries in state waiting

	// The mirror, while the watch runs.
	watching bool
	gen      uint64             // the watch's generation; events of an older one are dropped
	wstop    context.CancelFunc // ends the watch
	linger   *time.Timer        // stops an idle watch
	rev      int64              // the revision the mirror shows
	names    []used             // key names free for reuse
	order    []item             // by create revision
	at       map[string]int64   // key -> create revision, for the items in order
	resyncs  int                // snapshots taken after a failed watch (for tests)
}

func newLine(s *Session, name string) *line {
	return &line{s: s, name: name, pfx: name + "/~/", mine: make(map[string]*entry)}
}

// checkName panics on names that cannot be told apart from others' keys.
func checkName(name string) {
	if name == "" {
		panic("etcd: empty name")
	}
	if strings.IndexByte(name, 0) >= 0 {
		panic(fmt.Sprintf("etcd: name %q contains a NUL byte", name))
	}
	// Keys live under name+"/~/" (events at name+"/~event"): a name with
	// an element starting with ~ could reach into another name's keys.
	for el := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(el, "~") {
			panic(fmt.Sprintf("etcd: name %q has an element starting with ~, which is reserved", name))
		}
	}
}

// closedGrants is the answer of a wait that never queued.
var closedGrants = func() chan *dist.Grant {
	c := make(chan *dist.Grant)
	close(c)
	return c
}()

// acquire asks for c. A wait (try false) returns the entry's channel; a Try
// returns the grant or an error wrapping dist.ErrBusy. The call costs one
// round trip: a transaction that puts the waiter's key and reads all the
// primitive's keys at the same revision, so a free primitive is granted at
// once with no second request, and a busy one starts its session's watch
// from exactly that revision.
func (l *line) acquire(ctx context.Context, c claim, try bool) (<-chan *dist.Grant, *dist.Grant, error) {
	if err := ctx.Err(); err != nil {
		return closedGrants, nil, err // W4: a ctx that has ended fails the call
	}
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return closedGrants, nil, l.s.ended()
	}
	e := &entry{l: l, state: creating}
	e.key, e.after = l.newKey()
	l.mine[e.key] = e
	if l.linger != nil {
		l.linger.Stop()
	}
	l.mu.Unlock()

	// The put is conditional on the waiter's marker key not existing: a
	// request whose caller gave up may still be applied by the server
	// later, after its withdrawal (see withdraw), and must then create
	// nothing. A name is never reused after it got a marker; should one
	// refuse the put anyway, the waiter takes a fresh name.
	var resp *clientv3.TxnResponse
	var err error
	for range 2 {
		rctx, cancel := l.s.rpcContext(ctx)
		resp, err = l.s.cli.Txn(rctx).If(
			clientv3.Compare(clientv3.CreateRevision(e.marker()), "=", 0),
		).Then(
			clientv3.OpPut(e.key, c.encode(), clientv3.WithLease(l.s.lease)),
			clientv3.OpGet(l.pfx, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend)),
		).Commit()
		cancel()
		if err != nil || resp.Succeeded {
			break
		}
		err = fmt.Errorf("the waiter's key name %s was withdrawn before", e.key)
		l.mu.Lock()
		if l.mine[e.key] == e {
			delete(l.mine, e.key)
			e.key, e.after = l.s.newKey(l.pfx), 0
			l.mine[e.key] = e
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return closedGrants, nil, l.s.ended()
	}
	if err != nil {
		// The put may have landed without its answer: withdraw the key
		// by name, fenced on the lease (no other waiter has that name).
		l.withdraw(e)
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case l.s.ended() != nil:
			err = l.s.ended()
		default:
			err = fmt.Errorf("etcd: %s: %w", l.name, err)
		}
		return closedGrants, nil, err
	}
	e.rev = resp.Header.Revision
	if e.early {
		l.forget(e, false)
		return closedGrants, nil, fmt.Errorf("etcd: %s: key deleted as it was made: %w", l.name, dist.ErrNotHeld)
	}
	if err := ctx.Err(); err != nil {
		l.withdraw(e)
		return closedGrants, nil, err
	}
	kvs := resp.Responses[1].GetResponseRange().Kvs
	admitted := l.admittedIn(kvs, e.key, e.rev)
	if try {
		if !admitted {
			l.withdraw(e)
			return nil, nil, fmt.Errorf("etcd: %s: %w", l.name, dist.ErrBusy)
		}
		e.state = granted
		return nil, l.newGrant(e), nil
	}
	e.ch = make(chan *dist.Grant, 1)
	if admitted {
		l.grant(e)
	} else {
		e.state = waiting
		l.waiting++
		if l.watching {
			l.dispatch() // the mirror may be ahead of the snapshot already
		} else {
			l.startWatch(kvs, e.rev)
		}
	}
	if ctx.Done() != nil {
		e.stop = context.AfterFunc(ctx, func() { l.abandon(e) })
	}
	return e.ch, nil, nil
}

// admittedIn walks a snapshot of the keys, as this session sees them (its
// withdrawn keys skipped), and reports whether key is admitted.
func (l *line) admittedIn(kvs []*mvccpb.KeyValue, key string, rev int64) bool {
	var t tally
	for _, kv := range kvs {
		k := string(kv.Key)
		if e := l.own(k, kv.CreateRevision); e != nil && e.state == withdrawn {
			continue
		}
		ok := t.admit(parseClaim(kv.Value))
		if k == key && kv.CreateRevision == rev {
			return ok
		}
		if !ok {
			return false
		}
	}
	return false // our own key is not there: it went already
}

// newGrant makes e's grant, whose token is its key's create revision.
func (l *line) newGrant(e *entry) *dist.Grant {
	g, lose := dist.NewGrant(e.rev, func() { l.release(e) })
	e.lose = lose
	return g
}

// grant hands e its grant through its channel, which is then closed.
func (l *line) grant(e *entry) {
	if e.state == waiting {
		l.waiting--
	}
	e.state = granted
	e.ch <- l.newGrant(e)
	close(e.ch)
}

// dispatch grants to this session's waiters that the mirror admits.
func (l *line) dispatch() {
	if !l.watching || l.waiting == 0 {
		return
	}
	var t tally
	for _, it := range l.order {
		e := l.own(it.key, it.rev)
		if e != nil && e.state == withdrawn {
			continue
		}
		if !t.admit(it.c) {
			return
		}
		if e != nil && e.state == waiting {
			l.grant(e)
		}
	}
}

// abandon runs when the ctx of e's wait ends. A queued waiter leaves: its
// channel is closed at once and its key withdrawn afterwards. A grant still
// sitting in the channel is received here and given back; whichever of the
// caller and abandon receives first owns it, so it is never lost and never
// held twice.
func (l *line) abandon(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e.state {
	case waiting:
		l.waiting--
		close(e.ch)
		l.withdraw(e)
		l.dispatch() // e may have held back waiters behind it
	case granted:
		if _, ok := <-e.ch; ok { // never blocks: the channel is closed
			l.withdraw(e)
			l.dispatch()
		}
	}
}

// release gives back e's grant (Grant.Release).
func (l *line) release(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.state != granted {
		return // lost already: nothing to give back
	}
	l.withdraw(e)
	l.dispatch()
}

// withdraw marks e withdrawn and queues the fenced delete of its key.
func (l *line) withdraw(e *entry) {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
	e.state = withdrawn
	l.s.settle(e)
}

// settled runs once e's delete has landed.
func (l *line) settled(e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.state != withdrawn {
		return
	}
	if rev, ok := l.at[e.key]; l.watching && ((ok && rev == e.rev) || l.rev < e.rev) {
		// The watch has yet to see the key go (or come): it forgets e
		// then, and until then this session's walks skip the key.
		return
	}
	l.forget(e, true)
}

// forget drops e; an idle line's watch stops after a while. If reuse, e's
// key name goes back to the line for a later waiter of this session: the
// delete of e's incarnation has landed and the mirror, if any, is past it.
//
// Reusing names matters for the server: etcd keeps every deleted key in its
// index until a compaction, so a fresh name per waiter would make each read
// of the primitive's range slower than the last; with reuse a session's
// names are as many as its waiters at once. It is safe because every delete
// is fenced on the create revision of the incarnation it was made for
// (etcd-io/etcd#22082 is the same reuse without the fence). Names whose put
// never answered are not reused: their marker would refuse them.
func (l *line) forget(e *entry, reuse bool) {
	e.state = finished
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
	delete(l.mine, e.key)
	if reuse && e.rev > 0 && len(l.names) < maxNames {
		l.names = append(l.names, used{e.key, e.rev})
	}
	if len(l.mine) == 0 && l.watching {
		gen := l.gen
		if l.linger != nil {
			l.linger.Stop()
		}
		l.linger = time.AfterFunc(lingerFor, func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.gen == gen && l.watching && len(l.mine) == 0 {
				l.stopWatch()
			}
		})
	}
}

// maxNames bounds the key names a line keeps for reuse.
const maxNames = 64

// A used name is free for reuse; rev is its last incarnation's create
// revision.
type used struct {
	key string
	rev int64
}

// newKey returns a key name for a new waiter: one this session used before
// and settled, with the create revision of its last incarnation, or a new
// one.
func (l *line) newKey() (string, int64) {
	if n := len(l.names); n > 0 {
		u := l.names[n-1]
		l.names = l.names[:n-1]
		return u.key, u.rev
	}
	return l.s.newKey(l.pfx), 0
}

// own returns this session's entry for the incarnation of key created at
// rev, or nil. A reused name may still show its last incarnation in a
// snapshot that is older than its delete (another acquire's): that one is
// not the entry's, and neither are its events. An entry whose create
// revision is not known yet owns every incarnation after its name's last.
func (l *line) own(key string, rev int64) *entry {
	e := l.mine[key]
	if e == nil || (e.rev != rev && (e.rev != 0 || rev <= e.after)) {
		return nil
	}
	return e
}

// vanished handles one of this session's keys that the server no longer
// has, although the session did not withdraw it: its lease ended, or
// something deleted it.
func (l *line) vanished(e *entry) {
	switch e.state {
	case creating:
		e.early = true
		return
	case waiting:
		l.waiting--
		close(e.ch)
	case granted:
		if e.ch != nil {
			if _, ok := <-e.ch; ok {
				break // never received: nobody to tell
			}
		}
		e.lose()
	}
	l.forget(e, false)
}

// startWatch builds the mirror from a snapshot at rev and starts the watch
// from the next revision.
func (l *line) startWatch(kvs []*mvccpb.KeyValue, rev int64) {
	l.watching = true
	l.gen++
	ctx, cancel := context.WithCancel(l.s.ctx)
	l.wstop = cancel
	l.reset(l.gen, kvs, rev)
	l.resyncs = 0
	l.s.wg.Add(1)
	go l.follow(ctx, l.gen, rev)
}

func (l *line) stopWatch() {
	l.wstop()
	l.watching = false
	l.gen++
	l.order, l.at = nil, nil
}

// follow runs the primitive's watch for generation gen, from revision
// from+1. If the watch fails (the revision it must resume from was
// compacted, or the server cancelled it), follow takes a fresh snapshot and
// starts again from there; since the walk depends only on the keys that
// exist, nothing that happened in between matters but its result.
func (l *line) follow(ctx context.Context, gen uint64, from int64) {
	defer l.s.wg.Done()
	for {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := l.s.cli.Watch(wctx, l.pfx, clientv3.WithPrefix(), clientv3.WithRev(from+1))
		live := true
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			if live = l.apply(gen, wr.Events, wr.Header.Revision); !live {
				break
			}
		}
		cancel()
		if !live || ctx.Err() != nil {
			return
		}
		if from = l.resync(ctx, gen); from < 0 {
			return
		}
	}
}

// resync takes a fresh snapshot of the keys for generation gen, retrying
// until it has one. It returns the snapshot's revision, or -1 if the watch
// was stopped meanwhile.
func (l *line) resync(ctx context.Context, gen uint64) int64 {
	backoff := 20 * time.Millisecond
	for {
		gctx, cancel := context.WithTimeout(ctx, l.s.rpcTimeout())
		resp, err := l.s.cli.Get(gctx, l.pfx, clientv3.WithPrefix(),
			clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
		cancel()
		if err == nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			if gen != l.gen || l.ended {
				return -1
			}
			l.resyncs++
			l.reset(gen, resp.Kvs, resp.Header.Revision)
			return resp.Header.Revision
		}
		select {
		case <-ctx.Done():
			return -1
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// reset replaces the mirror with a snapshot at rev, settles this session's
// entries that the snapshot shows gone, and grants what it admits.
func (l *line) reset(gen uint64, kvs []*mvccpb.KeyValue, rev int64) {
	l.order = l.order[:0]
	l.at = make(map[string]int64, len(kvs))
	for _, kv := range kvs {
		l.insert(kv)
	}
	l.rev = rev
	for _, e := range l.mine {
		if r, ok := l.at[e.key]; (ok && r == e.rev) || e.rev == 0 || e.rev > rev {
			continue
		}
		if e.state == withdrawn {
			l.forget(e, true) // its delete landed
		} else {
			l.vanished(e)
		}
	}
	l.dispatch()
}

// apply applies one watch response of generation gen and reports whether
// that generation is still the line's.
func (l *line) apply(gen uint64, evs []*clientv3.Event, rev int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.gen || l.ended {
		return false
	}
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		switch ev.Type {
		case mvccpb.PUT:
			if rev, ok := l.at[key]; ok && rev == ev.Kv.CreateRevision {
				l.order[l.index(key)].c = parseClaim(ev.Kv.Value) // a changed value
				continue
			} else if ok {
				l.remove(key) // a new incarnation: the old one's delete was missed
			}
			l.insert(ev.Kv)
		case mvccpb.DELETE:
			rev, ok := l.at[key]
			if !ok {
				continue
			}
			l.remove(key)
			if e := l.own(key, rev); e != nil {
				if e.state == withdrawn {
					l.forget(e, true)
				} else {
					l.vanished(e)
				}
			}
		}
	}
	l.rev = max(l.rev, rev)
	l.dispatch()
	return true
}

// insert adds a key to the mirror in create-revision order: at the end,
// except for a snapshot's keys, which come sorted anyway.
func (l *line) insert(kv *mvccpb.KeyValue) {
	it := item{key: string(kv.Key), rev: kv.CreateRevision, c: parseClaim(kv.Value)}
	i := len(l.order)
	if i > 0 && l.order[i-1].rev > it.rev {
		i = sort.Search(len(l.order), func(j int) bool { return l.order[j].rev > it.rev })
	}
	l.order = slices.Insert(l.order, i, it)
	l.at[it.key] = it.rev
}

// remove takes key, which is in the mirror, out of it.
func (l *line) remove(key string) {
	i := l.index(key)
	l.order = slices.Delete(l.order, i, i+1)
	delete(l.at, key)
}

// index returns the position of key, which is in the mirror.
func (l *line) index(key string) int {
	rev := l.at[key]
	i := sort.Search(len(l.order), func(j int) bool { return l.order[j].rev >= rev })
	for l.order[i].key != key {
		i++ // keys of equal create revision (put in one transaction by someone else)
	}
	return i
}

// end ends the line with its session: waiters' channels are closed, grants
// are lost (an unreceived one is taken back first, so its channel reads
// closed), and the watch stops.
func (l *line) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = true
	for _, e := range l.mine {
		switch e.state {
		case waiting, granted:
			l.vanished(e)
		default:
			l.forget(e, false)
		}
	}
	l.waiting = 0
	if l.linger != nil {
		l.linger.Stop()
	}
	if l.watching {
		l.stopWatch()
	}
}

// snapshot reads all the primitive's keys and walks them as this session
// sees them, for Locked and Value. It returns the tally of the holders
// and whether a claim c, arriving now, would be admitted at once.
func (l *line) snapshot(ctx context.Context, c claim) (tally, bool, error) {
	rctx, cancel := l.s.rpcContext(ctx)
	resp, err := l.s.cli.Get(rctx, l.pfx, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	cancel()
	if err != nil {
		if serr := l.s.ended(); serr != nil {
			return tally{}, false, serr
		}
		return tally{}, false, fmt.Errorf("etcd: %s: %w", l.name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var t tally
	for _, kv := range resp.Kvs {
		if e := l.own(string(kv.Key), kv.CreateRevision); e != nil && e.state == withdrawn {
			continue
		}
		t.admit(parseClaim(kv.Value))
	}
	held := t
	return held, t.admit(c), nil
}
