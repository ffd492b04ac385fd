package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"
)

// TestMain runs the re-executed children (the test binary is the program's
// binary here), or else the tests and then the leak check.
func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		if err := child(context.Background(), role, os.Args[1:], os.Stdout); err != nil {
			os.Stderr.WriteString("jobs child: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestRun runs the whole program: its own PostgreSQL, two producer and
// three worker processes. Every job is done exactly once (run checks the
// results table), the workers' counts add up, and progress was shown.
func TestRun(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-jobs", "300", "-producers", "2", "-workers", "3", "-rounds", "100"}, &stdout, &stderr)
	is.NoErr(err)
	out := stdout.String()
	is.True(strings.HasPrefix(out, "all 300 jobs done by 3 workers, each exactly once\n"))
	sum := 0
	for _, m := range regexp.MustCompile(`(?m)^worker \d+: (\d+) jobs$`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		sum += n
	}
	is.Equal(sum, 300)
	is.True(strings.Contains(stderr.String(), "jobs: 300/300 done, 0 queued or running"))
}

func TestBadFlags(t *testing.T) {
	is := is.New(t)
	var out, errs bytes.Buffer
	is.True(run(context.Background(), []string{"-workers", "0"}, &out, &errs) != nil)
	is.True(run(context.Background(), []string{"-workers", "2", "-kill", "2"}, &out, &errs) != nil)
}

// TestRunKillingWorkers: one of three workers is killed with SIGKILL along
// the way; every job is still done exactly once (run checks the results).
func TestRunKillingWorkers(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-jobs", "400", "-workers", "3", "-rounds", "20000", "-kill", "1"}, &stdout, &stderr)
	is.NoErr(err)
	is.True(strings.HasPrefix(stdout.String(), "all 400 jobs done by 3 workers, each exactly once\n"))
	m := regexp.MustCompile(`jobs: killed worker \d+ \(SIGKILL\) at (\d+)/400 done`).FindStringSubmatch(stderr.String())
	is.True(m != nil)
	at, _ := strconv.Atoi(m[1])
	is.True(at < 400) // killed while there was work left
}
