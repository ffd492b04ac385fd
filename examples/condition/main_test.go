package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(run(context.Background(), []string{"-timeout", "2s"}, &out))
		// The only time spent is scene 2's timeout, on synctest's fake clock.
		is.Equal(time.Since(start), 2*time.Second)

		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		is.Equal(len(lines), 13)
		is.Equal(lines[:3], []string{
			"-- wait and notify",
			"I'll wait right here",
			"About to notify",
		})
		// The notifier and the woken waiter run in parallel: either order.
		last2 := slices.Clone(lines[3:5])
		slices.Sort(last2)
		is.Equal(last2, []string{"Done notifying", "I'm done waiting"})
		is.Equal(lines[5:], []string{
			"-- wait with a timeout",
			"waiting at most 2s for a notification that never comes",
			"gave up: context deadline exceeded",
			"-- Notify(n) wakes the longest waiters",
			"waiters 1, 2, 3, 4 queued, in that order; waiter 2 gives up",
			"Notify(2) woke: 1 3",
			"NotifyAll woke: 4",
			"Notify(1) with nobody waiting: a later waiter still waits",
		})
	})
}

func TestRunInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		// An interrupt (ctx already ended) makes every wait fail at once,
		// even the one that would have been notified (W4).
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out bytes.Buffer
		is.NoErr(run(ctx, nil, &out))
		is.True(strings.Contains(out.String(), "interrupted before the notification came\n"))
		is.True(strings.Contains(out.String(), "gave up: context canceled\n"))
		is.True(strings.Contains(out.String(), "Notify(2) woke: nobody\n"))
		is.True(strings.Contains(out.String(), "the late waiter was interrupted\n"))
	})
}

func TestRunBadFlag(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-timeout", "soon"}, &out)
	is.True(err != nil)
}
