package main

import (
	"bytes"
	"context"
	"errors"
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
		is.NoErr(run(context.Background(), nil, &out))
		is.Equal(out.String(), "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\ncounted 10 numbers\n")
		// One wait after each number, on synctest's fake clock, as in kiwi:
		// print x, then wait for the timeout.
		is.Equal(time.Since(start), 10*time.Second)
	})
}

func TestRunFlags(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(run(context.Background(), []string{"-n", "3", "-interval", "250ms"}, &out))
		is.Equal(out.String(), "0\n1\n2\ncounted 3 numbers\n")
		is.Equal(time.Since(start), 750*time.Millisecond)
	})
}

// Printing takes time too: the reused timeout (a ticker) keeps its beat
// instead of restarting after each number, like kiwi's glib timeout source.
func TestCounterKeepsTheBeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		start := time.Now()
		var at []time.Duration
		slow := writerFunc(func(p []byte) (int, error) {
			at = append(at, time.Since(start))
			time.Sleep(100 * time.Millisecond) // a slow terminal
			return len(p), nil
		})
		n, err := simpleCounter(context.Background(), slow, 3, time.Second)
		is.NoErr(err)
		is.Equal(n, 3)
		is.Equal(at, []time.Duration{0, time.Second, 2 * time.Second})
		is.Equal(time.Since(start), 3*time.Second)
	})
}

func TestRunInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
		defer cancel()
		var out bytes.Buffer
		err := run(ctx, nil, &out)
		is.True(errors.Is(err, context.DeadlineExceeded))
		is.Equal(err.Error(), "stopped after 4 numbers: context deadline exceeded")
		is.Equal(out.String(), "0\n1\n2\n3\n")
	})
}

func TestRunBadFlags(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	is.True(run(context.Background(), []string{"-interval", "0s"}, &out) != nil)
	is.True(run(context.Background(), []string{"-n", "x"}, &out) != nil)
	is.True(strings.Contains(out.String(), "invalid value"))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
