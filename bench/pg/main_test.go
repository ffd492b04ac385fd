// Package pg compares dist/pg's Queue with River, another SKIP LOCKED job
// queue for Go on PostgreSQL, on one throwaway server in one run: items per
// second through 1 and 8 workers, and put-to-get latency. See BENCHMARKS.md.
package pg

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist/pg/pgtest"
	"go.uber.org/goleak"
)

var server *pgtest.Server

// TestMain starts the server, runs the benchmarks (and the test that checks
// both queues deliver), stops the server and checks for leaked goroutines.
func TestMain(m *testing.M) {
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
