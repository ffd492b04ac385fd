package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// child runs a producer (puts jobs -from to -to) or a worker (does jobs
// until the queue is shut down and drained, then prints how many it did).
func child(ctx context.Context, role string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	dsn := fs.String("dsn", "", "")
	queue := fs.String("queue", "", "")
	from := fs.Int("from", 0, "")
	to := fs.Int("to", 0, "")
	rounds := fs.Int("rounds", 0, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	c, err := pg.Connect(ctx, pool)
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := pg.NewQueue(ctx, c, *queue, pg.JSON[int]())
	if err != nil {
		return err
	}
	defer q.Close()
	switch role {
	case "producer":
		for job := *from; job < *to; job++ {
			if err := <-q.Put(ctx, job); err != nil {
				return fmt.Errorf("put job %d: %w", job, err)
			}
		}
		return nil
	case "worker":
		n := 0
		for {
			it, err := q.GetWait(ctx)
			if errors.Is(err, dist.ErrShutdown) {
				fmt.Fprintf(stdout, "worker %d: %d jobs\n", os.Getpid(), n)
				return nil
			}
			if err != nil {
				return err
			}
			if err := do(ctx, pool, q, it, *rounds); err != nil {
				return err
			}
			n++
		}
	}
	return fmt.Errorf("unknown role %q", role)
}

// do does one job: its result row and its Done commit together. If the
// transaction fails, the job is given back with Fail, to be done again.
func do(ctx context.Context, pool *pgxpool.Pool, q *pg.Queue[int], it *pg.Item[int], rounds int) error {
	sum := sha256.Sum256([]byte(strconv.Itoa(it.Value())))
	for range rounds {
		sum = sha256.Sum256(sum[:])
	}
	tx, err := pool.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, `INSERT INTO job_results (queue, job, hash, pid) VALUES ($1, $2, $3, $4)`,
			q.Name(), it.Value(), sum[:], os.Getpid())
		if err == nil {
			err = it.DoneTx(ctx, tx)
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		if err != nil {
			tx.Rollback(context.Background())
		}
	}
	if err != nil {
		if ferr := it.Fail(context.Background(), err); ferr != nil && !errors.Is(ferr, dist.ErrNotHeld) {
			return errors.Join(err, ferr)
		}
	}
	return nil
}
