package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

const want = `-- WaitAny: results in the order they complete
key: 1, result: foo
key: 0, result: bar
-- WaitAny with a deadline
key: "", result: "", err: context deadline exceeded
-- a timeout registered now, waited for later
going to wait
waited, took 1s
-- Cancel a task you will not wait for
cancelled; Close reports: <nil>
discarded key's late result 42
forgot a key; Close reports: selectx: keys neither waited for nor cancelled: [forgotten]
`

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(run(t.Context(), []string{"-delay", "1s"}, &out))
		is.Equal(out.String(), want)
		// 2s for scene 1 (the later callback), 1s each for scenes 2 and 3.
		is.Equal(time.Since(start), 4*time.Second)
	})
}

func TestRunInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer cancel()
		var out bytes.Buffer
		err := run(ctx, []string{"-delay", "1s"}, &out)
		is.True(errors.Is(err, context.DeadlineExceeded))
		// Interrupted between the two results of scene 1.
		is.Equal(out.String(), "-- WaitAny: results in the order they complete\nkey: 1, result: foo\n")
	})
}

func TestRunBadFlags(t *testing.T) {
	is := is.New(t)
	is.True(run(t.Context(), []string{"-delay", "0s"}, io.Discard) != nil)
	is.True(run(t.Context(), []string{"-delay"}, io.Discard) != nil)
}
