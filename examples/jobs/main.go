// Command jobs runs a work queue across processes on one PostgreSQL
// database, with dist/pg: producer processes put jobs, worker processes
// take them, each job's result is written in the same transaction that marks
// it done, and the coordinating process shows progress on stderr and waits
// on Join until every job is done, then shuts the queue down, which ends the
// workers.
//
// A job here is to hash its number -rounds times (SHA-256); its result row
// holds the hash and the worker's pid. With -kill n, the coordinator kills n
// workers with SIGKILL along the way: their jobs are handed out again to the
// others within about a second, and every job still has exactly one result.
//
// Run it with:
//
//	go run . [-jobs 2000] [-producers 2] [-workers 3] [-rounds 10000] [-kill 0] [-dsn postgres://...]
//
// Without -dsn it starts a throwaway PostgreSQL server of its own (initdb
// and pg_ctl on a free loopback port, in a temporary directory that is
// removed at the end), which needs the PostgreSQL server binaries: on
// Debian, apt-get install -y postgresql.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// envRole, when set, makes the program a producer or a worker started by the
// coordinator (the same binary, re-executed), rather than the coordinator.
const envRole = "JOBS_ROLE"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if role := os.Getenv(envRole); role != "" {
		err = child(ctx, role, os.Args[1:], os.Stdout)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "jobs:", err)
		os.Exit(1)
	}
}

// options are the coordinator's flags.
type options struct {
	jobs, producers, workers, rounds, kill int
	dsn                                    string
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.jobs, "jobs", 2000, "how many jobs the producers put in all")
	fs.IntVar(&o.producers, "producers", 2, "how many producer processes")
	fs.IntVar(&o.workers, "workers", 3, "how many worker processes")
	fs.IntVar(&o.rounds, "rounds", 10000, "SHA-256 rounds per job (its cost)")
	fs.IntVar(&o.kill, "kill", 0, "kill this many workers with SIGKILL along the way (their jobs are handed out again)")
	fs.StringVar(&o.dsn, "dsn", "", "PostgreSQL connection string (default: start a throwaway server)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.jobs < 0 || o.producers < 1 || o.workers < 1 || o.rounds < 0 || o.kill < 0 || o.kill >= o.workers {
		return o, errors.New("need -jobs >= 0, -producers >= 1, -workers >= 1, -rounds >= 0, 0 <= -kill < -workers")
	}
	return o, nil
}
