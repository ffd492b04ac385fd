package selectx

import (
	"context"
	"iter"
)

// Completed returns an iterator over the ops' results in completion order:
// each step yields the index of an op and its value. Ops ready at the same
// instant come in argument order. Ops whose channels close without a value are
// skipped; CompletedErr reports them.
//
// Each range over the iterator starts every op afresh, under one context of
// its own. Breaking out of the loop withdraws the ops not yet yielded, so
// their grants go back to the primitives; values already yielded are the
// caller's. The loop also ends when ctx ends (also when it is done before the
// loop starts, and then no op is started); the iterator does not report why
// it ended, so check ctx.Err() after the loop, or count the results, to tell
// "all done" from "ctx ended".
//
// Completed panics at the call if ctx is nil or an op is nil, and during the
// loop if an op returns a nil channel. It costs what First costs.
func Completed[T any](ctx context.Context, ops ...Op[T]) iter.Seq2[int, T] {
	checkCtx("Completed", ctx)
	checkOps("Completed", ops)
	return func(yield func(int, T) bool) {
		for c, err := range completions(ctx, ops) {
			if err == nil && !yield(c.Index, c.Value) {
				return
			}
		}
	}
}

// A Completion is one op's value, from CompletedErr.
type Completion[T any] struct {
	Index int // the op's index among the arguments
	Value T
}

// CompletedErr is Completed reporting failures too. Each step yields an op's
// completion and a nil error; or, for an op that closed without a value, its
// index and an *OpError that says why (errors.Is finds ErrClosed and the
// reason its primitive gives); or, once ctx ends, a zero Completion with
// Index -1 and ctx.Err(), as the last step. Breaking out withdraws the ops not
// yet yielded, as for Completed.
func CompletedErr[T any](ctx context.Context, ops ...Op[T]) iter.Seq2[Completion[T], error] {
	checkCtx("CompletedErr", ctx)
	checkOps("CompletedErr", ops)
	return completions(ctx, ops)
}

func completions[T any](ctx context.Context, ops []Op[T]) iter.Seq2[Completion[T], error] {
	return func(yield func(Completion[T], error) bool) {
		if err := ctx.Err(); err != nil {
			yield(Completion[T]{Index: -1}, err)
			return
		}
		r := newRace[T](ctx, len(ops))
		defer r.end()
		r.c.Arm()
		for i, op := range ops {
			r.start(i, op)
		}
		for r.live > 0 {
			// Prefer ending to yielding once ctx is done, as the ops
			// themselves do (chans contract W4).
			if err := ctx.Err(); err != nil {
				yield(Completion[T]{Index: -1}, err)
				return
			}
			i, v, ok := r.next(ctx.Done())
			switch {
			case i < 0:
				yield(Completion[T]{Index: -1}, ctx.Err())
				return
			case !ok:
				if err := ctx.Err(); err != nil {
					yield(Completion[T]{Index: -1}, err)
					return
				}
				if !yield(Completion[T]{Index: i}, r.closed[len(r.closed)-1]) {
					return
				}
			case !yield(Completion[T]{Index: i, Value: v}, nil):
				return
			}
		}
	}
}
