package etcd_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// This file starts the etcd servers the tests run against: real, embedded
// etcd servers on loopback ports, in this process or in a child process
// (the test binary run again) when a test must kill one with SIGKILL. The
// ticks are short, so a server is ready in a fraction of a second.

// config returns the configuration of a one-member cluster keeping its data
// in dir, on free loopback ports. fsync is on only where a test restarts the
// server and needs its data on disk; elsewhere it would only slow the tests.
func config(dir string, fsync bool) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = "t"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cu := url.URL{Scheme: "http", Host: freeAddr()}
	pu := url.URL{Scheme: "http", Host: freeAddr()}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 50
	cfg.UnsafeNoFsync = !fsync
	return cfg
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startEtcd starts an embedded server in this process and waits until it
// serves. The server is closed when the test ends.
func startEtcd(t testing.TB) string {
	t.Helper()
	e, addr, err := serve(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return addr
}

// serve starts a server keeping its data in dir and returns it with its
// client address. A port taken between freeAddr and the listen gets another
// try.
func serve(dir string, fsync bool) (*embed.Etcd, string, error) {
	var err error
	for range 3 {
		cfg := config(dir, fsync)
		var e *embed.Etcd
		if e, err = embed.StartEtcd(cfg); err != nil {
			continue
		}
		select {
		case <-e.Server.ReadyNotify():
			return e, cfg.ListenClientUrls[0].Host, nil
		case <-time.After(10 * time.Second):
			e.Close()
			return nil, "", fmt.Errorf("etcd not ready after 10 s")
		}
	}
	return nil, "", fmt.Errorf("starting etcd: %w", err)
}

// serveChild is the child process's side of startChildEtcd: it serves dir
// until it is killed, after printing "ready ADDR".
func serveChild(dir string) int {
	e, addr, err := serve(dir, true)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer e.Close()
	fmt.Println("ready", addr)
	select {} // until SIGKILL
}

// A childEtcd is a server in a child process, with fsync on.
type childEtcd struct {
	cmd  *exec.Cmd
	addr string
}

// startChildEtcd starts a server on dir in a child process; a later call on
// the same dir restarts it from its data, as a machine's etcd restarts after
// a crash (on another port: clients reach it through a proxy).
func startChildEtcd(t *testing.T, dir string) *childEtcd {
	t.Helper()
	cmd, out := child(t, "serve", dir)
	line, err := out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		t.Fatalf("child etcd: %q, %v", line, err)
	}
	return &childEtcd{cmd: cmd, addr: strings.TrimSpace(strings.TrimPrefix(line, "ready "))}
}

// kill kills the server with SIGKILL and waits for it to be gone.
func (c *childEtcd) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

// childEnv names the role a child process plays, and its argument.
const childEnv = "TURNSTILE_ETCD_TEST_CHILD"

// child runs this test binary again as a child process playing role (see
// TestMain) with arg, and returns it with a reader of its stdout. The child
// is killed when the test ends, if it still runs; its stderr goes to the
// test's.
func child(t *testing.T, role, arg string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	// Killed after two minutes whatever happens, so that a read of its
	// output (which has no deadline of its own) cannot hang the test: the
	// kill closes the pipe and the read fails.
	cmd := exec.CommandContext(bounded(t, 2*time.Minute), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role+" "+arg)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGCONT) // if stopped
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, bufio.NewReader(out)
}

// newClient returns a client of the server at addr, closed when the test
// ends. It reconnects quickly after a cut: the tests cut and heal
// connections in a fraction of a second.
func newClient(t testing.TB, addr string) *clientv3.Client {
	t.Helper()
	cli, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func dial(addr string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   []string{addr},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})},
	})
}

// bounded returns a ctx that ends after d, so that no wait of a test can
// hang it: every wait in these tests has a bound.
func bounded(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
