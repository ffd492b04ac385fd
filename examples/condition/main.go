// Command condition shows chans.Condition, the wait/notify pattern of toro's
// and Tornado's Condition: one goroutine waits until another notifies it.
//
// Run it with:
//
//	go run ./examples/condition [-timeout 100ms]
//
// It walks through three scenes:
//
//  1. Tornado's own example: a waiter says "I'll wait right here", a notifier
//     says "About to notify", notifies, and says "Done notifying"; the waiter
//     wakes and says "I'm done waiting". In Tornado the last two lines come in
//     that order because one event loop runs both coroutines; here the two
//     goroutines run in parallel after Notify, so they may come in either
//     order. What is fixed is that the waiter wakes only after the notifier
//     said "About to notify".
//  2. A wait with a timeout: the ctx given to Wait carries a deadline, so a
//     notification that never comes ends the wait with ok == false.
//  3. Notify(n) wakes the n longest-waiting waiters in the order they called
//     Wait, skipping waiters whose ctx has ended, NotifyAll wakes the rest,
//     and a notification sent while nobody waits is not stored.
//
// Unlike sync.Cond there is no lock to hold around Wait: the waiter is
// registered when Wait is called, so a Notify that comes after the call
// reaches it even before the waiter starts receiving.
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
		fmt.Fprintln(os.Stderr, "condition:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("condition", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 100*time.Millisecond, "how long scene 2 waits for a notification that never comes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	out := &printer{w: stdout}

	out.println("-- wait and notify")
	waitAndNotify(ctx, out)

	out.println("-- wait with a timeout")
	if err := waitWithTimeout(ctx, out, *timeout); err != nil {
		return err
	}

	out.println("-- Notify(n) wakes the longest waiters")
	notifyOldest(ctx, out)
	return nil
}

// waitAndNotify is Tornado's Condition example.
func waitAndNotify(ctx context.Context, out *printer) {
	var cond chans.Condition

	// The waiter registers before the notifier starts. Registration happens
	// inside the Wait call, not at the receive, so the notification cannot
	// slip in between; with sync.Cond the same guarantee needs the lock.
	out.println("I'll wait right here")
	woken := cond.Wait(ctx)

	var wg sync.WaitGroup
	wg.Go(func() {
		out.println("About to notify")
		cond.Notify(1)
		out.println("Done notifying")
	})

	if _, ok := <-woken; ok {
		out.println("I'm done waiting")
	} else {
		out.println("interrupted before the notification came")
	}
	wg.Wait()
}

// waitWithTimeout waits for a notification nobody sends.
func waitWithTimeout(ctx context.Context, out *printer, d time.Duration) error {
	var cond chans.Condition
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	out.printf("waiting at most %v for a notification that never comes\n", d)
	if _, ok := <-cond.Wait(ctx); ok {
		return errors.New("woken without a Notify")
	}
	// A closed channel with ok == false: the wait ended without effect.
	// ctx.Err tells why.
	out.printf("gave up: %v\n", ctx.Err())
	return nil
}

// notifyOldest shows the order in which Notify picks waiters. Its waiters
// are plain channels held by one goroutine, which is enough to see who was
// woken: Notify sends before it returns (a Notify happens before the receive
// of what it sent), so a ready channel right after it means "notified".
func notifyOldest(ctx context.Context, out *printer) {
	var cond chans.Condition

	waiters := make([]<-chan struct{}, 4)
	cancels := make([]context.CancelFunc, 4)
	for i := range waiters {
		var wctx context.Context
		wctx, cancels[i] = context.WithCancel(ctx)
		defer cancels[i]()
		waiters[i] = cond.Wait(wctx)
	}
	out.println("waiters 1, 2, 3, 4 queued, in that order; waiter 2 gives up")
	cancels[1]()

	cond.Notify(2)
	out.printf("Notify(2) woke: %s\n", woken(waiters))

	cond.NotifyAll()
	out.printf("NotifyAll woke: %s\n", woken(waiters))

	// Nobody waits now: the notification is lost, as with sync.Cond.
	cond.Notify(1)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	late := cond.Wait(lctx)
	select {
	case _, ok := <-late:
		if ok {
			out.println("a late waiter found a stored notification")
		} else {
			out.println("the late waiter was interrupted")
		}
	default:
		out.println("Notify(1) with nobody waiting: a later waiter still waits")
	}
}

// woken receives from every waiter channel that is ready now and lists the
// waiters (numbered from 1) that got a notification. A channel that was
// closed without a value (a waiter that gave up) is marked done too.
func woken(waiters []<-chan struct{}) string {
	s := ""
	for i, ch := range waiters {
		if ch == nil {
			continue
		}
		select {
		case _, ok := <-ch:
			waiters[i] = nil
			if ok {
				s += fmt.Sprintf(" %d", i+1)
			}
		default:
		}
	}
	if s == "" {
		return "nobody"
	}
	return s[1:]
}

// printer serializes the output of goroutines printing at once.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) println(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}
