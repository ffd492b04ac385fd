package chans_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/turnstile-go/turnstile/chans"
)

// Stats answers "who holds it, who waits?" for any primitive, tracked or not.
func ExampleLock_Stats() {
	var l chans.Lock
	release := <-l.Acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	waiting := l.Acquire(ctx)

	s := l.Stats()
	fmt.Println(s.Kind, s.State, "waiting:", s.Waiting, "grants:", s.Grants)

	release() // the lock goes to the waiter, which has not received it yet
	s = l.Stats()
	fmt.Println("unreceived:", s.Unreceived, "ctx can end:", s.Holders[0].CanEnd)

	cancel() // it walks away: the grant is taken back (W2)
	s = l.Stats()
	fmt.Println(s.State, "take-backs:", s.TakeBacks)
	if release, ok := <-waiting; ok {
		release() // not reached: a receive after the take-back yields closed
	}
	// Output:
	// Lock locked waiting: 1 grants: 1
	// unreceived: 1 ctx can end: true
	// unlocked take-backs: 1
}

// Tracking records where each grant was asked for; the stranded-grant
// detector and the debug page (package debug) use it.
func ExampleTrack() {
	var orders chans.Lock
	chans.Track(&orders, "orders-lock")
	defer chans.Untrack(&orders)

	release := <-orders.Acquire(context.Background())
	defer release()
	holder := orders.Stats().Holders[0]
	caller := holder.Stack.Frames()[1] // [0] is Lock.Acquire itself
	fmt.Println(orders.Stats().Name, holder.Ask, strings.HasSuffix(caller.Function, "ExampleTrack"))
	// Output: orders-lock lock true
}

// TrackAll tracks every primitive from its first use, under a name made from
// where that was; TURNSTILE_TRACK=1 does the same from the start.
func ExampleTrackAll() {
	chans.TrackAll(true)
	defer chans.TrackAll(false)

	var cache chans.Lock
	(<-cache.Acquire(context.Background()))()
	name := cache.Stats().Name
	fmt.Println(strings.HasPrefix(name, "Lock@example_stats_test.go:"))
	// Output: true
}
