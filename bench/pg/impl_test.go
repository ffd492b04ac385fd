package pg

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// An impl is one queue under test, driven the same way for both: load n
// items, then run workers that take each item, call seen, and mark it done.
type impl interface {
	// load puts n items in one or a few batches, before the clock starts.
	load(ctx context.Context, n int) error
	// put puts one item stamped with the time of the call.
	put(ctx context.Context) error
	// run starts workers that call seen(put time) for each item; stop
	// waits for them to end.
	run(ctx context.Context, workers int, seen func(time.Time)) (stop func(), err error)
	// reset empties the tables between runs, so that neither side pays
	// for the other's dead rows.
	reset(ctx context.Context) error
}

func newPool(tb testing.TB) *pgxpool.Pool {
	conf, err := pgxpool.ParseConfig(server.DSN())
	if err != nil {
		tb.Fatal(err)
	}
	conf.MaxConns = 24
	pool, err := pgxpool.NewWithConfig(context.Background(), conf)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// ---- turnstile: dist/pg

type turnstileImpl struct {
	pool *pgxpool.Pool
	c    *pg.Client
	q    *pg.Queue[int64]
}

func newTurnstile(tb testing.TB, pool *pgxpool.Pool) *turnstileImpl {
	c, err := pg.Connect(context.Background(), pool)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	q, err := pg.NewQueue(context.Background(), c, "bench", pg.JSON[int64]())
	if err != nil {
		tb.Fatal(err)
	}
	return &turnstileImpl{pool: pool, c: c, q: q}
}

func (t *turnstileImpl) load(ctx context.Context, n int) error {
	vs := make([]int64, 0, 1000)
	for i := 0; i < n; i += len(vs) {
		vs = vs[:min(1000, n-i)]
		if err := t.q.PutBatch(ctx, vs); err != nil {
			return err
		}
	}
	return nil
}

func (t *turnstileImpl) put(ctx context.Context) error {
	return t.q.PutWait(ctx, time.Now().UnixNano())
}

func (t *turnstileImpl) run(ctx context.Context, workers int, seen func(time.Time)) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, workers)
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				it, err := t.q.GetWait(ctx)
				if err != nil {
					return
				}
				seen(time.Unix(0, it.Value()))
				if err := it.Done(ctx); err != nil {
					return
				}
			}
		}()
	}
	return func() {
		cancel()
		for range workers {
			<-done
		}
	}, nil
}

func (t *turnstileImpl) reset(ctx context.Context) error {
	_, err := t.pool.Exec(ctx, `TRUNCATE turnstile_items, turnstile_dead`)
	return err
}

// ---- River

type benchArgs struct {
	Put int64 `json:"put"`
}

func (benchArgs) Kind() string { return "bench" }

type benchWorker struct {
	river.WorkerDefaults[benchArgs]
	seen atomic.Pointer[func(time.Time)]
}

func (w *benchWorker) Work(ctx context.Context, job *river.Job[benchArgs]) error {
	(*w.seen.Load())(time.Unix(0, job.Args.Put))
	return nil
}

type riverImpl struct {
	pool   *pgxpool.Pool
	insert *river.Client[pgx.Tx]
}

func newRiver(tb testing.TB, pool *pgxpool.Pool) *riverImpl {
	ctx := context.Background()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		tb.Fatal(err)
	}
	// An insert-only client (no queues, no workers).
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	return &riverImpl{pool: pool, insert: c}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (r *riverImpl) load(ctx context.Context, n int) error {
	ps := make([]river.InsertManyParams, 0, 1000)
	for i := 0; i < n; i += len(ps) {
		ps = ps[:0]
		for range min(1000, n-i) {
			ps = append(ps, river.InsertManyParams{Args: benchArgs{}})
		}
		if _, err := r.insert.InsertManyFast(ctx, ps); err != nil {
			return err
		}
	}
	return nil
}

func (r *riverImpl) put(ctx context.Context) error {
	_, err := r.insert.Insert(ctx, benchArgs{Put: time.Now().UnixNano()}, nil)
	return err
}

// run starts a River client with workers slots. FetchCooldown is set to its
// minimum (1ms; the default, 100ms, caps a client at MaxWorkers jobs per
// 100ms), so that River runs as fast as its configuration allows.
func (r *riverImpl) run(ctx context.Context, workers int, seen func(time.Time)) (func(), error) {
	w := &benchWorker{}
	w.seen.Store(&seen)
	ws := river.NewWorkers()
	river.AddWorker(ws, w)
	c, err := river.NewClient(riverpgxv5.New(r.pool), &river.Config{
		Logger:        quiet(),
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		Workers:       ws,
		FetchCooldown: time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.Stop(sctx)
	}, nil
}

func (r *riverImpl) reset(ctx context.Context) error {
	_, err := r.pool.Exec(ctx, `TRUNCATE river_job`)
	return err
}
