package etcd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnstile-go/turnstile/dist"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A Session is one process's presence on the etcd cluster: a lease, kept
// alive by the session, under which every key of its waiters and holders
// lives. When the session ends, by Close, because its lease expired or was
// revoked, or because it could not renew the lease in time, every grant it
// held is lost ([dist.Grant.Lost] closes), every wait closes its channel
// without a value, and the server deletes its keys with the lease.
//
// Create one Session per process (or per independent part of a process) and
// make its primitives with [NewLock], [NewRWLock], [NewSemaphore] and
// [NewEvent]. A Session is safe for use by many goroutines and must not be
// copied.
//
// The session's own deadline is what makes [dist.Grant.Lost] trustworthy:
// it is the send time of the last renewal the server acknowledged, plus the
// lease's time to live, minus a margin ([WithMargin]). The server cannot
// expire the lease before that instant (it received the renewal after it was
// sent, and restarts the time to live from there), so a session that could
// not renew by its deadline ends itself, and its grants are lost, before any
// other process can be granted what they held.
//
// Cost: two goroutines per session (one renews the lease, one sends the
// withdrawals of released and cancelled entries), and one per primitive
// that has had to wait (it follows the primitive's keys with one watch).
type Session struct {
	cli    *clientv3.Client
	lease  clientv3.LeaseID
	ttl    time.Duration // as granted by the server
	margin time.Duration
	hex    string        // the lease in hex, in every key name
	seq    atomic.Uint64 // numbers the waiters' keys
	opt    options

	ctx    context.Context // ends with the session
	cancel context.CancelFunc
	wg     sync.WaitGroup // the session's goroutines

	mu        sync.Mutex
	err       error // why the session ended; nil while it lives
	deadline  time.Time
	expiry    *time.Timer // ends the session at its deadline
	lines     map[string]*line
	events    map[string]*eventLine
	pending   []*entry      // withdrawals not yet sent
	wake      chan struct{} // capacity 1: pending grew
	issued    uint64        // withdrawals queued so far
	landed    uint64        // of which landed (or moot)
	progress  chan struct{} // closed and replaced whenever landed grows
	settleErr error         // the last failed withdrawal's error, for String
}

// An Option configures a Session.
type Option func(*options)

type options struct {
	ttl    time.Duration
	margin time.Duration
}

// WithTTL sets the lease's time to live (default 10 s), rounded up to whole
// seconds since etcd counts leases in seconds. The server may raise it to
// its own minimum. It bounds how long a crashed process's grants stay
// unavailable to the others, and how long a paused or partitioned process
// can keep its grants before the session gives them up.
func WithTTL(d time.Duration) Option {
	if d <= 0 {
		panic("etcd: WithTTL with a duration <= 0")
	}
	return func(o *options) { o.ttl = d }
}

// WithMargin sets how long before the lease could expire on the server the
// session gives its grants up (default a tenth of the time to live, at least
// 100 ms, at most 2 s). It covers the drift between this machine's clock and
// the server's, and the time a process needs to stop using a lost grant.
func WithMargin(d time.Duration) Option {
	if d < 0 {
		panic("etcd: WithMargin with a negative duration")
	}
	return func(o *options) { o.margin = d }
}

// errClosed is the cause of a session ended by Close.
var errClosed = fmt.Errorf("%w: closed", dist.ErrSessionDone)

// NewSession grants a lease on cli's cluster and keeps it alive until the
// session ends. ctx bounds the grant only. The session does not close cli.
func NewSession(ctx context.Context, cli *clientv3.Client, opts ...Option) (*Session, error) {
	if cli == nil {
		panic("etcd: NewSession with a nil client")
	}
	o := options{ttl: 10 * time.Second, margin: -1}
	for _, opt := range opts {
		opt(&o)
	}
	secs := int64(math.Ceil(o.ttl.Seconds()))
	sent := time.Now()
	resp, err := cli.Grant(ctx, secs)
	if err != nil {
		return nil, fmt.Errorf("etcd: granting a lease: %w", err)
	}
	ttl := time.Duration(resp.TTL) * time.Second
	margin := o.margin
	if margin < 0 {
		margin = min(max(ttl/10, 100*time.Millisecond), 2*time.Second)
	}
	if margin >= ttl {
		_, _ = cli.Revoke(context.WithoutCancel(ctx), resp.ID)
		return nil, fmt.Errorf("etcd: margin %v not below the lease's time to live %v", margin, ttl)
	}
	s := &Session{
		cli:      cli,
		lease:    resp.ID,
		ttl:      ttl,
		margin:   margin,
		hex:      strconv.FormatInt(int64(resp.ID), 16),
		opt:      o,
		lines:    make(map[string]*line),
		events:   make(map[string]*eventLine),
		wake:     make(chan struct{}, 1),
		progress: make(chan struct{}),
		deadline: sent.Add(ttl - margin),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.expiry = time.AfterFunc(time.Until(s.deadline), s.checkDeadline)
	s.wg.Add(2)
	go s.keepAlive()
	go s.settleLoop()
	return s, nil
}

// Client returns the client the session was made with.
func (s *Session) Client() *clientv3.Client { return s.cli }

// Lease returns the session's lease.
func (s *Session) Lease() clientv3.LeaseID { return s.lease }

// TTL returns the lease's time to live as the server granted it.
func (s *Session) TTL() time.Duration { return s.ttl }

// Deadline returns the instant until which the session vouches for its
// grants: the send time of the last acknowledged renewal, plus the time to
// live, minus the margin. Past it, if no renewal came back, the session ends.
func (s *Session) Deadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deadline
}

// Done returns a channel that is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Err returns nil while the session lives, and then why it ended: an error
// that wraps [dist.ErrSessionDone].
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the session: every grant it still holds is lost, every wait
// closes its channel, and the lease is revoked, which deletes all of the
// session's keys on the server at once, so the next waiters of every
// primitive are served. ctx bounds the revocation; if it fails (the server
// is unreachable), the keys go when the lease expires. Close waits for the
// session's goroutines to finish. Closing a session that has ended already
// revokes nothing and returns nil.
func (s *Session) Close(ctx context.Context) error {
	var err error
	if s.end(errClosed) {
		if _, rerr := s.cli.Revoke(ctx, s.lease); rerr != nil && !errors.Is(rerr, rpctypes.ErrLeaseNotFound) {
			err = fmt.Errorf("etcd: revoking lease %x: %w", int64(s.lease), rerr)
		}
	}
	s.wg.Wait()
	return err
}

// Settle waits until every release and withdrawal this session made before
// the call has landed on the server (or no longer needs to, because the
// session ended). It is for callers who want the others to see a release
// before they go on, and for tests; Release itself never waits.
func (s *Session) Settle(ctx context.Context) error {
	s.mu.Lock()
	target := s.issued
	for s.landed < target && s.err == nil {
		ch := s.progress
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.ctx.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	return nil
}

// end ends the session for cause and reports whether this call ended it.
// It marks the session ended first, so that no primitive starts anything
// new, then ends every primitive: their grants are lost and their waits
// closed before end returns.
func (s *Session) end(cause error) bool {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return false
	}
	s.err = cause
	s.expiry.Stop()
	lines := make([]*line, 0, len(s.lines))
	for _, l := range s.lines {
		lines = append(lines, l)
	}
	events := make([]*eventLine, 0, len(s.events))
	for _, e := range s.events {
		events = append(events, e)
	}
	s.pending = nil
	s.landed = s.issued // moot: the lease takes the keys with it
	close(s.progress)
	s.progress = make(chan struct{})
	s.mu.Unlock()
	s.cancel()
	for _, l := range lines {
		l.end()
	}
	for _, e := range events {
		e.end()
	}
	return true
}

// ended returns why the session ended, or nil. Callers hold no line's lock
// requirement: s.mu is a leaf below every line's mutex.
func (s *Session) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// checkDeadline runs when the expiry timer fires. A renewal may have moved
// the deadline just before; only a deadline that has really passed ends the
// session.
func (s *Session) checkDeadline() {
	s.mu.Lock()
	left := time.Until(s.deadline)
	if left > 0 && s.err == nil {
		s.expiry.Reset(left)
	}
	s.mu.Unlock()
	if left <= 0 {
		if s.end(fmt.Errorf("%w: lease %x not renewed before its deadline", dist.ErrSessionDone, int64(s.lease))) {
			s.revokeLater()
		}
	}
}

// revokeLater revokes the lease in the background after the session gave it
// up by itself, so that the server frees its keys now rather than when the
// lease expires there. It is best effort: the server may be unreachable,
// which is often why the session ended.
func (s *Session) revokeLater() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.ttl)
		defer cancel()
		_, _ = s.cli.Revoke(ctx, s.lease)
	}()
}

// keepAlive renews the lease every third of its time to live, retrying
// failed renewals until the deadline. Each renewal is its own request
// (KeepAliveOnce) rather than the client's streaming KeepAlive, because the
// deadline must be computed from the send time of the request the server
// answered, which the stream does not tell.
func (s *Session) keepAlive() {
	defer s.wg.Done()
	every := s.ttl / 3
	pause := time.NewTimer(every)
	defer pause.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-pause.C:
		}
		sent := time.Now()
		s.mu.Lock()
		dl := s.deadline
		s.mu.Unlock()
		// Each attempt is bounded well inside the deadline, so that one
		// lost in a dead connection is retried on a fresh one.
		ctx, cancel := context.WithDeadline(s.ctx, minTime(dl, sent.Add(s.rpcTimeout())))
		resp, err := s.cli.KeepAliveOnce(ctx, s.lease)
		cancel()
		switch {
		case err == nil:
			s.mu.Lock()
			if d := sent.Add(time.Duration(resp.TTL)*time.Second - s.margin); d.After(s.deadline) {
				s.deadline = d
			}
			s.mu.Unlock()
			pause.Reset(every)
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			s.end(fmt.Errorf("%w: lease %x expired or was revoked", dist.ErrSessionDone, int64(s.lease)))
			return
		default:
			// Unreachable or slow: try again soon; the expiry timer ends
			// the session if no renewal lands before the deadline.
			pause.Reset(min(every, 100*time.Millisecond))
		}
	}
}

// newKey returns a key name under pfx that no other waiter ever had: the
// lease is unique in the cluster and seq in the session. Unique names are
// what keeps two waiters of one session apart (concurrency.Mutex names its
// key after the session alone, so two of its Mutexes on one session both
// "hold" the lock), and what makes a late withdrawal unable to touch a
// newer waiter's key (etcd-io/etcd#22082, where a retried Unlock deleted the
// same-named key of a newer lock).
func (s *Session) newKey(pfx string) string {
	return pfx + s.hex + "." + strconv.FormatUint(s.seq.Add(1), 16)
}

// settle queues e's withdrawal: a fenced delete of its key, sent by the
// session's settle loop. Called with e's line mutex held.
func (s *Session) settle(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return // the lease takes the key with it
	}
	s.pending = append(s.pending, e)
	s.issued++
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxBatch bounds the withdrawals sent in one transaction, well below etcd's
// default limit of 128 operations per transaction.
const maxBatch = 32

// settleLoop sends the queued withdrawals, a batch per transaction, each
// retried until it lands or the session ends.
func (s *Session) settleLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			n := min(len(s.pending), maxBatch)
			batch := s.pending[:n:n]
			s.pending = s.pending[n:]
			s.mu.Unlock()
			if n == 0 {
				break
			}
			if !s.withdraw(batch) {
				return // the session ended
			}
			for _, e := range batch {
				e.l.settled(e)
			}
			s.mu.Lock()
			if s.err == nil {
				s.landed += uint64(n)
				close(s.progress)
				s.progress = make(chan struct{})
			}
			s.mu.Unlock()
		}
	}
}

// withdraw deletes the keys of batch in one transaction, each under its own
// fence: the key goes only if it is still the incarnation the entry created
// (same create revision), so a delete that already landed, or a late
// retry, cannot touch a newer waiter's key (etcd-io/etcd#22082). For an
// entry whose put never answered, the revision is unknown: its key goes if
// it is under this session's lease (no other waiter has its name), and its
// marker is put, so that the put, if the server applies it only now,
// creates nothing. Deleting twice changes nothing, so retrying is always
// safe. It retries until the batch lands and reports false if the session
// ended first.
func (s *Session) withdraw(batch []*entry) bool {
	ops := make([]clientv3.Op, 0, len(batch))
	for _, e := range batch {
		fence := clientv3.Compare(clientv3.CreateRevision(e.key), "=", e.rev)
		if e.rev == 0 {
			fence = clientv3.Compare(clientv3.LeaseValue(e.key), "=", s.lease)
			ops = append(ops, clientv3.OpPut(e.marker(), "", clientv3.WithLease(s.lease)))
		}
		ops = append(ops, clientv3.OpTxn([]clientv3.Cmp{fence}, []clientv3.Op{clientv3.OpDelete(e.key)}, nil))
	}
	backoff := 20 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(s.ctx, s.rpcTimeout())
		_, err := s.cli.Txn(ctx).Then(ops...).Commit()
		cancel()
		if err == nil {
			return true
		}
		s.mu.Lock()
		s.settleErr = err
		s.mu.Unlock()
		select {
		case <-s.ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// rpcTimeout bounds one attempt of a background request, so that a request
// lost in a partition is retried on a fresh connection instead of waiting
// for the transport to notice.
func (s *Session) rpcTimeout() time.Duration { return max(s.ttl/4, 250*time.Millisecond) }

// rpcContext returns a context for a request made on a caller's behalf: it
// ends with ctx or with the session, whichever ends first.
func (s *Session) rpcContext(ctx context.Context) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return rctx, func() { stop(); cancel() }
}

// line returns the session's record of the primitive called name, making it
// if needed. Every primitive of a session on one name shares it, so they
// share one watch and see each other's releases at once.
func (s *Session) line(name string) *line {
	checkName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lines[name]
	if l == nil {
		l = newLine(s, name)
		l.ended = s.err != nil
		s.lines[name] = l
	}
	return l
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
