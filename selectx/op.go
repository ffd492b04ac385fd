package selectx

import (
	"context"
	"errors"
	"fmt"
	"reflect"
)

// Op is one operation to wait for: a func that starts it under ctx and returns
// the channel on which it completes. Method values such as lock.Acquire or
// queue.Get are Ops.
//
// selectx relies on the waiting contract of package chans: the channel yields
// at most one value, then is closed (a close without a value means the
// operation did not take effect), and when ctx ends before the value was
// received the operation is undone, even if the value was already sitting in
// the channel's buffer. Ops that cannot be undone (a queue Put that was
// accepted, a timer that fired) may take effect even when they lose.
type Op[T any] func(ctx context.Context) <-chan T

// Chan returns an Op that ignores its ctx and returns c, for plain channels
// such as time.After(d) or the result of Process. Nothing is undone when such
// an Op loses: a value that arrives on c stays there for the next receiver.
func Chan[T any](c <-chan T) Op[T] {
	if c == nil {
		panic("selectx: Chan of a nil channel")
	}
	return func(context.Context) <-chan T { return c }
}

// Closed returns an Op for a channel that signals by closing rather than by
// sending, such as an Event's Wait, a Result's Done, a Semaphore's Wait, a
// Queue's Join or a ctx's Done. Given to First or Select as it is, such a
// channel would read as "did not take effect" and drop out; the Op's channel
// instead delivers struct{}{} once c is closed, then is closed. It is
// buffered (capacity 1). If ctx ends before c closes, it is closed without a
// value. Nothing is taken from anyone, so nothing is undone when the Op loses
// or its value is never received.
//
// If c is already closed when the Op starts, the answer is ready at once.
// Otherwise one goroutine waits for c or ctx, whichever comes first. First,
// All, Completed and Select end it when they return, by cancelling the ctx
// they start their ops with; a caller that runs the Op itself must end ctx
// (or see c closed) to end the goroutine. Closed panics if c is nil.
func Closed(c <-chan struct{}) Op[struct{}] {
	if c == nil {
		panic("selectx: Closed of a nil channel")
	}
	return func(ctx context.Context) <-chan struct{} {
		out := make(chan struct{}, 1)
		select {
		case <-c:
			out <- struct{}{}
			close(out)
			return out
		default:
		}
		if ctx.Err() != nil {
			close(out)
			return out
		}
		go func() {
			defer close(out)
			select {
			case <-c:
				out <- struct{}{}
			case <-ctx.Done():
			}
		}()
		return out
	}
}

// ErrClosed is returned when the operations closed their channels without a
// value, that is, none of them took effect, while ctx was still live.
var ErrClosed = errors.New("selectx: op closed without a value")

// small is how many channels the hand-written select in wait covers; more
// go through reflect.Select.
const small = 4

// checkOps panics on a nil Op before anything is started, so a bad argument
// never leaves half the operations running.
func checkOps[T any](fn string, ops []Op[T]) {
	for i, op := range ops {
		if op == nil {
			panic(fmt.Sprintf("selectx: %s: op %d is nil", fn, i))
		}
	}
}

// start runs every op under ctx and stores its channel in chs.
func start[T any](ctx context.Context, ops []Op[T], chs []<-chan T) {
	for i, op := range ops {
		c := op(ctx)
		if c == nil {
			// A nil channel would block forever without a word.
			panic(fmt.Sprintf("selectx: op %d returned a nil channel", i))
		}
		chs[i] = c
	}
}

// next receives from the first channel of chs to be ready and returns its
// index, the value and whether it was a value rather than a close. Channels
// ready at the same instant are taken in argument order: next polls them in
// order without blocking and blocks only when none is ready. Nil entries
// (finished operations) are skipped. The index is -1 when done is closed
// first.
func next[T any](chs []<-chan T, done <-chan struct{}) (int, T, bool) {
	for i, c := range chs {
		if c == nil {
			continue
		}
		select {
		case v, ok := <-c:
			return i, v, ok
		default:
		}
	}
	if len(chs) > small {
		return waitReflect(chs, done)
	}
	return wait(chs, done)
}

// wait blocks until one of up to four channels or done is ready. The unused
// and finished slots are nil channels, which a select never chooses.
func wait[T any](chs []<-chan T, done <-chan struct{}) (int, T, bool) {
	var c [small]<-chan T
	copy(c[:], chs)
	select {
	case v, ok := <-c[0]:
		return 0, v, ok
	case v, ok := <-c[1]:
		return 1, v, ok
	case v, ok := <-c[2]:
		return 2, v, ok
	case v, ok := <-c[3]:
		return 3, v, ok
	case <-done:
		var zero T
		return -1, zero, false
	}
}

// waitReflect is wait for any number of channels.
func waitReflect[T any](chs []<-chan T, done <-chan struct{}) (int, T, bool) {
	cases := make([]reflect.SelectCase, len(chs)+1)
	for i, c := range chs {
		cases[i].Dir = reflect.SelectRecv
		if c != nil {
			cases[i].Chan = reflect.ValueOf(c)
		}
	}
	var v T
	i, recv, ok := selectOrDone(cases, done)
	if ok {
		reflect.ValueOf(&v).Elem().Set(recv)
	}
	return i, v, ok
}

// selectOrDone runs reflect.Select over cases, whose last element it fills
// with done. It returns i < 0 when done was chosen.
func selectOrDone(cases []reflect.SelectCase, done <-chan struct{}) (int, reflect.Value, bool) {
	last := len(cases) - 1
	cases[last].Dir = reflect.SelectRecv
	if done != nil {
		cases[last].Chan = reflect.ValueOf(done)
	}
	i, recv, ok := reflect.Select(cases)
	if i == last {
		return -1, recv, false
	}
	return i, recv, ok
}
