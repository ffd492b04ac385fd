package chans

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrGoexit is the failure of a task started by Go whose function called
// runtime.Goexit (t.FailNow does) instead of returning.
var ErrGoexit = errors.New("chans: task called runtime.Goexit")

// A PanicError is the failure of a task started by Go whose function
// panicked. It carries the panic value and the stack of the goroutine at the
// panic, so the cause is not lost when the failure is reported elsewhere.
type PanicError struct {
	Value any    // what the function passed to panic
	Stack []byte // the panicking goroutine's stack, as debug.Stack formats it
}

// Error reports the panic value followed by the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("chans: task panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Go runs f(ctx) in a new goroutine, a task (a kiwi tasklet), and returns the
// Result it will settle: Set with f's value if f returns a nil error, Fail
// with the error otherwise. A panic in f does not crash the program: it
// becomes the failure, a *PanicError holding the value and the stack. If f
// calls runtime.Goexit, the failure is ErrGoexit. Either way the Result is
// settled, so nobody waiting on it waits forever.
//
// Wait for the task with the Result: Done() and then TryGet() for the value
// or the failure, or Get(ctx) for the value alone.
//
// Go only hands ctx to f; it neither watches ctx nor skips f when ctx has
// ended. Cancel ctx to ask f to stop, and let f decide what that means.
//
// The Result belongs to the task: if someone else settles it first, the
// task's own outcome is dropped.
//
// Memory model: in the terms of [the Go memory model], everything f did
// happens before any receive or call on the Result that observes it settled.
// Go panics if ctx or f is nil.
//
// [the Go memory model]: https://go.dev/ref/mem
func Go[T any](ctx context.Context, f func(context.Context) (T, error)) *Result[T] {
	checkCtx(ctx, "Go")
	if f == nil {
		panic("chans: Go with a nil function")
	}
	r := new(Result[T])
	go run(ctx, f, r)
	return r
}

// run is the body of a task's goroutine. It returns the failure it settled r
// with, if f returned (a panic's failure too); if f called runtime.Goexit,
// run does not return.
func run[T any](ctx context.Context, f func(context.Context) (T, error), r *Result[T]) (failure error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		// f did not return: it panicked, or it called runtime.Goexit, in
		// which case there is nothing to recover. recover must be called by
		// this deferred function itself to work.
		if p := recover(); p != nil {
			failure = &PanicError{Value: p, Stack: debug.Stack()}
			r.Fail(failure)
		} else {
			r.Fail(ErrGoexit)
		}
	}()
	v, err := f(ctx)
	returned = true
	if err != nil {
		r.Fail(err)
		return err
	}
	r.Set(v)
	return nil
}
