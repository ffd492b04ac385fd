package pg_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// Tests shorten the rescue interval so that fault tests are quick; the
// redelivery bound they check (1s) holds with the default too.
var clientOpts = []pg.Option{
	pg.WithRescueInterval(100 * time.Millisecond),
	pg.WithPollInterval(500 * time.Millisecond),
}

// newPool opens a pool on the test server, closed at the test's end.
func newPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	conf, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conf.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newClient connects a Client to the test server, closed at the test's end
// (before its pool).
func newClient(t testing.TB) (*pg.Client, *pgxpool.Pool) {
	t.Helper()
	pool := newPool(t, server.DSN())
	c, err := pg.Connect(ctx(t), pool, clientOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, pool
}

var queueSeq atomic.Int64

// queueName returns a name no other test uses.
func queueName(t testing.TB) string {
	return fmt.Sprintf("t%d_%s", queueSeq.Add(1), t.Name())
}

// newQueue opens a fresh queue of ints on c.
func newQueue(t testing.TB, c *pg.Client, opts ...pg.QueueOption) *pg.Queue[int] {
	t.Helper()
	q, err := pg.NewQueue(ctx(t), c, queueName(t), pg.JSON[int](), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// ctx returns a context that bounds a test's waits.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
