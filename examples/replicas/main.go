// Command replicas runs three replicas of a service as three processes that
// coordinate through etcd, with package dist/etcd:
//
//   - a Lock, "replicas/migrate", and an Event, "replicas/migrated": the
//     replicas start together and every one wants the schema migrated
//     before it works; each waits for whichever comes first, the lock or the
//     event (selectx.Select takes one and gives the other back), so exactly
//     one replica migrates, and the others, woken by the event, withdraw
//     from the lock's line;
//   - a Semaphore of 2, "replicas/slots": every replica runs its jobs at
//     once, but no more than 2 jobs run at a time across all replicas,
//     served in the order they asked (FIFO across processes).
//
// Run it with:
//
//	cd examples/replicas && go run . [-replicas 3] [-jobs 6] [-work 100ms] [-etcd 127.0.0.1:2379]
//
// Without -etcd it starts an embedded etcd server on a free loopback port
// for the run, in a temporary directory, so it needs nothing installed. It
// starts the replicas as child processes of itself, prints every event they
// report, a progress line on stderr, and a summary: how many migrations ran
// (always 1), the most jobs it saw running at once across the replicas
// (never above 2), and whether every slot grant had a fencing token of its
// own (always: no grant is given twice).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	exe, err := os.Executable()
	if err == nil {
		_, err = run(ctx, os.Args[1:], func(args ...string) *exec.Cmd { return exec.Command(exe, args...) }, os.Stdout, os.Stderr)
	}
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// A summary is what the coordinator saw.
type summary struct {
	replicas, jobs int // replicas run, jobs done
	migrations     int
	migratedBy     int
	maxRunning     int   // jobs running at once, at most
	tokensDistinct bool  // no two slot grants had the same token
	tokens         []int // the slot tokens, as reported
}

// run is the command. spawn makes the command of a child process with the
// given arguments (this program run again, or a test binary).
func run(ctx context.Context, args []string, spawn func(args ...string) *exec.Cmd, stdout, stderr io.Writer) (summary, error) {
	fs := flag.NewFlagSet("replicas", flag.ContinueOnError)
	addr := fs.String("etcd", "", "the etcd server (default: an embedded one on 127.0.0.1 for the run)")
	replicas := fs.Int("replicas", 3, "replica processes")
	jobs := fs.Int("jobs", 6, "jobs per replica")
	work := fs.Duration("work", 100*time.Millisecond, "how long a job works (the migration: three times that)")
	id := fs.Int("replica", -1, "run as replica `N` (the coordinator starts these)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return summary{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *id >= 0 {
		return summary{}, replica(ctx, *addr, *id, *jobs, *work, stdout)
	}
	if *replicas < 1 || *jobs < 0 {
		return summary{}, fmt.Errorf("-replicas %d, -jobs %d", *replicas, *jobs)
	}
	if *addr == "" {
		stop, a, err := embedded()
		if err != nil {
			return summary{}, err
		}
		defer stop()
		*addr = a
		fmt.Fprintf(stdout, "etcd serving on %s (embedded)\n", a)
	}

	stderr = &syncWriter{w: stderr} // the replicas' stderr and the progress line
	lines := make(chan string)
	waits := make(chan error, *replicas)
	// However run returns (done, a replica failed, ctx ended), no replica
	// outlives it and no reader of theirs stays blocked on lines.
	quit := make(chan struct{})
	var procs []*os.Process
	defer func() {
		close(quit)
		for _, p := range procs {
			p.Kill() // an error for one that has exited: nothing to do
		}
	}()
	for i := range *replicas {
		cmd := spawn("-replica", strconv.Itoa(i), "-etcd", *addr, "-jobs", strconv.Itoa(*jobs), "-work", work.String())
		cmd.Stderr = stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return summary{}, err
		}
		if err := cmd.Start(); err != nil {
			return summary{}, err
		}
		procs = append(procs, cmd.Process)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				select {
				case lines <- sc.Text():
				case <-quit:
				}
			}
			waits <- cmd.Wait()
		}()
	}

	sum := summary{replicas: *replicas, migratedBy: -1, tokensDistinct: true}
	total := *replicas * *jobs
	var events []event
	for exited := 0; exited < *replicas; {
		select {
		case line := <-lines:
			fmt.Fprintln(stdout, line)
			ev, err := parse(line)
			if err != nil {
				return sum, err
			}
			switch ev.kind {
			case "migrated":
				sum.migrations++
				sum.migratedBy = ev.replica
			case "start":
				if slices.Contains(sum.tokens, ev.token) {
					sum.tokensDistinct = false
				}
				sum.tokens = append(sum.tokens, ev.token)
				events = append(events, ev)
			case "end":
				sum.jobs++
				events = append(events, ev)
			}
			fmt.Fprintf(stderr, "\rreplicas: %d/%d jobs done, %d running, %d migration(s)  ", sum.jobs, total, running(events), sum.migrations)
		case err := <-waits:
			exited++
			if err != nil {
				return sum, fmt.Errorf("a replica failed: %w", err)
			}
		case <-ctx.Done():
			return sum, fmt.Errorf("replicas still running: %w", ctx.Err())
		}
	}
	fmt.Fprintln(stderr)
	sum.maxRunning = maxRunning(events)
	fmt.Fprintf(stdout, "%d replicas, %d jobs done, at most %d running at once (limit %d), %d migration (by replica %d), a token of its own for every slot: %v\n",
		sum.replicas, sum.jobs, sum.maxRunning, limit, sum.migrations, sum.migratedBy, sum.tokensDistinct)
	return sum, nil
}

// An event is one line of a replica's report.
type event struct {
	kind    string
	replica int
	token   int
	at      int64 // wall clock, ns
}

func parse(line string) (event, error) {
	f := strings.Fields(line)
	bad := fmt.Errorf("a replica reported %q", line)
	if len(f) < 2 {
		return event{}, bad
	}
	ev := event{kind: f[0]}
	n := make([]int, 0, 4)
	for _, s := range f[1:] {
		v, err := strconv.Atoi(s)
		if err != nil {
			return event{}, bad
		}
		n = append(n, v)
	}
	ev.replica = n[0]
	switch {
	case ev.kind == "migrated" && len(n) == 2:
		ev.token = n[1]
	case ev.kind == "skipped" && len(n) == 1:
	case ev.kind == "start" && len(n) == 4:
		ev.token, ev.at = n[2], int64(n[3])
	case ev.kind == "end" && len(n) == 3:
		ev.at = int64(n[2])
	default:
		return event{}, bad
	}
	return ev, nil
}

// running returns the jobs started and not ended among events.
func running(events []event) int {
	n := 0
	for _, ev := range events {
		if ev.kind == "start" {
			n++
		} else {
			n--
		}
	}
	return n
}

// maxRunning returns the most jobs running at once, by the replicas' wall
// clocks: a job ends (and its replica releases) before the grant it makes
// possible is received, so on one machine's clock a start never precedes
// the end that let it in.
func maxRunning(events []event) int {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b event) int {
		if a.at != b.at {
			return int(min(max(a.at-b.at, -1), 1))
		}
		if a.kind == b.kind {
			return 0
		}
		if a.kind == "end" { // an end at the same instant goes first
			return -1
		}
		return 1
	})
	most, n := 0, 0
	for _, ev := range evs {
		if ev.kind == "start" {
			n++
		} else {
			n--
		}
		most = max(most, n)
	}
	return most
}

// embedded starts a one-member etcd on free loopback ports, keeping its data
// in a temporary directory, and returns the func that stops it and removes
// the directory, and its client address.
func embedded() (func(), string, error) {
	dir, err := os.MkdirTemp("", "replicas-etcd-")
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = "replicas"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cu, pu := url.URL{Scheme: "http", Host: freeAddr()}, url.URL{Scheme: "http", Host: freeAddr()}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 50 // ready in a fraction of a second
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(10 * time.Second):
		e.Close()
		os.RemoveAll(dir)
		return nil, "", errors.New("embedded etcd not ready after 10 s")
	}
	return func() { e.Close(); os.RemoveAll(dir) }, cu.Host, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncWriter serializes writes from several goroutines (the children's
// stderr copiers and the progress line).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
