package pg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist"
)

// A Client is one process's presence on a database: its listening
// connection, which holds the advisory lock that proves its claims alive and
// receives the notifications of every queue, and the rescuer, which hands
// out again the claims of Clients that died. Open queues on it with
// [NewQueue]. Use one Client per process and database; it is safe for use by
// several goroutines.
type Client struct {
	pool    *pgxpool.Pool
	conf    *pgx.ConnConfig
	rescue  time.Duration
	poll    time.Duration
	timeout time.Duration

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seq    atomic.Int64 // claim numbers, unique per owner

	mu       sync.Mutex
	owner    int32         // the current owner id; 0 while (re)connecting
	lost     chan struct{} // closed when the current owner is lost
	ready    chan struct{} // closed once owner is set; replaced when it is lost
	queues   map[string]map[waker]struct{}
	settling []settlement
	closing  bool
}

// A waker is what the Client tells about notifications: a queue's fetcher.
type waker interface {
	notify(kind byte)
	close()
}

// A settlement is a statement whose earlier run had an unknown outcome on a
// connection that is gone: it is run again once the server no longer has
// the backend (pid) that ran the first one, so that nothing that backend
// commits late can undo it.
type settlement struct {
	pid   uint32
	queue string
	sql   string
	args  []any
}

// An Option configures a Client.
type Option func(*Client)

// WithRescueInterval sets how often the Client looks for claims of Clients
// that died, and hands their items out again (default 250ms). A killed
// worker's items are therefore ready again within about this interval after
// the server notices the death, which is at once when its process is killed
// and its TCP connection closes; a machine that vanishes is noticed by TCP
// keepalive. The check is one small query on the owners table.
func WithRescueInterval(d time.Duration) Option {
	return func(c *Client) { c.rescue = d }
}

// WithPollInterval sets the safety poll of waiting getters (default 1s): a
// queue with waiting getters looks for ready items this often even when no
// notification came, in case one was lost with a connection.
func WithPollInterval(d time.Duration) Option {
	return func(c *Client) { c.poll = d }
}

// WithStatementTimeout bounds each statement the queues send (default 30s).
// A statement that times out has its connection closed, and its outcome is
// unknown.
func WithStatementTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// Connect creates the queue tables if they are missing, opens the listening
// connection (a connection of its own, configured like pool's) and takes
// this process's owner lock. The queues use pool for everything else; a
// pool of at least two more connections than workers leaves room for puts,
// claims and the rescuer. Close the Client when done.
func Connect(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Client, error) {
	if pool == nil {
		panic("pg: Connect with a nil pool")
	}
	c := &Client{
		pool:    pool,
		conf:    pool.Config().ConnConfig.Copy(),
		rescue:  250 * time.Millisecond,
		poll:    time.Second,
		timeout: 30 * time.Second,
		ready:   make(chan struct{}),
		queues:  make(map[string]map[waker]struct{}),
	}
	for _, o := range opts {
		o(c)
	}
	if c.rescue <= 0 || c.poll <= 0 || c.timeout <= 0 {
		panic("pg: Connect with an interval or timeout <= 0")
	}
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	conn, err := c.listen(ctx)
	if err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.listener(conn)
	go c.rescuer()
	return c, nil
}

// Close stops the Client: its queues' getters get closed channels, and its
// listening connection is closed, which gives up the owner lock, so that
// claims still held are handed out again by the other processes' rescuers.
// Close waits for the Client's goroutines and for puts in flight; it does not
// close the pool.
func (c *Client) Close() {
	c.mu.Lock()
	c.closing = true
	var ws []waker
	for _, m := range c.queues {
		for w := range m {
			ws = append(ws, w)
		}
	}
	c.mu.Unlock()
	for _, w := range ws {
		w.close()
	}
	c.cancel()
	c.wg.Wait()
}

// listen opens the listening connection, takes a fresh owner id and its
// lock, then registers the row that rescuers look at (lock first: a rescuer
// that saw the row without the lock would take the owner for dead), and
// listens.
func (c *Client) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, c.conf)
	if err != nil {
		return nil, fmt.Errorf("pg: listening connection: %w", err)
	}
	var id int32
	err = conn.QueryRow(ctx, `SELECT id FROM (SELECT nextval('turnstile_owner_seq')::integer AS id) s
		WHERE pg_try_advisory_lock($1, s.id)`, lockClass).Scan(&id)
	if err == nil {
		_, err = conn.Exec(ctx, `INSERT INTO turnstile_owners (id) VALUES ($1)`, id)
	}
	if err == nil {
		_, err = conn.Exec(ctx, `LISTEN `+channel)
	}
	if err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("pg: listening connection: %w", err)
	}
	c.mu.Lock()
	c.owner = id
	c.lost = make(chan struct{})
	close(c.ready)
	c.mu.Unlock()
	return conn, nil
}

// listener receives notifications until Close, and reconnects when the
// connection is lost: the claims of the lost owner are announced lost (the
// other processes may hand them out as soon as the server has noticed), and
// every queue is woken, since notifications may have been missed meanwhile.
func (c *Client) listener(conn *pgx.Conn) {
	defer c.wg.Done()
	pause := 10 * time.Millisecond
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(c.ctx)
			if err != nil {
				break
			}
			c.dispatch(n.Payload)
		}
		if conn != nil {
			conn.Close(context.Background())
			conn = nil
			c.loseOwner()
		}
		if c.ctx.Err() != nil {
			return
		}
		var err error
		if conn, err = c.listen(c.ctx); err != nil {
			select {
			case <-time.After(pause):
			case <-c.ctx.Done():
				return
			}
			pause = min(2*pause, time.Second)
			continue
		}
		pause = 10 * time.Millisecond
		c.wakeAll()
	}
}

func (c *Client) loseOwner() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owner = 0
	close(c.lost)
	c.ready = make(chan struct{})
}

// current returns the current owner id and the channel closed when it is
// lost, waiting while the listening connection reconnects.
func (c *Client) current(ctx context.Context) (int32, <-chan struct{}, error) {
	for {
		c.mu.Lock()
		id, lost, ready := c.owner, c.lost, c.ready
		c.mu.Unlock()
		if id != 0 {
			return id, lost, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

func (c *Client) dispatch(payload string) {
	kind, name, ok := strings.Cut(payload, ":")
	if !ok || len(kind) != 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.queues[name] {
		w.notify(kind[0])
	}
}

func (c *Client) wakeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ws := range c.queues {
		for w := range ws {
			w.notify('p')
			w.notify('e')
		}
	}
}

func (c *Client) register(name string, w waker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queues[name] == nil {
		c.queues[name] = make(map[waker]struct{})
	}
	c.queues[name][w] = struct{}{}
}

func (c *Client) unregister(name string, w waker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.queues[name], w)
	if len(c.queues[name]) == 0 {
		delete(c.queues, name)
	}
}

// rescuer hands out again the items of owners that died, and runs the
// settlements of unknown outcomes, every rescue interval.
func (c *Client) rescuer() {
	defer c.wg.Done()
	t := time.NewTicker(c.rescue)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.ctx.Done():
			return
		}
		c.rescueDead()
		c.settle()
	}
}

// rescueSQL finds owners whose lock nobody holds (the shared try succeeds
// only then; it is a transaction-level lock, gone at the end of the
// statement), deletes their rows and frees their items, counting the attempt
// the dead owner made, and tells every queue concerned. An owner row that a
// claim is reading (FOR KEY SHARE, see claimSQL) is skipped until the next
// round, so no claim can land for an owner whose row is already gone.
const rescueSQL = `
WITH dead AS (
	SELECT id FROM turnstile_owners
	WHERE pg_try_advisory_xact_lock_shared($1, id)
	FOR UPDATE SKIP LOCKED
), gone AS (
	DELETE FROM turnstile_owners o USING dead WHERE o.id = dead.id RETURNING o.id
), freed AS (
	UPDATE turnstile_items SET owner = NULL, claim = NULL,
		last_error = 'pg: the worker was lost (attempt ' || attempts || ')'
	WHERE owner = ANY(ARRAY(SELECT id FROM gone)) RETURNING queue
)
SELECT count(*) FROM (SELECT DISTINCT queue FROM freed) f,
	LATERAL (SELECT pg_notify('` + channel + `', 'p:' || f.queue)) n`

func (c *Client) rescueDead() {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	var n int
	_ = c.pool.QueryRow(ctx, rescueSQL, lockClass).Scan(&n) // next round retries
}

// settle runs the settlements whose backend is gone.
func (c *Client) settle() {
	c.mu.Lock()
	todo := c.settling
	c.settling = nil
	c.mu.Unlock()
	var keep []settlement
	for _, s := range todo {
		if !c.settleOne(s) {
			keep = append(keep, s)
		}
	}
	if len(keep) > 0 {
		c.mu.Lock()
		c.settling = append(c.settling, keep...)
		c.mu.Unlock()
	}
}

func (c *Client) settleOne(s settlement) bool {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	var alive bool
	if err := c.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`,
		int32(s.pid)).Scan(&alive); err != nil || alive {
		return false
	}
	if _, err := c.pool.Exec(ctx, s.sql, s.args...); err != nil {
		return false
	}
	return true
}

// settleLater queues a settlement for the rescuer.
func (c *Client) settleLater(s settlement) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settling = append(c.settling, s)
}

// stmtCtx returns the context statements run under: the Client's, bounded by
// the statement timeout, never the caller's. A caller's ctx decides locally
// whether a call is made; once a statement is sent, its answer is waited
// for, so that pgx never has to cut a connection to cancel it.
func (c *Client) stmtCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, c.timeout)
}

// definite reports whether err says for certain that a statement did not
// take effect: the server answered with an error (an autocommit statement
// that fails is rolled back), or nothing was sent.
func definite(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || pgconn.SafeToRetry(err)
}

// enter counts a goroutine of the Client's (a fetcher, a Put) unless the
// Client is closing.
func (c *Client) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.wg.Add(1)
	return true
}

// run runs fn on a pool connection under the statement context. Waiting for
// the connection is bounded by ctx (nothing has been sent yet, so giving up
// is local); once fn runs, ctx no longer matters. If fn fails with an
// outcome that is unknown, s (if any) settles it: on the same connection if
// it survived, else by the rescuer once the server has finished with the
// connection's backend. The error then wraps dist.ErrOutcomeUnknown.
func (c *Client) run(ctx context.Context, fn func(context.Context, *pgxpool.Conn) error, s *settlement) error {
	sctx, cancel := c.stmtCtx()
	defer cancel()
	actx := ctx
	if ctx.Done() == nil {
		actx = sctx
	}
	conn, err := c.pool.Acquire(actx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("pg: %w", err)
	}
	defer conn.Release()
	if err := ctx.Err(); err != nil {
		return err
	}
	err = fn(sctx, conn)
	if err == nil {
		return nil
	}
	if definite(err) {
		return fmt.Errorf("pg: %w", err)
	}
	if s != nil {
		settled := false
		if !conn.Conn().IsClosed() {
			ctx2, cancel2 := c.stmtCtx()
			_, err2 := conn.Exec(ctx2, s.sql, s.args...)
			cancel2()
			settled = err2 == nil
		}
		if !settled {
			s.pid = conn.Conn().PgConn().PID()
			c.settleLater(*s)
		}
	}
	return fmt.Errorf("pg: %w: %w", dist.ErrOutcomeUnknown, err)
}

// runOrSettle runs fn for the Client itself (no caller waits), with s as its
// settlement; if fn fails for certain (nothing was done), s is left to the
// rescuer to retry until it lands, so that nothing the statement was to give
// back stays claimed by this live process.
func (c *Client) runOrSettle(fn func(context.Context, *pgxpool.Conn) error, s settlement) {
	err := c.run(context.Background(), fn, &s)
	if err != nil && !errors.Is(err, dist.ErrOutcomeUnknown) {
		s.pid = 0 // no backend has pid 0: run at the next round
		c.settleLater(s)
	}
}
