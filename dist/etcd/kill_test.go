package etcd_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

// Faults of the holder's process: killed with SIGKILL, or paused with
// SIGSTOP past its lease's time to live. The holder is the test binary run
// again as a child process (holdChild).

// holdTTL is the holder's lease time to live in these tests.
const holdTTL = 2 * time.Second

// holdChild is the child holder: it takes the lock named in arg ("ADDR
// NAME"), prints "held TOKEN", and then, every few milliseconds, "write
// TOKEN" (what a holder writes to the resource the lock protects, with its
// fencing token), "renewed" when its session renewed the lease, and "lost"
// when its grant was lost, after which it exits.
func holdChild(arg string) int {
	addr, name, _ := strings.Cut(arg, " ")
	cli, err := dial(addr)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := etcd.NewSession(ctx, cli, etcd.WithTTL(holdTTL))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	g, err := etcd.NewLock(s, name).AcquireWait(ctx)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("held", g.Token())
	out := bufio.NewWriter(os.Stdout)
	dl := s.Deadline()
	for {
		select {
		case <-g.Lost():
			fmt.Fprintln(out, "lost")
			out.Flush()
			return 0
		case <-ctx.Done():
			return 1
		case <-time.After(5 * time.Millisecond):
		}
		if d := s.Deadline(); !d.Equal(dl) {
			dl = d
			fmt.Fprintln(out, "renewed")
		}
		fmt.Fprintln(out, "write", g.Token())
		out.Flush()
	}
}

// holder starts a child holder of the lock name and returns it with its
// token and a channel of its further lines.
func holder(t *testing.T, addr, name string) (pid int, token int64, lines <-chan string) {
	t.Helper()
	cmd, out := child(t, "hold", addr+" "+name)
	first, err := out.ReadString('\n')
	tok, ok := strings.CutPrefix(strings.TrimSpace(first), "held ")
	if err != nil || !ok {
		t.Fatalf("holder: %q, %v", first, err)
	}
	token, err = strconv.ParseInt(tok, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1024)
	go func() {
		defer close(ch)
		for {
			l, err := out.ReadString('\n')
			if err != nil {
				return
			}
			ch <- strings.TrimSpace(l)
		}
	}()
	return cmd.Process.Pid, token, ch
}

// afterRenewal waits for the holder's next renewal, then for lag more, so
// that its lease has the time to live less lag left on the server: the
// moment a test acts is then known to within a few milliseconds of the
// lease's last renewal.
func afterRenewal(t *testing.T, lines <-chan string, lag time.Duration) {
	t.Helper()
	timeout := time.After(holdTTL)
	for {
		select {
		case l := <-lines:
			if l == "renewed" {
				time.Sleep(lag)
				return
			}
		case <-timeout:
			t.Fatal("the holder did not renew its lease")
		}
	}
}

// drain consumes lines until the channel closes, so that the child never
// blocks on a full pipe.
func drain(lines <-chan string) {
	go func() {
		for range lines {
		}
	}()
}

// A holder killed with SIGKILL releases nothing; the server expires its
// lease, and the next waiter is granted within TTL + 0.5 s of the kill (the
// server checks for expired leases every 500 ms).
func TestHolderKilled(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	pid, token, lines := holder(t, addr, "killed")
	s := newSession(t, newClient(t, addr))
	l := etcd.NewLock(s, "killed")
	ctx := bounded(t, 20*time.Second)
	w := l.Acquire(ctx) // queued behind the child
	select {
	case <-w:
		t.Fatal("granted while the child holds")
	default:
	}
	afterRenewal(t, lines, 100*time.Millisecond)
	killed := time.Now()
	is.NoErr(syscall.Kill(pid, syscall.SIGKILL))
	drain(lines)
	g, ok := <-w
	is.True(ok)
	took := time.Since(killed)
	t.Logf("granted %v after the kill (TTL %v)", took.Round(time.Millisecond), holdTTL)
	if took > holdTTL+500*time.Millisecond {
		t.Errorf("granted %v after the kill, want within TTL + 0.5 s", took)
	}
	is.True(g.Token() > token)
	g.Release()
}

// A holder paused with SIGSTOP cannot renew its lease, nor close Lost while
// it is stopped: the server expires its lease and grants the next waiter,
// whose token is higher. The paused holder, resumed, finds its grant lost;
// whatever it wrote in between carries its old token, which a fenced
// resource refuses (D4, D5: a pause is what tokens are for).
func TestHolderPaused(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	pid, token, lines := holder(t, addr, "paused")
	s := newSession(t, newClient(t, addr))
	l := etcd.NewLock(s, "paused")
	ctx := bounded(t, 20*time.Second)
	w := l.Acquire(ctx)
	afterRenewal(t, lines, 100*time.Millisecond)
	stopped := time.Now()
	is.NoErr(syscall.Kill(pid, syscall.SIGSTOP))
	g, ok := <-w
	is.True(ok)
	took := time.Since(stopped)
	t.Logf("granted %v after the pause (TTL %v)", took.Round(time.Millisecond), holdTTL)
	if took > holdTTL+500*time.Millisecond {
		t.Errorf("granted %v after the pause, want within TTL + 0.5 s", took)
	}
	is.True(g.Token() > token)

	// The resource the lock protects: it refuses writes with a token below
	// the highest it has seen. The new holder writes first.
	highest := g.Token()
	for len(lines) > 0 { // writes made before the pause
		<-lines
	}
	is.NoErr(syscall.Kill(pid, syscall.SIGCONT))
	refused := 0
	timeout := time.After(10 * time.Second)
	for lost := false; !lost; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the holder exited without reporting its grant lost")
			}
			if tok, isWrite := strings.CutPrefix(line, "write "); isWrite {
				if n, _ := strconv.ParseInt(tok, 10, 64); n < highest {
					refused++
				} else {
					t.Fatalf("a write with token %s accepted after token %d", tok, highest)
				}
			}
			lost = line == "lost"
		case <-timeout:
			t.Fatal("the resumed holder did not find its grant lost")
		}
	}
	t.Logf("the resumed holder wrote %d times with its old token before it saw Lost; all refused", refused)
	g.Release()
}
