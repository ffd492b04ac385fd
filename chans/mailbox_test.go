package chans

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

func mailboxPrefix(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}

func TestMailboxFIFO(t *testing.T) {
	is := is.New(t)
	var b Mailbox[int]
	for i := range 5 {
		b.Send(i)
	}
	is.Equal(b.Len(), 5)
	for i := range 5 {
		v, ok := <-b.Receive(context.Background(), nil)
		is.True(ok)
		is.Equal(v, i)
	}
	is.Equal(b.Len(), 0)
	_, ok := b.TryReceive(nil)
	is.True(!ok)
}

func TestMailboxSelectiveKeepsOthersInOrder(t *testing.T) {
	is := is.New(t)
	var b Mailbox[string]
	for _, m := range []string{"a1", "b1", "a2", "b2", "a3"} {
		b.Send(m)
	}
	v, ok := <-b.Receive(context.Background(), mailboxPrefix("b"))
	is.True(ok)
	is.Equal(v, "b1")
	v, ok = b.TryReceive(mailboxPrefix("b"))
	is.True(ok)
	is.Equal(v, "b2")
	_, ok = b.TryReceive(mailboxPrefix("b"))
	is.True(!ok)
	is.Equal(b.Len(), 3)
	for _, want := range []string{"a1", "a2", "a3"} {
		v, ok := <-b.Receive(context.Background(), nil)
		is.True(ok)
		is.Equal(v, want)
	}
}

func TestMailboxWaiterTakesOnlyWhatItAccepts(t *testing.T) {
	is := is.New(t)
	var b Mailbox[string]
	quit := b.Receive(context.Background(), mailboxPrefix("quit"))
	b.Send("print 1")
	b.Send("print 2")
	_, _, isReady := recvNow(quit)
	is.True(!isReady) // deferred, not handed over
	is.Equal(b.Len(), 2)
	b.Send("quit")
	v, ok := <-quit
	is.True(ok)
	is.Equal(v, "quit")
	is.Equal(b.Len(), 2) // the deferred messages were not dropped
	v, _ = b.TryReceive(nil)
	is.Equal(v, "print 1")
}

func TestMailboxWaitersServedInOrder(t *testing.T) {
	is := is.New(t)
	var b Mailbox[int]
	odd := b.Receive(context.Background(), func(v int) bool { return v%2 == 1 })
	any1 := b.Receive(context.Background(), nil)
	any2 := b.Receive(context.Background(), nil)
	b.Send(2) // odd refuses: the oldest waiter that accepts is any1
	b.Send(3) // odd is older than any2
	b.Send(4)
	v, ok := <-odd
	is.True(ok && v == 3)
	v, ok = <-any1
	is.True(ok && v == 2)
	v, ok = <-any2
	is.True(ok && v == 4)
	is.Equal(b.Len(), 0)
}

// A message granted to a receiver that never received it goes back to where
// it was, not to the end.
func TestMailboxReclaimKeepsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var b Mailbox[int]

		// Granted at the call (the fast path), never received.
		b.Send(1)
		b.Send(2)
		b.Send(3)
		ctx, cancel := context.WithCancel(context.Background())
		ch := b.Receive(ctx, func(v int) bool { return v == 2 })
		cancel()
		is.Equal(b.Len(), 3) // W3: seen at once, no waiting for AfterFunc
		_, ok := <-ch
		is.True(!ok)
		for want := 1; want <= 3; want++ {
			v, _ := b.TryReceive(nil)
			is.Equal(v, want)
		}

		// Granted while queued, never received; younger messages arrive
		// meanwhile.
		ctx, cancel = context.WithCancel(context.Background())
		ch = b.Receive(ctx, nil)
		b.Send(10)
		b.Send(11)
		b.Send(12)
		cancel()
		synctest.Wait()
		_, ok = <-ch
		is.True(!ok)
		is.Equal(b.Len(), 3)
		for want := 10; want <= 12; want++ {
			v := <-b.Receive(context.Background(), nil)
			is.Equal(v, want)
		}
	})
}

func TestMailboxReclaimGoesToNextAcceptingWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var b Mailbox[string]
		ctx, cancel := context.WithCancel(context.Background())
		first := b.Receive(ctx, nil)
		onlyB := b.Receive(context.Background(), mailboxPrefix("b"))
		anyMsg := b.Receive(context.Background(), nil)
		b.Send("a") // to first, which will not receive it
		cancel()
		synctest.Wait()
		_, ok := <-first
		is.True(!ok)
		v, ok := <-anyMsg // onlyB refuses "a", so it skips to anyMsg
		is.True(ok)
		is.Equal(v, "a")
		_, _, isReady := recvNow(onlyB)
		is.True(!isReady)
		b.Send("b")
		v, ok = <-onlyB
		is.True(ok && v == "b")
	})
}

func TestMailboxReclaimRefusedByAllIsStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var b Mailbox[string]
		ctx, cancel := context.WithCancel(context.Background())
		first := b.Receive(ctx, nil)
		onlyB := b.Receive(context.Background(), mailboxPrefix("b"))
		b.Send("a")
		cancel()
		synctest.Wait()
		_, ok := <-first
		is.True(!ok)
		is.Equal(b.Len(), 1)
		_, _, isReady := recvNow(onlyB)
		is.True(!isReady)
		b.Send("b")
		v := <-onlyB
		is.Equal(v, "b")
	})
}

// The type's doc says when accept is asked about a message: at the Receive
// call or the Send, again when the message comes back from a receiver that
// gave up, and never on its own. (It used to say "once per message and
// never again", which the second offer contradicts.)
func TestMailboxWhenAcceptIsAsked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var b Mailbox[int]
		asked := map[int]int{}
		odd := func(v int) bool { asked[v]++; return v%2 == 1 }
		b.Send(2)
		oddCh := b.Receive(context.Background(), odd) // asked about 2: refused
		is.Equal(asked[2], 1)
		ctx, cancel := context.WithCancel(context.Background())
		anyCh := b.Receive(ctx, nil) // takes 2 at its call
		b.Send(4)                    // odd is asked about 4, not 2
		is.Equal(asked[2], 1)
		is.Equal(asked[4], 1)
		cancel()
		is.Equal(b.Len(), 2) // 2 comes back and is offered to odd again
		is.Equal(asked[2], 2)
		_, ok := <-anyCh
		is.True(!ok)
		is.Equal(b.String(), "Mailbox(len=2, waiters=1)") // asks nobody
		b.Send(5)
		is.Equal(asked[2], 2)
		v := <-oddCh
		is.Equal(v, 5)
	})
}

// When several messages come back at once, the oldest is offered first, so a
// waiter that accepts them all gets the oldest.
func TestMailboxSeveralReclaimsOldestFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var b Mailbox[int]
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		r1 := b.Receive(ctx1, nil)
		r2 := b.Receive(ctx2, nil)
		late := b.Receive(context.Background(), nil)
		b.Send(1) // to r1
		b.Send(2) // to r2
		b.Send(3) // to late
		v := <-late
		is.Equal(v, 3)
		late = b.Receive(context.Background(), nil)

		// Both contexts end before either AfterFunc can act, and one sweep
		// takes both grants back, the younger message first: the case the
		// sort in dispatch is there for.
		mailboxTakeBackNewestFirst(&b, func() { cancel1(); cancel2() })

		_, ok := <-r1
		is.True(!ok)
		_, ok = <-r2
		is.True(!ok)
		v, ok = <-late
		is.True(ok)
		is.Equal(v, 1)
		v, _ = b.TryReceive(nil)
		is.Equal(v, 2)
	})
}

func TestStoreInsertRemove(t *testing.T) {
	is := is.New(t)
	var s store[int]
	var model []int
	seq := 0
	check := func() {
		t.Helper()
		if s.len() != len(model) {
			t.Fatalf("len %d, want %d", s.len(), len(model))
		}
		for i, want := range model {
			if e := s.at(i); e.seq != want || e.m != want*10 {
				t.Fatalf("at %d: %v, want seq %d", i, *e, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var out []int // sequence numbers taken out, to be put back
	for range 3000 {
		switch op := r.IntN(3); {
		case op == 0 && len(out) > 0:
			k := r.IntN(len(out))
			e := out[k]
			out = append(out[:k], out[k+1:]...)
			s.insert(entry[int]{seq: e, m: e * 10})
			i := 0
			for i < len(model) && model[i] < e {
				i++
			}
			model = append(model[:i], append([]int{e}, model[i:]...)...)
		case op == 1 && len(model) > 0:
			i := r.IntN(len(model))
			e := s.remove(i)
			is.Equal(e.seq, model[i])
			model = append(model[:i], model[i+1:]...)
			out = append(out, e.seq)
		default:
			s.push(entry[int]{seq: seq, m: seq * 10})
			model = append(model, seq)
			seq++
		}
		check()
	}
}

func TestCmpSeqWraps(t *testing.T) {
	is := is.New(t)
	last := int(^uint(0) >> 1) // the largest int
	is.Equal(cmpSeq(1, 2), -1)
	is.Equal(cmpSeq(2, 2), 0)
	is.Equal(cmpSeq(3, 2), 1)
	is.Equal(cmpSeq(last, last+1), -1) // last+1 wraps to the smallest int
	is.Equal(cmpSeq(last+1, last), 1)
}

// Send then receive in one goroutine: the uncontended cost of a message,
// beside a buffered channel.
func BenchmarkMailboxSendReceive(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=chans", func(b *testing.B) {
		var mb Mailbox[int]
		for i := 0; b.Loop(); i++ {
			mb.Send(i)
			<-mb.Receive(ctx, nil)
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		ch := make(chan int, 1)
		for i := 0; b.Loop(); i++ {
			ch <- i
			<-ch
		}
	})
}

// Two goroutines bouncing a message: every Receive waits, so this measures
// the queued path and the hand-off, beside a pair of channels.
func BenchmarkMailboxPingPong(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=chans", func(b *testing.B) {
		var ping, pong Mailbox[int]
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				v := <-ping.Receive(ctx, nil)
				if v < 0 {
					return
				}
				pong.Send(v)
			}
		}()
		for i := 0; b.Loop(); i++ {
			ping.Send(i)
			<-pong.Receive(ctx, nil)
		}
		ping.Send(-1)
		<-done
	})
	b.Run("impl=chan", func(b *testing.B) {
		ping, pong := make(chan int, 1), make(chan int, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				v := <-ping
				if v < 0 {
					return
				}
				pong <- v
			}
		}()
		for i := 0; b.Loop(); i++ {
			ping <- i
			<-pong
		}
		ping <- -1
		<-done
	})
}

// A selective receive that skips deferred messages to find the one it
// wants: the cost grows with the number skipped (here 100).
func BenchmarkMailboxSelective(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=chans", func(b *testing.B) {
		var mb Mailbox[int]
		for range 100 {
			mb.Send(0) // deferred: never accepted
		}
		wanted := func(v int) bool { return v != 0 }
		for i := 1; b.Loop(); i++ {
			mb.Send(i)
			<-mb.Receive(ctx, wanted)
		}
	})
}

// #11: an accept that panics when another call asks it loses no message and
// leaves the mailbox consistent. In Send, the receiver it belongs to is
// failed (its channel closed), the message goes to the next receiver, and the
// panic reaches the caller of Send.
func TestMailboxAcceptPanicsInSend(t *testing.T) {
	is := is.New(t)
	var b Mailbox[int]
	bad := b.Receive(bg(), func(int) bool { panic("boom") })
	good := b.Receive(bg(), nil)
	msg := panicText(func() { b.Send(7) })
	is.Equal(msg, "boom")
	is.True(isClosedChan(bad))
	v, ok, ready := recvNow(good)
	is.True(ready && ok)
	is.Equal(v, 7)
	b.Send(8) // the failed receiver is gone: nothing panics
	is.Equal(b.Len(), 1)
}

// In its own call, a panicking accept panics that call and changes nothing.
func TestMailboxAcceptPanicsInItsOwnReceive(t *testing.T) {
	is := is.New(t)
	var b Mailbox[int]
	b.Send(1)
	msg := panicText(func() { b.Receive(bg(), func(int) bool { panic("own") }) })
	is.Equal(msg, "own")
	msg = panicText(func() { _, _ = b.ReceiveWait(bg(), func(int) bool { panic("own") }) })
	is.Equal(msg, "own")
	is.Equal(b.Len(), 1)
	v, ok := b.TryReceive(nil)
	is.True(ok && v == 1)
}

// A message coming back from a receiver whose ctx ended is offered again in
// the goroutine context.AfterFunc starts, where a panic would crash the
// process: the panicking receiver is failed instead (a ReceiveWait returns a
// *PanicError with the panic), and the message is kept.
func TestMailboxAcceptPanicsInTheLibrarysGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var b Mailbox[int]
		ctx, cancel := context.WithCancel(bg())
		first := b.Receive(ctx, nil)
		b.Send(5) // to first's buffer, unreceived
		errc := make(chan error, 1)
		go func() {
			_, err := b.ReceiveWait(bg(), func(int) bool { panic("late") })
			errc <- err
		}()
		synctest.Wait() // the twin is queued
		cancel()        // the AfterFunc takes 5 back and offers it to the twin
		synctest.Wait()
		var perr *PanicError
		is.True(errors.As(<-errc, &perr))
		is.Equal(perr.Value, "late")
		is.True(len(perr.Stack) > 0)
		_, ok := <-first
		is.True(!ok)
		v, ok := b.TryReceive(nil)
		is.True(ok && v == 5) // not lost
	})
}

// #11: a burst of messages gives its memory back once drained.
func TestMailboxGivesMemoryBack(t *testing.T) {
	is := is.New(t)
	var b Mailbox[int]
	for i := range 100_000 {
		b.Send(i)
	}
	for range 100_000 {
		_, ok := b.TryReceive(nil)
		is.True(ok)
	}
	b.mu.Lock()
	c := cap(b.msgs.buf)
	b.mu.Unlock()
	is.True(c <= 64) // from ~10^5 entries
}

// isClosedChan reports whether ch is closed and empty.
func isClosedChan[T any](ch <-chan T) bool {
	_, ok, ready := recvNow(ch)
	return ready && !ok
}
