// Command producer-consumer is the classic producer-consumer program, with
// chans.Queue as toro's JoinableQueue (toro took it from gevent's example).
//
// A producer puts items in a bounded queue; consumers take them out and work
// on them. When the queue is full, the producer's Put waits until a consumer
// makes room, so a fast producer cannot run ahead of slow consumers by more
// than -maxsize items. Each consumer calls TaskDone when it has finished an
// item, and the main goroutine waits on Join, whose channel is closed once
// every item put has been done. It then shuts the queue down, which ends the
// consumers' loops over Queue.All.
//
// Run it with:
//
//	go run ./examples/producer-consumer [-items 10] [-consumers 1] [-maxsize 3] [-work 10ms]
//
// With one consumer the items are done in the order they were put.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "producer-consumer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("producer-consumer", flag.ContinueOnError)
	items := fs.Int("items", 10, "how many items the producer puts")
	consumers := fs.Int("consumers", 1, "how many consumers work on them")
	maxsize := fs.Int("maxsize", 3, "most items the queue holds (0: no limit)")
	work := fs.Duration("work", 10*time.Millisecond, "how long each item takes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *items < 0 || *consumers < 1 || *maxsize < 0 {
		return errors.New("need -items >= 0, -consumers >= 1, -maxsize >= 0")
	}
	out := &syncWriter{w: stdout}

	q := chans.NewQueue[int](*maxsize)
	var wg sync.WaitGroup
	for id := 1; id <= *consumers; id++ {
		wg.Go(func() { consume(ctx, q, id, *work, out) })
	}
	// Shut down on every way out, so that the consumers' loops end.
	defer wg.Wait()
	defer q.Shutdown(false)

	if err := produce(ctx, q, *items); err != nil {
		return err
	}
	select {
	case <-q.Join():
		fmt.Fprintf(out, "all %d items done\n", *items)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// produce puts items 0 to n-1 in q, waiting for room when q is full.
func produce(ctx context.Context, q *chans.Queue[int], n int) error {
	for item := range n {
		if err := <-q.Put(ctx, item); err != nil {
			return fmt.Errorf("put %d: %w", item, err)
		}
	}
	return nil
}

// consume works on items from q until q is shut down and drained, or ctx
// ends, and marks each one done.
func consume(ctx context.Context, q *chans.Queue[int], id int, work time.Duration, out io.Writer) {
	for item := range q.All(ctx) {
		fmt.Fprintf(out, "consumer %d: doing work on %d\n", id, item)
		select {
		case <-time.After(work):
		case <-ctx.Done():
		}
		// Done even when interrupted: the item was taken, and Join counts
		// items taken and finished with, not items that succeeded.
		q.TaskDone()
	}
}

// A syncWriter serializes writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
