// Command tasklet-counter is the first example of kiwi.tasklet's
// documentation, "Background timeout task", in Go: a task counts from 0,
// printing one number a second, and the program ends when the task does.
//
// Run it with:
//
//	go run ./examples/tasklet-counter [-n 10] [-interval 1s]
//
// Ctrl-C stops the count early.
//
// What maps to what:
//
//   - kiwi's tasklet.run(simple_counter(10)) is chans.Go: the task runs in
//     its own goroutine and its outcome lands in a chans.Result.
//   - kiwi reuses one WaitForTimeout(1000) for every wait. Its glib timeout
//     stays armed while the tasklet keeps waiting on it, so it fires once a
//     second from when it was first armed: that is a time.Ticker, and
//     `yield timeout; tasklet.get_event()` is a receive from ticker.C.
//   - mainloop.run() until the task calls mainloop.quit() is waiting for the
//     task's Result: there is no main loop to run or to quit.
//   - A Ctrl-C, which kiwi's example could not handle, ends the task's ctx;
//     the task stops waiting and fails with the ctx's error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "tasklet-counter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tasklet-counter", flag.ContinueOnError)
	fs.SetOutput(stdout)
	n := fs.Int("n", 10, "how many numbers to print")
	interval := fs.Duration("interval", time.Second, "the wait after each number")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 0 || *interval <= 0 {
		return errors.New("-n must not be negative and -interval must be positive")
	}

	task := chans.Go(ctx, func(ctx context.Context) (int, error) {
		return simpleCounter(ctx, stdout, *n, *interval)
	})
	<-task.Done()
	counted, err := task.TryGet()
	if err != nil {
		return err // a failed Result holds no value, so the count is in err
	}
	fmt.Fprintf(stdout, "counted %d numbers\n", counted)
	return nil
}

// simpleCounter prints 0 to numbers-1, waiting one interval after each. It
// returns how many numbers it printed; if ctx ends first, it fails with an
// error that says how far it got and wraps ctx's error.
func simpleCounter(ctx context.Context, out io.Writer, numbers int, interval time.Duration) (int, error) {
	timeout := time.NewTicker(interval) // one timeout, reused for every wait
	defer timeout.Stop()
	for x := range numbers {
		fmt.Fprintln(out, x)
		select {
		case <-timeout.C:
		case <-ctx.Done():
			return x + 1, fmt.Errorf("stopped after %d numbers: %w", x+1, ctx.Err())
		}
	}
	return numbers, nil
}
