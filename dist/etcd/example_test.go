package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/etcd"
	"github.com/turnstile-go/turnstile/selectx"
)

// exampleCluster starts an embedded etcd for an example and returns a
// session on it for each of n processes, and the func that stops it all.
func exampleCluster(n int) ([]*etcd.Session, func()) {
	dir, _ := os.MkdirTemp("", "etcd-example-")
	e, addr, err := serve(dir, false)
	if err != nil {
		panic(err)
	}
	var ss []*etcd.Session
	var stops []func()
	for range n {
		cli, err := dial(addr)
		if err != nil {
			panic(err)
		}
		s, err := etcd.NewSession(context.Background(), cli)
		if err != nil {
			panic(err)
		}
		ss = append(ss, s)
		stops = append(stops, func() { s.Close(context.Background()); cli.Close() })
	}
	return ss, func() {
		for _, stop := range stops {
			stop()
		}
		e.Close()
		os.RemoveAll(dir)
	}
}

// Two processes take turns with one lock; the second is served when the
// first releases, with a higher fencing token.
func ExampleLock() {
	ss, stop := exampleCluster(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := etcd.NewLock(ss[0], "example/lock"), etcd.NewLock(ss[1], "example/lock")

	first, ok := <-a.Acquire(ctx)
	fmt.Println("a holds:", ok)
	wait := b.Acquire(ctx) // recorded on the server when it returns: b is next
	g, err := b.TryAcquire(ctx)
	if err == nil {
		g.Release() // not while a holds it
	}
	fmt.Println("b's TryAcquire:", err)
	first.Release()
	second, ok := <-wait
	fmt.Println("b holds:", ok, "with a higher token:", second.Token() > first.Token())
	second.Release()
	// Output:
	// a holds: true
	// b's TryAcquire: etcd: example/lock: dist: busy
	// b holds: true with a higher token: true
}

// Waiting for a shared slot or a shutdown event, whichever comes first:
// selectx.Select takes one and withdraws the other wait, so the slot it
// queued for goes to the next waiter.
func ExampleSemaphore() {
	ss, stop := exampleCluster(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slots := etcd.NewSemaphore(ss[0], "example/slots", 1)
	other := etcd.NewSemaphore(ss[1], "example/slots", 1)
	busy, _ := other.AcquireWait(ctx)
	if err := etcd.NewEvent(ss[1], "example/shutdown").Set(ctx); err != nil {
		panic(err)
	}
	shutdown := etcd.NewEvent(ss[0], "example/shutdown")
	var slot *dist.Grant
	i, err := selectx.Select(ctx,
		selectx.On(shutdown.Wait, func(struct{}) {}),
		selectx.On(slots.Acquire, func(g *dist.Grant) { slot = g }),
	)
	fmt.Println("shut down first:", i == 0 && slot == nil, err)
	busy.Release()
	again, err := other.AcquireWait(ctx) // not held back by the withdrawn wait
	fmt.Println("the slot is free again:", err == nil)
	again.Release()
	// Output:
	// shut down first: true <nil>
	// the slot is free again: true
}

// runMigration stands for work that only one replica may do at a time. It
// passes token to what it writes, which refuses tokens lower than one it has
// seen, and stops if lost closes.
func runMigration(ctx context.Context, token int64, lost <-chan struct{}) error {
	select {
	case <-lost:
		return errors.New("lost the lock")
	case <-ctx.Done():
		return ctx.Err()
	default:
	}
	fmt.Println("migrated with a token above 0:", token > 0)
	return nil
}

// One session per process, and a migration that one replica at a time runs,
// fenced with its grant's token (the README's snippet).
func ExampleNewSession() {
	dir, _ := os.MkdirTemp("", "etcd-example-")
	defer os.RemoveAll(dir)
	e, addr, err := serve(dir, false)
	if err != nil {
		panic(err)
	}
	defer e.Close()
	cli, err := dial(addr)
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	run := func() error {
		s, err := etcd.NewSession(ctx, cli) // one per process: a lease, kept alive
		if err != nil {
			return err
		}
		defer s.Close(context.Background())

		migrate := etcd.NewLock(s, "app/migrate")
		g, ok := <-migrate.Acquire(ctx) // a *dist.Grant, or closed if ctx ended first
		if !ok {
			return ctx.Err()
		}
		defer g.Release()
		if err := runMigration(ctx, g.Token(), g.Lost()); err != nil { // fence writes with the token
			return err
		}
		return nil
	}
	fmt.Println(run())
	// Output:
	// migrated with a token above 0: true
	// <nil>
}
