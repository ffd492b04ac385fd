package selectx

import (
	"context"
	"errors"
	"fmt"
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

// small is how many channels the hand-written select in race.block covers
// (three foreign ops, the choice's wake-up and the caller's Done); more foreign
// ops go through reflect.Select. Ops that package chans serves never count:
// one wake-up channel stands for all of them.
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

// Bind returns the Op that calls f with its ctx and a: an operation with one
// argument beyond its ctx, such as a Semaphore's AcquireN with n, a Mailbox's
// Receive with accept, or a Queue's Put with the item, without a closure of
// the caller's own:
//
//	i, r, err := selectx.First(ctx, selectx.Bind(sem.AcquireN, 2), lock.Acquire)
//
// Calling the Op allocates nothing beyond what f itself does.
func Bind[A, T any](f func(context.Context, A) <-chan T, a A) Op[T] {
	if f == nil {
		panic("selectx: Bind of a nil func")
	}
	return func(ctx context.Context) <-chan T { return f(ctx, a) }
}
