// Command tasklet-messages is the second example of kiwi.tasklet's
// documentation, "Message passing", in Go: a counter task sends each number
// to a printer task as a "print" message, once a second, then sends "quit";
// the printer prints every number it receives and ends on "quit".
//
// Run it with:
//
//	go run ./examples/tasklet-messages [-n 10] [-interval 1s]
//
// Ctrl-C stops both tasks early.
//
// What maps to what:
//
//   - A kiwi tasklet's message queue is a chans.Mailbox owned by the task;
//     `yield tasklet.Message('print', dest=task, value=x)` is
//     inbox.Send(message{"print", x}). Send never blocks, as kiwi's never
//     suspended the sender for long.
//   - WaitForMessages(accept=("quit", "print")) followed by get_event() is
//     inbox.Receive(ctx, accept) with an accept function for those names:
//     the receive yields the oldest message accept takes. A message it does
//     not take stays queued, in order, for a later receive (kiwi's "defer").
//   - The printer's `return` on "quit" ends the task; waiting for a task is
//     waiting for its chans.Result, as WaitForTasklet was.
//   - kiwi's example quit the main loop right after sending "quit", relying
//     on kiwi delivering the message synchronously. Here the program waits for
//     both tasks' Results, so the printer has printed everything before the
//     program ends.
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

	"github.com/turnstile-go/turnstile/chans"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "tasklet-messages:", err)
		os.Exit(1)
	}
}

// message is kiwi's Message: a name and a value.
type message struct {
	name  string
	value int
}

// accept returns an accept function for messages with one of the names, as
// WaitForMessages(accept=names).
func accept(names ...string) func(message) bool {
	return func(m message) bool { return slices.Contains(names, m.name) }
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tasklet-messages", flag.ContinueOnError)
	fs.SetOutput(stdout)
	n := fs.Int("n", 10, "how many numbers to send")
	interval := fs.Duration("interval", time.Second, "the wait after each message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 0 || *interval <= 0 {
		return errors.New("-n must not be negative and -interval must be positive")
	}

	var inbox chans.Mailbox[message] // the printer's
	printer := chans.Go(ctx, func(ctx context.Context) (int, error) {
		return printMessages(ctx, stdout, &inbox)
	})
	counter := chans.Go(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, simpleCounter(ctx, *n, *interval, &inbox)
	})

	<-counter.Done()
	<-printer.Done()
	if _, err := counter.TryGet(); err != nil {
		return fmt.Errorf("counter: %w", err)
	}
	printed, err := printer.TryGet()
	if err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	fmt.Fprintf(stdout, "printed %d messages\n", printed)
	return nil
}

// printMessages is kiwi's printer task: it prints the value of each "print"
// message and returns on "quit", with the number of values printed.
func printMessages(ctx context.Context, out io.Writer, inbox *chans.Mailbox[message]) (int, error) {
	msgwait := accept("quit", "print")
	printed := 0
	for {
		msg, ok := <-inbox.Receive(ctx, msgwait)
		if !ok {
			return printed, ctx.Err()
		}
		if msg.name == "quit" {
			return printed, nil
		}
		fmt.Fprintln(out, ">>>", msg.value)
		printed++
	}
}

// simpleCounter is kiwi's counter task: it sends the numbers 0 to numbers-1
// to the printer, waiting one interval after each, then tells it to quit.
func simpleCounter(ctx context.Context, numbers int, interval time.Duration, printer *chans.Mailbox[message]) error {
	timeout := time.NewTicker(interval) // one timeout, reused for every wait
	defer timeout.Stop()
	for x := range numbers {
		printer.Send(message{"print", x})
		select {
		case <-timeout.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	printer.Send(message{name: "quit"})
	return nil
}
