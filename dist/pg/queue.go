package pg

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist"
)

// ErrClosed is the reason a get fails, or a put is refused, once its Queue or
// Client is closed.
var ErrClosed = errors.New("pg: queue closed")

// A Queue is a work queue on PostgreSQL shared by every process that opens
// the same name on the same database: chans.Queue's model (FIFO or by
// priority, bounded or not, TaskDone and Join, Shutdown) with items that are
// claimed, not taken, until the worker settles them. See the package doc for
// the design, and [MaxSize] for bounds.
//
// Order: items come out lowest priority first, then in the order they were
// put, items handed out again included (their place is their first put). An
// item put with a run-at time is not handed out before it. Getters of this
// process are served in the order of their calls, and TryGet never passes one;
// so are the putters of this process that wait for room in a bounded queue,
// and TryPut never passes one. Getters, and putters, of different processes
// are not ordered among themselves.
//
// Cancellation is decided locally (dist's Q2): a Get whose ctx ends before
// its caller received has its channel closed at once, and an item already on
// its way goes back where the next Get of this process finds it first; a put
// whose ctx ends while it waits for room leaves at once, without a trace. No
// statement is ever cancelled by a caller's ctx: once sent, its answer is
// waited for, so pgx never closes a connection to cancel one.
//
// A Queue is safe for use by several goroutines. Create it with [NewQueue];
// the zero Queue is not usable.
//
// Memory model: a Put whose channel yields nil synchronizes before the
// receive of that item from any Get, in any process that sees it (the commit
// happens before the claim's snapshot); Done returning nil synchronizes
// before the close of any Join channel that counts it.
type Queue[T any] struct {
	c        *Client
	name     string
	codec    Codec[T]
	attempts int // an item handed out this many times and failed is dead
	batch    int
	max      int // the queue's bound, as stored with it; 0: unbounded

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	exited chan struct{} // closed when the fetcher returns
	wake   chan struct{} // buffer of one: the fetcher has something to look at
	lookE  atomic.Bool   // the queue may be empty: check Join

	// A bounded queue's putters (see put.go).
	room      chan struct{} // buffer of one: the admitter has something to look at
	roomGen   atomic.Uint64 // counts the events that may have made room
	putSeq    atomic.Uint64 // numbers the puts in the order of their calls
	admitted  chan struct{} // closed when the admitter returns (at once if unbounded)
	watchWake chan struct{} // buffer of one: the line of putters changed (the watcher)
	watched   chan struct{} // closed when the watcher returns (at once if unbounded)

	mu      sync.Mutex
	reqs    []*getReq[T] // queued getters, oldest first
	back    []*Item[T]   // claimed items no getter holds, by priority and id
	putters []*putReq    // putters waiting for room, in the order of their calls
	join    chan struct{}
	state   int16 // as last seen on the server: 0 open, 1 shut down, 2 immediately
	closed  bool
}

// A getReq is one Get or TryGet waiting for the fetcher.
type getReq[T any] struct {
	ctx   context.Context
	ch    chan *Item[T] // buffer of one
	try   bool
	err   error // why ch was closed empty, set before the close
	stop  func() bool
	state uint8
}

const (
	queued uint8 = iota
	granted
	gone
)

// A QueueOption configures a Queue.
type QueueOption func(*queueOpts)

type queueOpts struct {
	attempts, batch, max int
	bounded              bool // MaxSize was given
}

// MaxAttempts sets after how many deliveries an item that fails (Fail, or its
// worker was lost) is moved to the turnstile_dead table instead of being
// handed out again (default 25, as River). n must be at least 1.
func MaxAttempts(n int) QueueOption {
	if n < 1 {
		panic("pg: MaxAttempts below 1")
	}
	return func(o *queueOpts) { o.attempts = n }
}

// Batch sets how many items one claiming statement may take for the waiting
// getters of this process (default 32).
func Batch(n int) QueueOption {
	if n < 1 {
		panic("pg: Batch below 1")
	}
	return func(o *queueOpts) { o.batch = n }
}

// MaxSize bounds the queue at n items (0: unbounded, the default): a put
// waits for room while n items of the queue are not yet done, counting every
// item put and not yet done or dead, whether ready, delayed, or claimed by a
// worker in any process. See [Queue.Put] for how puts wait.
//
// The bound is the queue's, stored with it on the server, so that every
// process agrees on it: it is set by the NewQueue that creates the queue,
// and fixed from then on. A NewQueue without MaxSize opens an existing
// queue with the bound it has; one with MaxSize(n) fails with an error
// wrapping [ErrBoundMismatch] if the queue has another bound (0 included).
// n must be at least 0 and fit in an int32.
func MaxSize(n int) QueueOption {
	if n < 0 || n > math.MaxInt32 {
		panic("pg: MaxSize below 0 or above MaxInt32")
	}
	return func(o *queueOpts) { o.max, o.bounded = n, true }
}

// ErrBoundMismatch is the error of a NewQueue whose MaxSize is not the bound
// the queue was created with.
var ErrBoundMismatch = errors.New("pg: the queue has another bound")

// NewQueue opens the queue called name on c's database, creating it if it
// does not exist (an existing queue keeps its items, its shut down state and
// its bound; see [MaxSize]). codec turns values into stored bytes and back.
// Close it when done, or close c.
func NewQueue[T any](ctx context.Context, c *Client, name string, codec Codec[T], opts ...QueueOption) (*Queue[T], error) {
	if codec == nil {
		panic("pg: NewQueue with a nil codec")
	}
	o := queueOpts{attempts: 25, batch: 32}
	for _, f := range opts {
		f(&o)
	}
	bound, err := openQueue(ctx, c, name, o.max)
	if err != nil {
		return nil, fmt.Errorf("pg: NewQueue %q: %w", name, err)
	}
	if o.bounded && bound != o.max {
		return nil, fmt.Errorf("pg: NewQueue %q with MaxSize(%d): the queue's bound is %d: %w", name, o.max, bound, ErrBoundMismatch)
	}
	q := &Queue[T]{
		c: c, name: name, codec: codec, attempts: o.attempts, batch: o.batch, max: bound,
		exited: make(chan struct{}), wake: make(chan struct{}, 1),
		room: make(chan struct{}, 1), admitted: make(chan struct{}),
		watchWake: make(chan struct{}, 1), watched: make(chan struct{}),
	}
	q.ctx, q.cancel = context.WithCancel(c.ctx)
	if !c.enter() {
		q.cancel()
		return nil, ErrClosed
	}
	if bound > 0 && !c.enter2() {
		c.wg.Done()
		q.cancel()
		return nil, ErrClosed
	}
	c.register(name, q)
	go q.fetcher()
	if bound > 0 {
		go q.admitter()
		go q.watcher()
	} else {
		close(q.admitted)
		close(q.watched)
	}
	return q, nil
}

// openQueue creates the queue with the given bound unless it exists, and
// returns the bound it has.
func openQueue(ctx context.Context, c *Client, name string, bound int) (int, error) {
	for {
		var got int
		err := c.pool.QueryRow(ctx, newQueueSQL, name, bound).Scan(&got)
		if err == nil {
			return got, nil
		}
		// No row: created by another process meanwhile; this time its row
		// is in the snapshot.
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, err
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// Name returns the queue's name.
func (q *Queue[T]) Name() string { return q.name }

// Cap returns the queue's bound (see [MaxSize]); 0 means unbounded.
func (q *Queue[T]) Cap() int { return q.max }

// Close stops this process's use of the queue: its queued getters get closed
// channels, items given back are returned to the server, and later calls
// fail with ErrClosed. Items that callers hold stay claimed and can still be
// settled, as long as the Client is open. The queue itself, on the server,
// is untouched.
func (q *Queue[T]) Close() {
	q.cancel()
	// The getters learn at once, even if a claim is on its way: what it
	// brings is returned by the fetcher as it exits.
	q.mu.Lock()
	q.closed = true
	for _, r := range slices.Clone(q.reqs) {
		q.refuse(r, ErrClosed)
	}
	q.refusePutters(ErrClosed)
	q.mu.Unlock()
	<-q.exited
	<-q.admitted
	<-q.watched
}

// Put offers v to the queue. The returned channel has a buffer of one and
// always yields exactly one value, then is closed:
//   - nil once the item is committed: every process can get it;
//   - ctx.Err() if ctx ended first: at the call (even with room, as in
//     chans), or before the put's statement was sent, which for a bounded
//     queue includes the whole wait for room; the item is then not in the
//     queue and never will be;
//   - an error wrapping dist.ErrShutdown after Shutdown (in any process; it
//     also ends the wait of putters waiting for room), or ErrClosed;
//   - an error wrapping dist.ErrOutcomeUnknown if the connection was lost
//     after the statement was sent: the item may be in the queue;
//   - another error from the server (nothing was put) or from the codec.
//
// In a bounded queue ([MaxSize]), a put waits while the queue is full. The
// wait is local: the putters of this process queue in the order of their
// calls, a put never passes one that waits (it queues behind, and TryPut
// says the queue is full), and they are woken by the notification that a
// Done or move to turnstile_dead of the queue sends, in any process, while
// putters wait (see the package doc), with the safety poll as a backstop;
// they do not poll the server. Putters of different processes are not
// ordered among themselves: when room appears, the first statement to take
// it gets it. While putters wait, the queue holds one connection of the
// pool (see the package doc).
//
// Once a statement that can put the item is sent, it is not cancelled by
// ctx: its answer is waited for (it never waits on the server, and it is
// bounded by the statement timeout), so nil always means committed and
// ctx.Err() always means not put. A ctx that ends while a bounded queue's
// statement is on its way therefore yields nil if the statement found room,
// and ctx.Err() once it answers that it did not. (The tempting version
// answers ctx.Err() at once and deletes the item when the statement lands,
// as Get gives a claim back; but an item put is everyone's at its commit,
// and a getter of another process could take it in between.) A caller that
// never receives loses nothing. The statement runs in a goroutine of its
// own (the network round trip, or the wait for room, has to wait
// somewhere); PutWait runs it in the caller's.
func (q *Queue[T]) Put(ctx context.Context, v T) <-chan error { return q.PutWith(ctx, v) }

// PutWith is Put with options: [Priority], [RunAt], [After].
func (q *Queue[T]) PutWith(ctx context.Context, v T, opts ...PutOption) <-chan error {
	ch := make(chan error, 1)
	if err := ctx.Err(); err != nil {
		ch <- err
		close(ch)
		return ch
	}
	if !q.c.enter() {
		ch <- ErrClosed
		close(ch)
		return ch
	}
	seq := q.putSeq.Add(1) // its place in line is taken at the call
	go func() {
		defer q.c.wg.Done()
		ch <- q.put(ctx, []T{v}, opts, false, seq)
		close(ch)
	}()
	return ch
}

// PutWait is the blocking twin of PutWith: it returns what PutWith's channel
// would yield, in the caller's goroutine.
func (q *Queue[T]) PutWait(ctx context.Context, v T, opts ...PutOption) error {
	return q.put(ctx, []T{v}, opts, false, q.putSeq.Add(1))
}

// PutBatch puts every value of vs in one statement, in their order, with the
// same options: all are committed, or none (the answers are PutWait's). In a
// bounded queue it waits until all of them fit at once, queued with the
// other putters in the order of the calls; a batch larger than the bound
// fails with an error wrapping dist.ErrAboveLimit.
func (q *Queue[T]) PutBatch(ctx context.Context, vs []T, opts ...PutOption) error {
	return q.put(ctx, vs, opts, false, q.putSeq.Add(1))
}

// TryPut puts v if the queue has room now and no putter of this process
// waits; otherwise it returns an error wrapping dist.ErrFull, and v is not
// in the queue. An unbounded queue is never full: TryPut is then PutWait.
// It waits for one round trip (not for room), and its other answers are
// PutWait's: ctx.Err() only if ctx ended before the statement was sent.
func (q *Queue[T]) TryPut(ctx context.Context, v T) error { return q.TryPutWith(ctx, v) }

// TryPutWith is TryPut with options: [Priority], [RunAt], [After].
func (q *Queue[T]) TryPutWith(ctx context.Context, v T, opts ...PutOption) error {
	return q.put(ctx, []T{v}, opts, true, q.putSeq.Add(1))
}

// put puts vs, all or none; seq is its place in line in a bounded queue.
func (q *Queue[T]) put(ctx context.Context, vs []T, opts []PutOption, try bool, seq uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if q.ctx.Err() != nil {
		return ErrClosed
	}
	var o putOpts
	for _, f := range opts {
		f(&o)
	}
	payloads := make([][]byte, len(vs))
	for i, v := range vs {
		b, err := q.codec.Encode(v)
		if err != nil {
			return fmt.Errorf("pg: encode: %w", err)
		}
		if b == nil {
			b = []byte{}
		}
		payloads[i] = b
	}
	if len(vs) == 0 {
		return nil
	}
	if q.max > 0 {
		return q.putRoom(ctx, payloads, o, try, seq)
	}
	var runAt any
	if !o.at.IsZero() {
		runAt = o.at
	}
	var n int
	err := q.c.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, putSQL, q.name, o.priority, runAt, o.delay.Microseconds(), payloads).Scan(&n)
	}, nil)
	switch {
	case err != nil:
		return err
	case n == 0:
		return q.errShutdown()
	}
	return nil
}

func (q *Queue[T]) errShutdown() error {
	return fmt.Errorf("pg: put on %q: %w", q.name, dist.ErrShutdown)
}

// A PutOption sets how an item is put.
type PutOption func(*putOpts)

type putOpts struct {
	priority int
	at       time.Time
	delay    time.Duration
}

// Priority puts the item with priority p: lower comes out first (default 0),
// and items of equal priority in the order they were put.
func Priority(p int) PutOption { return func(o *putOpts) { o.priority = p } }

// RunAt holds the item back until t: no Get hands it out before.
func RunAt(t time.Time) PutOption { return func(o *putOpts) { o.at = t } }

// After holds the item back for d, measured by the server's clock from the
// put's commit.
func After(d time.Duration) PutOption { return func(o *putOpts) { o.delay = d } }

// Get asks for the next item. The returned channel has a buffer of one and is
// closed after yielding at most one value:
//   - an item (ok true), claimed by this process until its Done or Fail, or
//     until the claim is lost (Item.Lost);
//   - nothing (closed, ok false) if ctx ended first, or had ended at the
//     call, or the queue is shut down and drained, or closed.
//
// If ctx ends after the item was sent but before the caller received it, the
// item goes back where the next Get of this process finds it first, and a
// receive after that yields closed; no round trip is needed to decide it. A
// caller that neither receives nor lets ctx end strands the item, claimed by
// this process, until ctx ends: cancel the ctx of a Get you abandon in a
// select, or use selectx.
func (q *Queue[T]) Get(ctx context.Context) <-chan *Item[T] {
	return q.get(ctx, false).ch
}

// GetWait is the blocking twin of Get: it returns the item, or ctx.Err(), or
// an error wrapping dist.ErrShutdown once the queue is shut down and
// drained, or ErrClosed.
func (q *Queue[T]) GetWait(ctx context.Context) (*Item[T], error) {
	return q.get(ctx, false).wait()
}

// All returns an iterator over the items the queue hands out to this
// process, each claimed with GetWait(ctx), as chans.Queue.All. It ends when
// ctx ends or the queue is shut down and drained (or closed). No get is left
// in flight when the body breaks out, so breaking out strands nothing; the
// body owns each item it is given and must Done or Fail it.
func (q *Queue[T]) All(ctx context.Context) iter.Seq[*Item[T]] {
	return func(yield func(*Item[T]) bool) {
		for {
			it, err := q.GetWait(ctx)
			if err != nil || !yield(it) {
				return
			}
		}
	}
}

// TryGet claims the next ready item if there is one and no getter of this
// process waits: otherwise it returns an error wrapping dist.ErrEmpty, or
// dist.ErrShutdown once the queue is shut down and drained. It waits for a
// claiming round trip that the server answers (not for an item); while the
// server cannot be reached (a restart) it keeps trying, so give it a ctx that
// ends: if ctx ends first it returns ctx.Err(), and an item claimed
// meanwhile goes back as for Get.
func (q *Queue[T]) TryGet(ctx context.Context) (*Item[T], error) {
	return q.get(ctx, true).wait()
}

// wait receives r's outcome: the item, or why there is none (r.err, else
// r's ctx ended).
func (r *getReq[T]) wait() (*Item[T], error) {
	if it, ok := <-r.ch; ok {
		return it, nil
	}
	if r.err != nil {
		return nil, r.err
	}
	return nil, r.ctx.Err()
}

func (q *Queue[T]) get(ctx context.Context, try bool) *getReq[T] {
	r := &getReq[T]{ctx: ctx, ch: make(chan *Item[T], 1), try: try}
	if ctx.Err() != nil {
		r.state = gone
		close(r.ch)
		return r
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		r.state, r.err = gone, ErrClosed
		close(r.ch)
		return r
	}
	q.reqs = append(q.reqs, r)
	// Registered under q.mu, so that r.stop is set before the fetcher can
	// see r; if ctx has ended meanwhile, the func runs at once (in its own
	// goroutine) and finds r queued once we unlock.
	r.stop = context.AfterFunc(ctx, func() { q.abandon(r) })
	q.mu.Unlock()
	q.poke()
	return r
}

// abandon is run when the ctx of a get ends: a queued getter leaves, and an
// item sent but not received comes back (the channel is closed after the
// send, so the receive cannot block: it yields the item, or nothing if the
// caller took it first).
//
// Once the queue is closed, nobody takes back what putBack keeps (finish has
// returned it already), so an item taken back then goes straight back to the
// server: else it would stay claimed by this live process, which no rescuer
// frees, until the Client closes.
func (q *Queue[T]) abandon(r *getReq[T]) {
	q.mu.Lock()
	var back *Item[T]
	switch r.state {
	case queued:
		q.reqs = slices.DeleteFunc(q.reqs, func(x *getReq[T]) bool { return x == r })
		r.state = gone
		close(r.ch)
	case granted:
		r.state = gone
		if it, ok := <-r.ch; ok {
			if q.closed {
				back = it
			} else {
				q.putBack(it)
				q.poke()
			}
		}
	}
	q.mu.Unlock()
	if back != nil && q.c.enter() {
		defer q.c.wg.Done()
		q.returnItems([]*Item[T]{back})
	}
}

// putBack keeps a claimed item that no caller holds, in order.
func (q *Queue[T]) putBack(it *Item[T]) {
	i, _ := slices.BinarySearchFunc(q.back, it, func(a, b *Item[T]) int {
		if a.priority != b.priority {
			return a.priority - b.priority
		}
		return int(a.id - b.id)
	})
	q.back = slices.Insert(q.back, i, it)
}

// Len returns the number of items not claimed by anyone, as the server
// counts them now, delayed items included, plus the items this process got
// back from getters that gave up (which are still claimed on the server
// until the process returns them). It counts them in one statement, each
// item once at most, so Len <= Unfinished <= Cap in a bounded queue; an
// item on its way from the server to a getter of this process may be
// missed.
func (q *Queue[T]) Len(ctx context.Context) (int, error) {
	q.mu.Lock()
	ids := make([]int64, len(q.back))
	for i, it := range q.back {
		ids[i] = it.id
	}
	q.mu.Unlock()
	var n int
	if err := q.c.pool.QueryRow(ctx, `SELECT count(*) FROM turnstile_items
		WHERE queue = $1 AND (owner IS NULL OR id = ANY($2))`, q.name, ids).Scan(&n); err != nil {
		return 0, fmt.Errorf("pg: Len: %w", err)
	}
	return n, nil
}

// Unfinished returns the number of items put and not yet done or dead: the
// count whose reaching zero closes Join's channels, and the count that a
// bounded queue's bound bounds.
func (q *Queue[T]) Unfinished(ctx context.Context) (int, error) {
	var n int
	if err := q.c.pool.QueryRow(ctx, `SELECT count(*) FROM turnstile_items WHERE queue = $1`,
		q.name).Scan(&n); err != nil {
		return 0, fmt.Errorf("pg: Unfinished: %w", err)
	}
	return n, nil
}

// Join returns a channel that is closed once no item of the queue is left,
// ready or claimed, in any process: every item put has been done (or moved
// to the dead table, or dropped by Shutdown). Its callers share one channel
// until then. Unlike chans, a fresh queue's Join is not closed at once: the
// server is asked first (one round trip). It is woken by the notifications
// of the Dones that leave no item ready, with the safety poll as a backstop
// for a notification lost with a connection. It takes nothing, so it needs
// no ctx and abandoning it costs nothing; after Close it is never closed.
func (q *Queue[T]) Join() <-chan struct{} {
	q.mu.Lock()
	if q.join == nil {
		q.join = make(chan struct{})
	}
	j := q.join
	q.mu.Unlock()
	q.lookE.Store(true)
	q.poke()
	return j
}

// Shutdown shuts the queue down for every process (asyncio's
// Queue.shutdown): every later put fails with dist.ErrShutdown; getters drain
// the items left, then get closed channels. With immediate, the unclaimed
// items are dropped (and leave Join's count), getters get closed channels at
// once, and items that getters give back are dropped too; items held by
// workers can still be done or failed. Calling it again is harmless. The
// statement is sent unless ctx has ended, and its answer then waited for.
func (q *Queue[T]) Shutdown(ctx context.Context, immediate bool) error {
	state := 1
	if immediate {
		state = 2
	}
	var n int
	return q.c.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, shutdownSQL, q.name, state).Scan(&n)
	}, nil)
}

// String describes the queue as this process sees it, chans-style:
// "pg.Queue(jobs, getters[2], back=1, max=100, putters[3], shutdown)".
func (q *Queue[T]) String() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := "pg.Queue(" + q.name
	if len(q.reqs) > 0 {
		s += fmt.Sprintf(", getters[%d]", len(q.reqs))
	}
	if len(q.back) > 0 {
		s += fmt.Sprintf(", back=%d", len(q.back))
	}
	if q.max > 0 {
		s += fmt.Sprintf(", max=%d", q.max)
	}
	if len(q.putters) > 0 {
		s += fmt.Sprintf(", putters[%d]", len(q.putters))
	}
	if q.state > 0 {
		s += ", shutdown"
	}
	if q.closed {
		s += ", closed"
	}
	return s + ")"
}

// notify is the Client's: a notification for this queue arrived.
func (q *Queue[T]) notify(kind byte) {
	switch kind {
	case 'r':
		q.pokeRoom()
		return
	case 's':
		q.pokeRoom() // waiting putters fail
		q.lookE.Store(true)
	case 'e':
		q.lookE.Store(true)
	}
	q.poke()
}

func (q *Queue[T]) close() { q.Close() }

func (q *Queue[T]) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// fetcher is the queue's one goroutine in this process: it claims items for
// the queued getters, hands them out in order, returns the items they gave
// back, and answers Join. It sleeps when there is nothing to do, until a
// poke (a getter, a notification) or the safety poll.
func (q *Queue[T]) fetcher() {
	defer q.c.wg.Done()
	defer close(q.exited)
	defer q.finish()
	t := time.NewTimer(q.c.poll)
	defer t.Stop()
	// The safety poll keeps its own rhythm: pokes (getters come and go all
	// the time) must not keep pushing it back, or a lost notification
	// would never be made up for.
	poll := time.Now().Add(q.c.poll)
	for q.ctx.Err() == nil {
		if now := time.Now(); !now.Before(poll) {
			q.lookE.Store(true)
			poll = now.Add(q.c.poll)
		}
		again, wait := q.pass()
		if again {
			continue
		}
		t.Reset(min(wait, time.Until(poll)))
		select {
		case <-q.wake:
		case <-t.C:
		case <-q.ctx.Done():
		}
	}
}

// pass does one round of the fetcher's work. It reports whether to go again
// at once (getters are still waiting and the last claim was full), or else
// how long to sleep at most.
func (q *Queue[T]) pass() (again bool, wait time.Duration) {
	wait = q.c.poll
	q.mu.Lock()
	q.handOut()
	n := len(q.reqs)
	// Items in back go to the server when no getter wants them, or to be
	// dropped once the queue was shut down immediately.
	ret := len(q.back) > 0 && (n == 0 || q.state == 2)
	q.mu.Unlock()
	if ret {
		q.giveBack()
	}
	if q.lookE.Swap(false) {
		q.checkJoin()
	}
	if n == 0 {
		return false, wait
	}
	want := min(n, q.batch)
	items, err := q.claim(want)
	if err != nil {
		// Nothing was claimed, or what was is being settled: try again
		// soon (the server may be restarting).
		return false, 50 * time.Millisecond
	}
	q.mu.Lock()
	for _, it := range items {
		q.putBack(it)
	}
	q.handOut()
	n = len(q.reqs)
	q.mu.Unlock()
	if len(items) == want {
		return n > 0, wait
	}
	// Less than wanted: ask whether anything is left at all.
	var state int16
	var due *time.Duration
	ctx, cancel := q.c.stmtCtx()
	err = q.c.pool.QueryRow(ctx, idleSQL, q.name).Scan(&state, &due)
	cancel()
	if err != nil {
		return false, 50 * time.Millisecond
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.state = state
	drained := due == nil && len(q.back) == 0
	for _, r := range slices.Clone(q.reqs) {
		switch {
		case state != 0 && drained:
			q.refuse(r, fmt.Errorf("pg: get on %q: %w", q.name, dist.ErrShutdown))
		case r.try:
			q.refuse(r, fmt.Errorf("pg: get on %q: %w", q.name, dist.ErrEmpty))
		}
	}
	if due != nil {
		// Items exist but none was ready: wake when the next is due, or
		// soon if it is due already (another claim had it locked).
		wait = min(wait, max(*due, 5*time.Millisecond))
	}
	return false, wait
}

// handOut gives the items in back to the queued getters, in order, unless
// the queue was shut down immediately (then they go back to be dropped).
// Called with q.mu held.
func (q *Queue[T]) handOut() {
	if q.state == 2 {
		return
	}
	for len(q.back) > 0 && len(q.reqs) > 0 {
		it := q.back[0]
		q.back = q.back[1:]
		select {
		case <-it.lost:
			// The claim was lost with the listening connection: the
			// rescuers of other processes hand the item out again.
			continue
		default:
		}
		r := q.reqs[0]
		q.reqs = q.reqs[1:]
		r.state = granted
		it.stop = r.stop
		r.ch <- it
		close(r.ch)
	}
}

// refuse closes a queued getter's channel empty, with the reason. Called
// with q.mu held.
func (q *Queue[T]) refuse(r *getReq[T], err error) {
	q.reqs = slices.DeleteFunc(q.reqs, func(x *getReq[T]) bool { return x == r })
	r.state, r.err = gone, err
	close(r.ch)
	r.stop()
}

// giveBack returns to the server the items in back (no getter wants them
// now), taking back the attempt they were counted.
func (q *Queue[T]) giveBack() {
	q.mu.Lock()
	items := q.back
	q.back = nil
	q.mu.Unlock()
	q.returnItems(items)
}

func (q *Queue[T]) returnItems(items []*Item[T]) {
	// Items of an owner that was lost since are the rescuer's business.
	byOwner := make(map[int32][]*Item[T])
	for _, it := range items {
		byOwner[it.owner] = append(byOwner[it.owner], it)
	}
	for owner, its := range byOwner {
		ids := make([]int64, len(its))
		claims := make([]int64, len(its))
		for i, it := range its {
			ids[i], claims[i] = it.id, it.claim
		}
		var n int
		args := []any{owner, ids, claims, q.name}
		q.c.runOrSettle(func(ctx context.Context, conn *pgxpool.Conn) error {
			return conn.QueryRow(ctx, returnSQL, args...).Scan(&n)
		}, settlement{queue: q.name, sql: returnSQL, args: args})
	}
}

// checkJoin closes the Join channel if the queue is empty on the server.
func (q *Queue[T]) checkJoin() {
	q.mu.Lock()
	j := q.join
	q.mu.Unlock()
	if j == nil {
		return
	}
	var empty bool
	ctx, cancel := q.c.stmtCtx()
	err := q.c.pool.QueryRow(ctx, emptySQL, q.name).Scan(&empty)
	cancel()
	if err != nil || !empty {
		return
	}
	q.mu.Lock()
	if q.join == j {
		close(j)
		q.join = nil
	}
	q.mu.Unlock()
}

// claim claims up to n items for this process. On an error whose outcome is
// unknown, whatever the statement may have claimed is given back: on the
// same connection if it survived, else once the server has finished with
// its backend.
func (q *Queue[T]) claim(n int) ([]*Item[T], error) {
	owner, lost, err := q.c.current(q.ctx)
	if err != nil {
		return nil, err
	}
	token := q.c.seq.Add(1)
	var rows []claimed
	err = q.c.run(q.ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		r, err := conn.Query(ctx, claimSQL, q.name, owner, token, n)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(r, pgx.RowToStructByPos[claimed])
		return err
	}, &settlement{queue: q.name, sql: unclaimSQL, args: []any{owner, token}})
	if err != nil {
		return nil, err
	}
	items := make([]*Item[T], 0, len(rows))
	for _, row := range rows {
		it := &Item[T]{q: q, id: row.ID, owner: owner, claim: token, attempt: row.Attempts,
			priority: row.Priority, lastErr: row.LastError, lost: lost}
		var why string
		if v, err := q.codec.Decode(row.Payload); err != nil {
			why = "pg: decode: " + err.Error()
		} else if row.Attempts > q.attempts {
			why = fmt.Sprintf("pg: handed out %d times, at most %d allowed; last error: %s",
				row.Attempts-1, q.attempts, row.LastError)
		} else {
			it.value = v
			items = append(items, it)
			continue
		}
		// Poison (cannot be decoded) or out of attempts (its workers kept
		// dying): set it aside rather than hand it out.
		it.bury(why)
	}
	return items, nil
}

type claimed struct {
	ID        int64
	Attempts  int
	Priority  int
	LastError string
	Payload   []byte
}

// finish runs as the fetcher exits: the queue is closed for this process.
func (q *Queue[T]) finish() {
	q.c.unregister(q.name, q)
	q.mu.Lock()
	q.closed = true
	for _, r := range slices.Clone(q.reqs) {
		q.refuse(r, ErrClosed)
	}
	items := q.back
	q.back = nil
	if q.join != nil {
		q.join = nil // never closed: see Join
	}
	q.mu.Unlock()
	if len(items) > 0 {
		q.returnItems(items)
	}
}
