package selectx

import (
	"context"
	"fmt"
)

// All starts every op and waits until each has delivered. It returns the
// values in argument order and a nil error.
//
// When it cannot finish, All stops at once, cancels the ops that have not
// delivered (their grants go back to the primitives) and returns an error:
// ctx.Err() when ctx ends, or ErrClosed (wrapped, naming the op) when an op
// closes without a value. Values already received are not lost: they come
// back with the error, each at its op's index, with the zero T at the indexes
// of ops that did not deliver. They are the caller's, so release them, for
// example:
//
//	rs, err := selectx.All(ctx, a.Acquire, b.Acquire)
//	if err != nil {
//		for _, r := range rs {
//			if r != nil {
//				r()
//			}
//		}
//		return err
//	}
//
// If a zero T can be a real value (an int item from a queue), use Completed,
// which tells exactly which ops delivered.
//
// All holds what it has received while it waits for the rest. Two Alls over
// the same locks can therefore deadlock, each holding what the other waits
// for, until a ctx ends: give ctx a deadline when the ops contend.
//
// A ctx already done at the call starts no op and returns ctx.Err(). All
// panics if an op is nil or returns a nil channel. No ops: an empty slice and
// nil.
func All[T any](ctx context.Context, ops ...Op[T]) ([]T, error) {
	checkOps("All", ops)
	vs := make([]T, len(ops))
	if err := ctx.Err(); err != nil {
		return vs, err
	}
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	chs := make([]<-chan T, len(ops))
	start(opCtx, ops, chs)
	for range ops {
		// Take nothing more once ctx is done: fewer values to give back.
		if err := ctx.Err(); err != nil {
			return vs, err
		}
		i, v, ok := next(chs, ctx.Done())
		if i < 0 {
			return vs, ctx.Err()
		}
		if !ok {
			if err := ctx.Err(); err != nil {
				return vs, err
			}
			return vs, fmt.Errorf("%w (op %d)", ErrClosed, i)
		}
		vs[i] = v
		chs[i] = nil
	}
	return vs, nil
}
