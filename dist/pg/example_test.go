package pg_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// dsn is where the examples connect: the test server here, your database
// in your program.
func dsn() string { return server.DSN() }

// A producer puts jobs; a worker, in this or any other process, gets each
// one, does it, and marks it done; Join says when every job is done.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn())
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	c, err := pg.Connect(ctx, pool) // one per process
	if err != nil {
		panic(err)
	}
	defer c.Close()
	q, err := pg.NewQueue(ctx, c, "example-emails", pg.JSON[string]())
	if err != nil {
		panic(err)
	}

	for _, to := range []string{"ada@example.com", "bob@example.com"} {
		if err := <-q.Put(ctx, to); err != nil { // nil: committed
			panic(err)
		}
	}
	for range 2 {
		it := <-q.Get(ctx) // claimed by this process until Done or Fail
		fmt.Println("sending to", it.Value(), "attempt", it.Attempt())
		if err := it.Done(ctx); err != nil {
			panic(err)
		}
	}
	<-q.Join()
	fmt.Println("all sent")
	// Output:
	// sending to ada@example.com attempt 1
	// sending to bob@example.com attempt 1
	// all sent
}

// DoneTx commits the job's own writes and its removal from the queue in one
// transaction: the job is done exactly when its work is.
func ExampleItem_DoneTx() {
	ctx := context.Background()
	pool, _ := pgxpool.New(ctx, dsn())
	defer pool.Close()
	c, _ := pg.Connect(ctx, pool)
	defer c.Close()
	q, _ := pg.NewQueue(ctx, c, "example-invoices", pg.JSON[int]())
	pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS example_invoices (id int PRIMARY KEY)`)

	if err := q.PutWait(ctx, 1001); err != nil {
		panic(err)
	}
	it, err := q.GetWait(ctx)
	if err != nil {
		panic(err)
	}
	tx, _ := pool.Begin(ctx)
	_, err = tx.Exec(ctx, `INSERT INTO example_invoices (id) VALUES ($1)`, it.Value())
	if err == nil {
		err = it.DoneTx(ctx, tx)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		tx.Rollback(ctx)
		it.Fail(ctx, err) // handed out again
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM example_invoices`).Scan(&n)
	fmt.Println("invoices:", n)
	// Output:
	// invoices: 1
}
