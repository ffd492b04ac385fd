package selectx

import "context"

// All starts every op and waits until each has delivered. It returns the
// values in argument order and a nil error.
//
// When it cannot finish, All stops at once, withdraws the ops that have not
// delivered (their grants go back to the primitives) and returns an error:
// ctx.Err() when ctx ends, or an *OpError naming the op when an op closes
// without a value (errors.Is finds ErrClosed in it, and the reason its
// primitive gives, such as a failed Result's error). Values already received
// are not lost: they come back with the error, each at its op's index, with
// the zero T at the indexes of ops that did not deliver. They are the
// caller's, so release them, for example:
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
// panics if ctx is nil, or an op is nil or returns a nil channel. No ops: an
// empty slice and nil. It costs what First costs.
func All[T any](ctx context.Context, ops ...Op[T]) ([]T, error) {
	checkCtx("All", ctx)
	checkOps("All", ops)
	vs := make([]T, len(ops))
	if err := ctx.Err(); err != nil {
		return vs, err
	}
	r := newRace[T](ctx, len(ops))
	defer r.end()
	r.c.Arm() // every op must take effect: no first pass
	for i, op := range ops {
		r.start(i, op)
	}
	for r.live > 0 {
		// Take nothing more once ctx is done: fewer values to give back.
		if err := ctx.Err(); err != nil {
			return vs, err
		}
		i, v, ok := r.next(ctx.Done())
		if i < 0 {
			return vs, ctx.Err()
		}
		if !ok {
			if err := ctx.Err(); err != nil {
				return vs, err
			}
			return vs, r.closed[len(r.closed)-1]
		}
		vs[i] = v
	}
	return vs, nil
}
