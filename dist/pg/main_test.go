package pg_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist/pg/pgtest"
	"go.uber.org/goleak"
)

// server is the PostgreSQL server every test of the package shares; each
// test uses queues of its own name.
var server *pgtest.Server

// TestMain either runs as a worker process (the test binary re-executed by a
// fault test, see worker_test.go) or starts a throwaway server, runs the
// tests, stops the server and fails the run if a goroutine outlived the
// tests.
func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		os.Exit(workerMain(role))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var err error
	server, err = pgtest.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := server.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
