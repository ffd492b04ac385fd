package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist/pg"
	"github.com/turnstile-go/turnstile/dist/pg/pgtest"
)

// results holds one row per job done, written in the transaction that marks
// the job done, so that a job has a row exactly when it is done.
const results = `CREATE TABLE IF NOT EXISTS job_results (
	queue text NOT NULL, job integer NOT NULL, hash bytea NOT NULL, pid integer NOT NULL)`

// run is the coordinator: it starts the producers and workers, shows
// progress until Join says every job is done, shuts the queue down so that
// the workers leave, and checks and reports the results.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	// The children's stderr and the progress line share it.
	stderr = &syncWriter{w: stderr}
	if o.dsn == "" {
		srv, err := pgtest.Start(ctx)
		if err != nil {
			return err
		}
		defer srv.Stop()
		o.dsn = srv.DSN()
		fmt.Fprintf(stderr, "jobs: started a throwaway PostgreSQL on 127.0.0.1:%d\n", srv.Port())
	}
	pool, err := pgxpool.New(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	c, err := pg.Connect(ctx, pool)
	if err != nil {
		return err
	}
	defer c.Close()
	name := "jobs-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	q, err := pg.NewQueue(ctx, c, name, pg.JSON[int]())
	if err != nil {
		return err
	}
	defer q.Close()
	if _, err := pool.Exec(ctx, results); err != nil {
		return err
	}

	common := []string{"-dsn", o.dsn, "-queue", name}
	var summary []string
	var mu sync.Mutex
	collect := func(line string) {
		mu.Lock()
		summary = append(summary, line)
		mu.Unlock()
	}
	var producers, workers []*exec.Cmd
	for i := range o.workers {
		cmd, err := start(ctx, "worker", append(common, "-rounds", strconv.Itoa(o.rounds)), collect, stderr)
		if err != nil {
			return fmt.Errorf("worker %d: %w", i, err)
		}
		workers = append(workers, cmd)
	}
	for i := range o.producers {
		from, to := o.jobs*i/o.producers, o.jobs*(i+1)/o.producers
		cmd, err := start(ctx, "producer", append(common, "-from", strconv.Itoa(from), "-to", strconv.Itoa(to)), collect, stderr)
		if err != nil {
			return fmt.Errorf("producer %d: %w", i, err)
		}
		producers = append(producers, cmd)
	}
	// Shut the queue down on every way out, so that the workers leave.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Shutdown(sctx, false)
		for _, w := range workers {
			w.Wait()
		}
	}()

	// Join can close while producers are still starting (nothing put yet):
	// progress waits on it only once every job is put.
	var perr error
	putDone := make(chan struct{})
	go func() {
		defer close(putDone)
		for _, p := range producers {
			perr = errors.Join(perr, p.Wait())
		}
	}()
	// Kill -kill workers along the way, at evenly spaced points of progress
	// (not once everything is done: that would show nothing).
	killed := make(map[*exec.Cmd]bool)
	onProgress := func(done int) {
		for len(killed) < o.kill && done >= o.jobs*(len(killed)+1)/(o.kill+1) && done < o.jobs {
			w := workers[len(killed)]
			w.Process.Kill()
			killed[w] = true
			fmt.Fprintf(stderr, "\njobs: killed worker %d (SIGKILL) at %d/%d done\n", w.Process.Pid, done, o.jobs)
		}
	}
	err = progress(ctx, pool, q, o.jobs, stderr, putDone, onProgress)
	<-putDone
	if perr != nil {
		return fmt.Errorf("a producer failed: %w", perr)
	}
	if err != nil {
		return err
	}
	if err := q.Shutdown(ctx, false); err != nil {
		return err
	}
	var werr error
	for _, w := range workers {
		if err := w.Wait(); err != nil && !killed[w] {
			werr = errors.Join(werr, err)
		}
	}
	workers = nil
	if werr != nil {
		return fmt.Errorf("a worker failed: %w", werr)
	}

	var rows, distinct int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT job) FROM job_results WHERE queue = $1`,
		name).Scan(&rows, &distinct); err != nil {
		return err
	}
	if rows != o.jobs || distinct != o.jobs {
		return fmt.Errorf("%d jobs put, %d results for %d distinct jobs", o.jobs, rows, distinct)
	}
	fmt.Fprintf(stdout, "all %d jobs done by %d workers, each exactly once\n", o.jobs, o.workers)
	if len(killed) > 0 {
		fmt.Fprintf(stdout, "(%d of them killed along the way; their jobs were handed out again)\n", len(killed))
	}
	slices.Sort(summary)
	for _, s := range summary {
		fmt.Fprintln(stdout, s)
	}
	return nil
}

// progress shows "jobs: 1234/2000 done, 17 queued or running" on stderr,
// rewritten in place, until the queue's Join channel is closed, which it
// asks for once putDone is closed. Each time, it calls onProgress with the
// number of jobs done.
func progress(ctx context.Context, pool *pgxpool.Pool, q *pg.Queue[int], total int, stderr io.Writer,
	putDone <-chan struct{}, onProgress func(done int)) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	show := func() {
		var done int
		pool.QueryRow(ctx, `SELECT count(*) FROM job_results WHERE queue = $1`, q.Name()).Scan(&done)
		left, _ := q.Unfinished(ctx)
		fmt.Fprintf(stderr, "\rjobs: %d/%d done, %d queued or running ", done, total, left)
		onProgress(done)
	}
	var join <-chan struct{} // nil until every job is put
	for {
		select {
		case <-putDone:
			putDone = nil
			join = q.Join()
		case <-join:
			show()
			fmt.Fprintln(stderr)
			return nil
		case <-t.C:
			show()
		case <-ctx.Done():
			fmt.Fprintln(stderr)
			return ctx.Err()
		}
	}
}

// start re-executes this program as a producer or worker. Each line the
// child prints goes to collect; its stderr goes to ours.
func start(ctx context.Context, role string, args []string, collect func(string), stderr io.Writer) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), envRole+"="+role)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			collect(s.Text())
		}
	}()
	return cmd, nil
}

// A syncWriter serializes writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
