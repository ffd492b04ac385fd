package selectx

import (
	"context"
	"iter"
)

// Completed returns an iterator over the ops' results in completion order:
// each step yields the index of an op and its value. Ops ready at the same
// instant come in argument order. Ops whose channels close without a value are
// skipped.
//
// Each range over the iterator starts every op afresh, under one context
// derived from ctx. Breaking out of the loop cancels that context, so the ops
// not yet yielded are undone and their grants go back to the primitives;
// values already yielded are the caller's. The loop also ends when ctx ends
// (also when it is done before the loop starts, and then no op is started);
// the iterator does not report why it ended, so check ctx.Err() after the
// loop, or count the results, to tell "all done" from "ctx ended".
//
// Completed panics at the call if an op is nil, and during the loop if an op
// returns a nil channel. Up to four ops it needs no reflection and starts no
// goroutine.
func Completed[T any](ctx context.Context, ops ...Op[T]) iter.Seq2[int, T] {
	checkOps("Completed", ops)
	return func(yield func(int, T) bool) {
		if ctx.Err() != nil {
			return
		}
		opCtx, cancel := context.WithCancel(ctx)
		defer cancel()

		chs := make([]<-chan T, len(ops))
		start(opCtx, ops, chs)
		for range ops {
			// Prefer ending to yielding once ctx is done, as the ops
			// themselves do (chans contract W4).
			if ctx.Err() != nil {
				return
			}
			i, v, ok := next(chs, ctx.Done())
			if i < 0 {
				return
			}
			chs[i] = nil
			if ok && !yield(i, v) {
				return
			}
		}
	}
}
