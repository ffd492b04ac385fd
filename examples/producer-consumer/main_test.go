package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
)

// Inside a synctest bubble the consumers' work takes fake time, so the runs
// below are instant and their durations exact. synctest.Test also fails if
// run left a goroutine behind.

func TestRunOneConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(run(t.Context(), nil, &out))
		is.Equal(time.Since(start), 10*10*time.Millisecond) // one item at a time
		var want strings.Builder
		for i := range 10 {
			fmt.Fprintf(&want, "consumer 1: doing work on %d\n", i)
		}
		want.WriteString("all 10 items done\n")
		is.Equal(out.String(), want.String())
	})
}

func TestRunConsumersInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(run(t.Context(), []string{"-items", "30", "-consumers", "3", "-work", "1s"}, &out))
		// Three consumers, never idle: the bounded queue refills at once.
		is.Equal(time.Since(start), 10*time.Second)

		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		is.Equal(lines[len(lines)-1], "all 30 items done")
		var items []int
		perConsumer := map[int]int{}
		for _, l := range lines[:len(lines)-1] {
			var c, item int
			_, err := fmt.Sscanf(l, "consumer %d: doing work on %d", &c, &item)
			is.NoErr(err)
			items = append(items, item)
			perConsumer[c]++
		}
		slices.Sort(items)
		for i := range 30 {
			is.Equal(items[i], i) // every item exactly once
		}
		is.Equal(perConsumer, map[int]int{1: 10, 2: 10, 3: 10})
	})
}

// The producer cannot run ahead of the consumers by more than maxsize items.
func TestProduceWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := chans.NewQueue[int](3)
		done := make(chan error)
		go func() { done <- produce(t.Context(), q, 10) }()
		for taken := range 7 {
			synctest.Wait() // the producer is blocked on a full queue
			is.Equal(q.Len(), 3)
			item, err := q.TryGet()
			is.NoErr(err)
			is.Equal(item, taken)
		}
		is.NoErr(<-done)
		is.Equal(q.Len(), 3)
		is.Equal(q.Unfinished(), 10) // nobody called TaskDone
	})
}

func TestRunInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		var out bytes.Buffer
		err := run(ctx, []string{"-items", "10", "-work", "1s"}, &out)
		is.True(errors.Is(err, context.DeadlineExceeded))
		is.Equal(out.String(), "consumer 1: doing work on 0\nconsumer 1: doing work on 1\nconsumer 1: doing work on 2\n")
	})
}

func TestRunEdges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		is.NoErr(run(t.Context(), []string{"-items", "0"}, &out))
		is.Equal(out.String(), "all 0 items done\n")
		out.Reset()
		is.NoErr(run(t.Context(), []string{"-items", "5", "-maxsize", "0", "-consumers", "5"}, &out))
		is.True(strings.HasSuffix(out.String(), "all 5 items done\n"))
		is.True(run(t.Context(), []string{"-consumers", "0"}, io.Discard) != nil)
		is.True(run(t.Context(), []string{"-items", "x"}, io.Discard) != nil)
	})
}
