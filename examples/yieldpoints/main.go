// Command yieldpoints runs the examples of the yieldpoints documentation with
// selectx.Group, its Go counterpart: keyed callbacks and timeouts that are
// registered first and collected later, in whatever order they complete.
//
// Run it with:
//
//	go run ./examples/yieldpoints [-delay 100ms]
//
// It shows four things, each with its own Group:
//
//  1. WaitAny: start two tasks, each reporting through a callback, and handle
//     their results in the order they complete, not the order they started.
//  2. A wait with a deadline: the ctx given to WaitAny carries it. When it
//     passes, the key stays registered, so it is cancelled explicitly
//     (yieldpoints cancelled it for you; here the Group cannot know whether
//     you mean to wait again).
//  3. A timeout registered as a key with After, and waited for later.
//  4. Cancel: a task that was started but will not be waited for is
//     cancelled, and Close, which reports every key neither waited for nor
//     cancelled (yieldpoints' LeakedCallbackError), has nothing to report.
//
// examples/page-race is yieldpoints' larger example: a race of HTTP fetches
// with WaitAny, a timeout and CancelAll.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/turnstile-go/turnstile/selectx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "yieldpoints:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("yieldpoints", flag.ContinueOnError)
	delay := fs.Duration("delay", 100*time.Millisecond, "the time unit of the examples")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *delay <= 0 {
		return errors.New("-delay must be positive")
	}
	for _, scene := range []struct {
		title string
		run   func(context.Context, io.Writer, time.Duration) error
	}{
		{"WaitAny: results in the order they complete", waitAny},
		{"WaitAny with a deadline", waitAnyDeadline},
		{"a timeout registered now, waited for later", timeoutLater},
		{"Cancel a task you will not wait for", cancelUnwaited},
	} {
		fmt.Fprintf(stdout, "-- %s\n", scene.title)
		if err := scene.run(ctx, stdout, *delay); err != nil {
			return err
		}
	}
	return nil
}

// waitAny starts two tasks: the one registered second finishes first.
func waitAny(ctx context.Context, out io.Writer, d time.Duration) error {
	var g selectx.Group[int, string]
	callback0, err := g.Callback(0)
	if err != nil {
		return err
	}
	callback1, err := g.Callback(1)
	if err != nil {
		return err
	}
	// The tasks: anything that calls its callback later, from any goroutine.
	time.AfterFunc(d, func() { callback1("foo") })
	time.AfterFunc(2*d, func() { callback0("bar") })

	pending := []int{0, 1}
	for len(pending) > 0 {
		key, result, err := g.WaitAny(ctx, pending...)
		if err != nil {
			g.CancelAll()
			return err
		}
		fmt.Fprintf(out, "key: %d, result: %s\n", key, result)
		pending = slices.DeleteFunc(pending, func(k int) bool { return k == key })
	}
	return g.Close()
}

// waitAnyDeadline waits for a callback that is never called.
func waitAnyDeadline(ctx context.Context, out io.Writer, d time.Duration) error {
	var g selectx.Group[string, string]
	if _, err := g.Callback("key"); err != nil { // never called
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	key, result, err := g.WaitAny(wctx, "key")
	fmt.Fprintf(out, "key: %q, result: %q, err: %v\n", key, result, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("want a deadline, got %v", err)
	}
	// The key is still registered, ready for another wait. We will not wait
	// again, so cancel it.
	if err := g.Cancel("key"); err != nil {
		return err
	}
	return g.Close()
}

// timeoutLater registers a timeout, does something else, then waits for it.
func timeoutLater(ctx context.Context, out io.Writer, d time.Duration) error {
	var g selectx.Group[string, struct{}]
	start := time.Now()
	if err := g.After("key", d); err != nil {
		return err
	}
	fmt.Fprintln(out, "going to wait")
	if _, err := g.Wait(ctx, "key"); err != nil {
		g.CancelAll()
		return err
	}
	fmt.Fprintf(out, "waited, took %v\n", roughly(time.Since(start), d))
	return g.Close()
}

// cancelUnwaited starts a task, decides not to wait for it, and cancels it;
// then it forgets one on purpose to show what Close reports.
func cancelUnwaited(ctx context.Context, out io.Writer, d time.Duration) error {
	g := selectx.Group[string, int]{
		// A result nobody will collect lands here.
		Discard: func(key string, v int) { fmt.Fprintf(out, "discarded %s's late result %d\n", key, v) },
	}
	callback, err := g.Callback("key")
	if err != nil {
		return err
	}
	if err := g.Cancel("key"); err != nil {
		return err
	}
	fmt.Fprintf(out, "cancelled; Close reports: %v\n", g.Close())
	callback(42) // the task reports after all: its value is discarded

	if _, err := g.Callback("forgotten"); err != nil {
		return err
	}
	fmt.Fprintf(out, "forgot a key; Close reports: %v\n", g.Close())
	return nil
}

// roughly rounds an elapsed time to a tenth of the expected one, so that a
// real run prints what a fake-clock test does.
func roughly(elapsed, expected time.Duration) time.Duration {
	return elapsed.Round(expected / 10)
}
