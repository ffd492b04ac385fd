package chans_test

// kiwi's own tasklet tests (kiwi/tests/test_tasklet.py), rewritten for Go,
// named Test<Prim>Kiwi* after what they exercise (Signal, Go, Mailbox,
// Result, selectx.Readable and selectx.Process), each naming its origin.
// A kiwi tasklet is a task started with chans.Go; its return value
// (StopIteration(value)) is the task's Result; a message queue is a Mailbox;
// a wait condition is a channel. Where kiwi runs a tasklet up to its first
// yield synchronously, these tests wait with synctest.Wait until the task is
// blocked, which is the same point.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// kiwiOutcome waits for a task and returns its value or failure.
func kiwiOutcome[T any](r *chans.Result[T]) (T, error) {
	<-r.Done()
	return r.TryGet()
}

// kiwi TestWaitForSignal.testSignal: a tasklet waiting for a signal ends
// when the signal is emitted, with its return value.
func TestSignalKiwiSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var mySignal chans.Signal[int]
		task := chans.Go(t.Context(), func(ctx context.Context) (string, error) {
			arg, ok := <-mySignal.Next(ctx)
			if !ok {
				return "", ctx.Err()
			}
			return "return-val " + strconv.Itoa(arg), nil
		})
		synctest.Wait() // the task waits for the signal
		is.True(!task.Ready())
		mySignal.Emit(1)
		v, err := kiwiOutcome(task)
		is.NoErr(err)
		is.Equal(v, "return-val 1")
	})
}

// kiwi TestWaitForTimeout.testTimeout: a tasklet waiting 100 ms ends after
// 100 ms with its return value. kiwi allowed ±50 ms; the fake clock of
// synctest makes it exact.
func TestGoKiwiTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		start := time.Now()
		task := chans.Go(t.Context(), func(ctx context.Context) (string, error) {
			select {
			case <-time.After(100 * time.Millisecond):
				return "return-val", nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		})
		v, err := kiwiOutcome(task)
		is.NoErr(err)
		is.Equal(v, "return-val")
		is.Equal(time.Since(start), 100*time.Millisecond)
	})
}

// kiwi reuses one WaitForTimeout across the iterations of a loop (the
// simple_counter example). Its glib timeout source stays armed while the
// tasklet keeps waiting on it, so it fires once per period from when it was
// first armed, not from each wait: a time.Ticker. restart() is Ticker.Reset.
func TestGoKiwiReusedTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		start := time.Now()
		task := chans.Go(t.Context(), func(ctx context.Context) ([]time.Duration, error) {
			timeout := time.NewTicker(time.Second)
			defer timeout.Stop()
			var fired []time.Duration
			for x := range 4 {
				time.Sleep(300 * time.Millisecond) // work between waits
				if x == 2 {
					timeout.Reset(time.Second) // restart: count from zero again
				}
				select {
				case <-timeout.C:
					fired = append(fired, time.Since(start))
				case <-ctx.Done():
					return fired, ctx.Err()
				}
			}
			return fired, nil
		})
		fired, err := kiwiOutcome(task)
		is.NoErr(err)
		s := time.Second
		// The work does not push the ticks back; the restart at 2.3 s does.
		is.Equal(fired, []time.Duration{s, 2 * s, 2*s + 300*time.Millisecond + s, 4*s + 300*time.Millisecond})
	})
}

// kiwiMsg is kiwi's Message: a name, a value, and the sender's mailbox to
// reply to.
type kiwiMsg struct {
	name   string
	value  int
	sender *chans.Mailbox[kiwiMsg]
}

// kiwiAccept accepts the messages with one of the names, as
// WaitForMessages(accept=names) does.
func kiwiAccept(names ...string) func(kiwiMsg) bool {
	return func(m kiwiMsg) bool { return slices.Contains(names, m.name) }
}

// kiwi TestMessages.testPing: a pinger sends an echo-request with a value,
// the echoer replies to the sender with the same value, and the pinger
// returns it.
func TestMailboxKiwiPing(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	var echoerBox, pingerBox chans.Mailbox[kiwiMsg]
	echoer := chans.Go(ctx, func(ctx context.Context) (struct{}, error) {
		m, ok := <-echoerBox.Receive(ctx, kiwiAccept("echo-request"))
		if !ok {
			return struct{}{}, ctx.Err()
		}
		if m.sender == nil {
			return struct{}{}, errors.New("echo-request without a sender")
		}
		m.sender.Send(kiwiMsg{name: "echo-reply", value: m.value, sender: &echoerBox})
		return struct{}{}, nil
	})
	pinger := chans.Go(ctx, func(ctx context.Context) (int, error) {
		echoerBox.Send(kiwiMsg{name: "echo-request", value: 123, sender: &pingerBox})
		m, ok := <-pingerBox.Receive(ctx, kiwiAccept("echo-reply"))
		if !ok {
			return 0, ctx.Err()
		}
		return m.value, nil
	})
	v, err := kiwiOutcome(pinger)
	is.NoErr(err)
	is.Equal(v, 123)
	_, err = kiwiOutcome(echoer)
	is.NoErr(err)
}

// kiwi's message actions. accept: the receive takes it. defer: it stays
// queued, in order, for a later receive. A Mailbox defers whatever a Receive
// does not accept, so no message is ever lost by being sent at the wrong
// time. discard: kiwi dropped the message; here, the task drops it
// explicitly with TryReceive.
func TestMailboxKiwiAcceptDeferDiscard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var inbox chans.Mailbox[kiwiMsg]
		inbox.Send(kiwiMsg{name: "print", value: 1})
		inbox.Send(kiwiMsg{name: "noise"})
		inbox.Send(kiwiMsg{name: "print", value: 2})

		printer := chans.Go(t.Context(), func(ctx context.Context) ([]int, error) {
			// Wait for "start" only; everything else is deferred.
			if _, ok := <-inbox.Receive(ctx, kiwiAccept("start")); !ok {
				return nil, ctx.Err()
			}
			for {
				if _, ok := inbox.TryReceive(kiwiAccept("noise")); !ok {
					break // discarded every "noise"
				}
			}
			var printed []int
			for {
				m, ok := <-inbox.Receive(ctx, kiwiAccept("print", "quit"))
				switch {
				case !ok:
					return printed, ctx.Err()
				case m.name == "quit":
					return printed, nil
				}
				printed = append(printed, m.value)
			}
		})
		synctest.Wait()                              // the printer waits for "start"
		inbox.Send(kiwiMsg{name: "print", value: 3}) // deferred while it waits
		synctest.Wait()
		is.True(!printer.Ready())
		is.Equal(inbox.Len(), 4) // nothing was taken, nothing dropped
		inbox.Send(kiwiMsg{name: "start"})
		inbox.Send(kiwiMsg{name: "quit"})
		printed, err := kiwiOutcome(printer)
		is.NoErr(err)
		is.Equal(printed, []int{1, 2, 3}) // in the order they were sent
		is.Equal(inbox.Len(), 0)
	})
}

// kiwi TestIO.testPipe: a tasklet waits for a pipe to become readable, then
// reads one byte; another writes it.
func TestReadableKiwiPipe(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	r, w, err := os.Pipe()
	is.NoErr(err)
	defer r.Close()
	defer w.Close()

	reader := chans.Go(ctx, func(ctx context.Context) (byte, error) {
		if err := <-selectx.Readable(ctx, r); err != nil {
			return 0, err
		}
		var b [1]byte
		_, err := r.Read(b[:])
		return b[0], err
	})
	is.True(!reader.Ready()) // nothing to read yet
	writer := chans.Go(ctx, func(context.Context) (int, error) {
		return w.Write([]byte{123})
	})
	n, err := kiwiOutcome(writer)
	is.NoErr(err)
	is.Equal(n, 1)
	c, err := kiwiOutcome(reader)
	is.NoErr(err)
	is.Equal(c, byte(123))
}

// TestProcessKiwiHelperProcess is not a test: it is the child process of
// TestProcessKiwiProcess, which runs this test binary with TURNSTILE_KIWI_EXIT set
// to the status to exit with.
func TestProcessKiwiHelperProcess(t *testing.T) {
	code := os.Getenv("TURNSTILE_KIWI_EXIT")
	if code == "" {
		t.Skip("only runs as TestProcessKiwiProcess's child")
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		os.Exit(100)
	}
	os.Exit(n)
}

// kiwi WaitForProcess: a tasklet waits for a child process to end and gets
// its exit status.
func TestProcessKiwiProcess(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	for _, want := range []int{0, 3} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProcessKiwiHelperProcess$")
		cmd.Env = append(os.Environ(), "TURNSTILE_KIWI_EXIT="+strconv.Itoa(want))
		is.NoErr(cmd.Start())
		task := chans.Go(ctx, func(ctx context.Context) (int, error) {
			select {
			case err := <-selectx.Process(cmd):
				var exit *exec.ExitError
				if err != nil && !errors.As(err, &exit) {
					return 0, err
				}
				return cmd.ProcessState.ExitCode(), nil
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				return 0, ctx.Err()
			}
		})
		status, err := kiwiOutcome(task)
		is.NoErr(err)
		is.Equal(status, want)
	}
}

// kiwi TestCallback.testCallback (WaitForCall): a tasklet hands out a
// callback, somebody calls it 100 ms later with arguments, and the tasklet
// gets them. In Go the callback is a closure that sets a Result.
func TestResultKiwiCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		type call struct {
			args []int
			foo  string
		}
		var called chans.Result[call]
		callback := func(a, b int, foo string) { called.Set(call{[]int{a, b}, foo}) }
		time.AfterFunc(100*time.Millisecond, func() { callback(123, 456, "bar") })

		task := chans.Go(t.Context(), func(ctx context.Context) (call, error) {
			c, ok := <-called.Get(ctx)
			if !ok {
				return call{}, ctx.Err()
			}
			return c, nil
		})
		c, err := kiwiOutcome(task)
		is.NoErr(err)
		is.Equal(c.args, []int{123, 456})
		is.Equal(c.foo, "bar")
	})
}

// kiwi TestWaitForTasklet.testWaitForInstantaneousTask: waiting for a task
// that has already finished yields its return value at once.
func TestResultKiwiWaitForInstantaneousTask(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	quick := chans.Go(ctx, func(context.Context) (int, error) { return 123, nil })
	<-quick.Done() // finished before anyone waits for it
	waiter := chans.Go(ctx, func(ctx context.Context) (int, error) {
		v, ok := <-quick.Get(ctx)
		if !ok {
			return 0, ctx.Err()
		}
		return v, nil
	})
	v, err := kiwiOutcome(waiter)
	is.NoErr(err)
	is.Equal(v, 123)
}

// A task's panic is its failure, which a task waiting for it sees (kiwi had
// no answer: an exception in a tasklet escaped into the main loop).
func TestGoKiwiTaskPanicIsFailure(t *testing.T) {
	is := is.New(t)
	ctx := t.Context()
	broken := chans.Go(ctx, func(context.Context) (int, error) { panic("tasklet bug") })
	waiter := chans.Go(ctx, func(ctx context.Context) (int, error) {
		return kiwiOutcome(broken)
	})
	_, err := kiwiOutcome(waiter)
	var pe *chans.PanicError
	is.True(errors.As(err, &pe))
	is.Equal(pe.Value, "tasklet bug")
}
