// Package snippets holds the README's statement snippets, each verbatim in
// a function that declares what it uses.
package snippets

import (
	"context"
	"errors"
	"fmt"
	"log"
	"syscall"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

type Job struct{}

var (
	lockA, lockB, lock chans.Lock
	a, b               chans.Lock
	fast, slow         chans.Queue[string]
	jobs               chans.Queue[Job]
	url                = "http://127.0.0.1/"
	pipe               syscall.Conn
)

func work()                               {}
func handle(Job)                          {}
func fetch(url string, done func([]byte)) { done(nil) }

func first(ctx context.Context) error {
	// Take whichever of two locks frees up first; the other is left untouched.
	i, release, err := selectx.First(ctx, lockA.Acquire, lockB.Acquire)
	if err != nil {
		return err // ctx ended: nothing was taken
	}
	defer release()
	fmt.Println("holding lock", i)
	return nil
}

func all(ctx context.Context) error {
	rs, err := selectx.All(ctx, a.Acquire, b.Acquire)
	if err != nil {
		for _, r := range rs {
			if r != nil {
				r()
			}
		}
		return err
	}
	return nil
}

func completed(ctx context.Context) {
	for i, item := range selectx.Completed(ctx, fast.Get, slow.Get) {
		fmt.Println("queue", i, "gave", item)
	}
}

func selectMixed(ctx context.Context) error {
	_, err := selectx.Select(ctx,
		selectx.On(lock.Acquire, func(release chans.Release) { defer release(); work() }),
		selectx.On(jobs.Get, func(job Job) { handle(job) }),
	)
	return err
}

func group(ctx context.Context) {
	var g selectx.Group[string, []byte]
	done, _ := g.Callback("fetch")
	go fetch(url, done) // calls done(body) when finished
	_ = g.After("timeout", 3*time.Second)

	key, body, err := g.WaitAny(ctx, "fetch", "timeout")
	// ... then decline to wait for the key that lost:
	if key == "fetch" {
		_ = g.Cancel("timeout") // stops the timer
	} else {
		_ = g.Cancel("fetch") // a late callback is ignored
	}
	if err := g.Close(); err != nil { // names any key neither waited for nor cancelled
		log.Print(err)
	}
	_, _ = body, err
}

func readable(ctx context.Context) error {
	// Bound the wait with the ctx: when it ends, Readable stops waiting too.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	switch err := <-selectx.Readable(ctx, pipe); {
	case errors.Is(err, context.DeadlineExceeded):
		// timed out
	case err != nil:
		return err
	default:
		// readable: a Read will not block
	}
	return nil
}

func printer(ctx context.Context) {
	type message struct {
		name  string
		value int
	}

	var inbox chans.Mailbox[message]
	printer := chans.Go(ctx, func(ctx context.Context) (int, error) {
		printOrQuit := func(m message) bool { return m.name == "print" || m.name == "quit" }
		for printed := 0; ; printed++ {
			msg, ok := <-inbox.Receive(ctx, printOrQuit)
			if !ok {
				return printed, ctx.Err()
			}
			if msg.name == "quit" {
				return printed, nil
			}
			fmt.Println(">>>", msg.value)
		}
	})
	inbox.Send(message{"print", 1})
	inbox.Send(message{name: "quit"})
	<-printer.Done()
}
