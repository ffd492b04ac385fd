package pg_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// The fault tests run workers as separate processes: the test binary
// re-executed with envRole set, so that TestMain runs workerMain instead of
// the tests. A worker reads its server and queue from the environment.
const (
	envRole  = "TURNSTILE_PG_ROLE"
	envDSN   = "TURNSTILE_PG_DSN"
	envQueue = "TURNSTILE_PG_QUEUE"
)

// doneLog is the ledger of the fault tests: a worker inserts a row for an
// item in the same transaction as the item's DoneTx, so the item is done
// exactly when its row is committed, and a row counted twice would be an
// item done twice.
const doneLog = `CREATE TABLE IF NOT EXISTS done_log (queue text NOT NULL, v integer NOT NULL, pid integer NOT NULL)`

// workerMain is a worker process's main. Roles:
//   - work: take items with randomly cancelled gets, do each (a done_log row
//     and DoneTx in one transaction, after up to 2ms of "work"), until the
//     queue is shut down and drained;
//   - hold: claim one item, print "holding <v>", and wait to be killed;
//   - workjoin: work with two goroutines, wait for Join, then print
//     "joined <rows in done_log for the queue>" and exit.
func workerMain(role string) int {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv(envDSN))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Close()
	c, err := pg.Connect(ctx, pool, clientOpts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	q, err := pg.NewQueue(ctx, c, os.Getenv(envQueue), pg.JSON[int]())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch role {
	case "work":
		return work(ctx, pool, q, rand.New(rand.NewPCG(uint64(os.Getpid()), 2)))
	case "hold":
		it, err := q.GetWait(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("holding %d\n", it.Value())
		select {} // until killed
	case "workjoin":
		wctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() { work(wctx, pool, q, rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(g)))) })
		}
		<-q.Join()
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM done_log WHERE queue = $1`, q.Name()).Scan(&n)
		stop()
		wg.Wait()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("joined %d\n", n)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 2
}

// work does items until the queue is shut down and drained (0), ctx ends
// (0), or something unexpected happens (1).
func work(ctx context.Context, pool *pgxpool.Pool, q *pg.Queue[int], r *rand.Rand) int {
	for ctx.Err() == nil {
		gctx, cancel := context.WithTimeout(ctx, time.Duration(r.IntN(20000))*time.Microsecond)
		it, err := q.GetWait(gctx)
		cancel()
		switch {
		case errors.Is(err, dist.ErrShutdown):
			return 0
		case err != nil:
			continue // the get's ctx ended: try again
		}
		// An error leaves the item to be handed out again (the server
		// may be restarting): go on.
		doItem(ctx, pool, q, it, r)
	}
	return 0
}

// doItem records the item in done_log and marks it done, in one
// transaction. If the transaction does not commit, the item is given back
// with Fail (safe even when the commit's outcome is unknown: Fail waits on
// the row that the transaction deleted, and finds it gone if it committed).
func doItem(ctx context.Context, pool *pgxpool.Pool, q *pg.Queue[int], it *pg.Item[int], r *rand.Rand) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return errors.Join(err, it.Fail(context.Background(), err))
	}
	_, err = tx.Exec(ctx, `INSERT INTO done_log (queue, v, pid) VALUES ($1, $2, $3)`, q.Name(), it.Value(), os.Getpid())
	if err == nil && r != nil {
		time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond) // the work
	}
	if err == nil {
		err = it.DoneTx(ctx, tx)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err == nil {
		return nil
	}
	tx.Rollback(context.Background())
	if ferr := it.Fail(context.Background(), err); !errors.Is(ferr, dist.ErrNotHeld) {
		return errors.Join(err, ferr)
	}
	return nil
}

// A proc is a worker process started by a test.
type proc struct {
	cmd    *exec.Cmd
	stderr *lockedWriter
	lines  chan string // its stdout, line by line; closed at EOF
	exit   chan error  // cmd.Wait's result
}

// startWorker starts a worker process of the given role on queue.
func startWorker(t *testing.T, role, queue string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"="+role, envDSN+"="+server.DSN(), envQueue+"="+queue)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedWriter{w: new(strings.Builder)}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: stderr, lines: make(chan string, 16), exit: make(chan error, 1)}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
		io.Copy(io.Discard, out)
		close(p.lines)
		err := cmd.Wait()
		if err != nil && stderr.String() != "" {
			err = fmt.Errorf("%w\n%s", err, stderr.String())
		}
		p.exit <- err
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return p
}

// kill kills the process with SIGKILL and waits for it.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	select {
	case <-p.exit:
	case <-time.After(30 * time.Second):
		t.Fatal("a killed worker did not exit")
	}
}

// line returns the next line the process prints, bounded in time.
func (p *proc) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("worker exited without a line: %v", <-p.exit)
		}
		return l
	case <-time.After(time.Minute):
		p.cmd.Process.Signal(syscall.SIGQUIT) // its goroutines' stacks, on stderr
		select {
		case <-p.exit:
		case <-time.After(10 * time.Second):
		}
		t.Fatalf("no line from the worker within a minute; its stderr:\n%s", p.stderr.String())
	}
	return ""
}

// wait waits for the process to exit by itself and returns its error.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.exit:
		return err
	case <-time.After(time.Minute):
		t.Fatal("worker did not exit within a minute")
	}
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
