package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
)

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(run(context.Background(), nil, &out))
		want := ""
		for _, v := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} {
			want += ">>> " + v + "\n"
		}
		is.Equal(out.String(), want+"printed 10 messages\n")
		is.Equal(time.Since(start), 10*time.Second) // fake clock
	})
}

func TestRunFlags(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(run(context.Background(), []string{"-n", "2", "-interval", "10ms"}, &out))
		is.Equal(out.String(), ">>> 0\n>>> 1\nprinted 2 messages\n")
		is.Equal(time.Since(start), 20*time.Millisecond)
	})
}

// Each number is printed as soon as it is sent, not at the end: the printer
// waits in Receive and gets each message when the counter sends it.
func TestPrinterIsPacedByTheCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var out lockedBuffer // read here while the printer writes
		go run(context.Background(), []string{"-n", "3"}, &out)
		time.Sleep(1500 * time.Millisecond) // fake clock
		synctest.Wait()
		is.Equal(out.String(), ">>> 0\n>>> 1\n")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		is.Equal(out.String(), ">>> 0\n>>> 1\n>>> 2\nprinted 3 messages\n")
	})
}

// The printer takes only "print" and "quit"; anything else stays in its
// mailbox (kiwi's defer), and messages sent before it started wait for it.
func TestPrinterDefersOtherMessages(t *testing.T) {
	is := is.New(t)
	var inbox chans.Mailbox[message]
	inbox.Send(message{"print", 1})
	inbox.Send(message{"status", 0})
	inbox.Send(message{"print", 2})
	inbox.Send(message{name: "quit"})
	inbox.Send(message{"print", 3}) // after quit: left for whoever reads next
	var out bytes.Buffer
	printed, err := printMessages(context.Background(), &out, &inbox)
	is.NoErr(err)
	is.Equal(printed, 2)
	is.Equal(out.String(), ">>> 1\n>>> 2\n")
	is.Equal(inbox.Len(), 2)
	m, _ := inbox.TryReceive(nil)
	is.Equal(m, message{"status", 0})
}

func TestRunInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		var out bytes.Buffer
		err := run(ctx, nil, &out)
		is.True(errors.Is(err, context.DeadlineExceeded))
		is.True(strings.HasPrefix(err.Error(), "counter: "))
		is.Equal(out.String(), ">>> 0\n>>> 1\n>>> 2\n")
	})
}

func TestRunBadFlags(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	is.True(run(context.Background(), []string{"-n", "-1"}, &out) != nil)
	is.True(run(context.Background(), []string{"-bogus"}, &out) != nil)
}

// lockedBuffer is a bytes.Buffer safe for a reader beside a writer. The fake
// clock orders them in time, but advancing it is not a happens-before edge
// the race detector can see, so a plain Buffer read while the printer runs
// is reported as a race.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
