// Command deadlock deadlocks two workers on purpose, and shows what
// turnstile's tracking says about them: each worker holds one chans.Lock and
// waits for the other's, the classic lock-order inversion.
//
// Run it with:
//
//	go run ./examples/deadlock [-serve] [-listen 127.0.0.1:0] [-wait 5s]
//
// It tracks the two locks by name (chans.Track), starts the workers, and
// waits until both are stuck: each holding its first lock and queued for its
// second, which it reads from the locks' Stats. Then it serves the debug page
// (package debug) on 127.0.0.1 and prints its address, prints the text dump
// that names both locks and, for each, the stack of the worker holding it and
// of the worker waiting for it, and names the cycle it finds in the Stats.
// Then it ends the workers (their ctx) and exits; with -serve it keeps the
// page up until interrupted (Ctrl-C), so you can look at it in a browser. A
// progress line on stderr says what it is waiting for.
//
// The same page, on a real program, is one line away:
//
//	http.Handle("/debug/turnstile/", debug.Handler())
//
// plus chans.Track for the primitives you suspect, or TURNSTILE_TRACK=1 for
// all of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/debug"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "deadlock:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deadlock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve the debug page on")
	serve := fs.Bool("serve", false, "keep serving the page after the dump, until interrupted")
	wait := fs.Duration("wait", 5*time.Second, "how long to wait for the workers to deadlock")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var accounts, ledger chans.Lock
	chans.Track(&accounts, "accounts-lock")
	chans.Track(&ledger, "ledger-lock")
	defer chans.Untrack(&accounts)
	defer chans.Untrack(&ledger)

	// The workers wait with a ctx this program ends, which is what lets
	// it get them out of the deadlock before it exits.
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopWorkers()
	var holding sync.WaitGroup
	holding.Add(2)
	wg.Go(func() { payroll(wctx, &holding, &accounts, &ledger) })
	wg.Go(func() { audit(wctx, &holding, &ledger, &accounts) })

	fmt.Fprintln(stderr, "deadlock: waiting for both workers to hold one lock and wait for the other")
	took, err := stuck(ctx, *wait, &accounts, &ledger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "deadlock: both workers stuck after %v\n", took.Round(time.Microsecond))

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/turnstile/", debug.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "debug page: http://%s/debug/turnstile/\n\n", ln.Addr())

	if err := debug.WriteText(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\n", cycle(accounts.Stats(), ledger.Stats()))

	if *serve {
		fmt.Fprintln(stderr, "deadlock: serving the page until interrupted")
		<-ctx.Done()
	}
	stopWorkers()
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stderr, "deadlock: workers stopped, page closed")
	return nil
}

// payroll moves money from the accounts to the ledger: it takes the accounts
// lock, then the ledger's.
func payroll(ctx context.Context, holding *sync.WaitGroup, accounts, ledger *chans.Lock) {
	rel, err := accounts.AcquireWait(ctx)
	if err != nil {
		holding.Done()
		return
	}
	defer rel()
	holding.Done()
	holding.Wait() // so that the other worker surely holds its first lock
	if rel, err := ledger.AcquireWait(ctx); err == nil {
		rel()
	}
}

// audit checks the ledger against the accounts: it takes the locks the
// other way round, which is the bug.
func audit(ctx context.Context, holding *sync.WaitGroup, ledger, accounts *chans.Lock) {
	rel, err := ledger.AcquireWait(ctx)
	if err != nil {
		holding.Done()
		return
	}
	defer rel()
	holding.Done()
	holding.Wait()
	if rel, err := accounts.AcquireWait(ctx); err == nil {
		rel()
	}
}

// stuck waits until each lock is held and has a waiter, reading their Stats
// (nothing else tells when a goroutine has queued), for at most wait.
func stuck(ctx context.Context, wait time.Duration, locks ...*chans.Lock) (time.Duration, error) {
	start := time.Now()
	for pause := 50 * time.Microsecond; ; pause = min(2*pause, 20*time.Millisecond) {
		all := true
		for _, l := range locks {
			if s := l.Stats(); !s.Held || s.Waiting == 0 {
				all = false
			}
		}
		if all {
			return time.Since(start), nil
		}
		if time.Since(start) > wait {
			return 0, fmt.Errorf("the workers did not deadlock within %v", wait)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// cycle names who holds what and waits for what, from the locks' Stats: the
// first function of the program's own in each holder's and waiter's stack.
func cycle(locks ...chans.Stats) string {
	var b strings.Builder
	b.WriteString("found a cycle:")
	for _, s := range locks {
		holder, waiter := "nobody", "nobody"
		if len(s.Holders) > 0 {
			holder = ownFunc(s.Holders[0].Stack)
		}
		if len(s.Waiters) > 0 {
			waiter = ownFunc(s.Waiters[0].Stack)
		}
		fmt.Fprintf(&b, "\n  %s is held by %s and waited for by %s", s.Name, holder, waiter)
	}
	return b.String()
}

// ownFunc names the first function of the program's own in st, the frame
// after the chans method, without its package: "payroll".
func ownFunc(st chans.Stack) string {
	for _, f := range st.Frames() {
		if strings.HasPrefix(f.Function, "github.com/turnstile-go/turnstile/chans.") {
			continue
		}
		name := f.Function[strings.LastIndexByte(f.Function, '/')+1:] // "main.payroll", or "deadlock.payroll" under go test
		_, name, _ = strings.Cut(name, ".")
		return name
	}
	return "?"
}
