package selectx

import "context"

// First starts the ops and returns the index and value of the first to
// deliver. Exactly one op takes effect: the others are withdrawn before First
// returns, and the primitives take back any grant they made them (a permit, a
// lock, a queue item), even one already waiting in a channel. First never
// receives from an op after it has its winner.
//
// It works in two passes. The first starts the ops in argument order under
// one context of its own, and stops as soon as one is ready at once; an op
// of package chans that cannot be granted at once is not queued in this
// pass. If none was ready, the second pass queues those ops, in argument
// order, again stopping once one is granted. Only then does First block. So
// when some op is ready at the call, no other is ever queued, and when
// several are ready at the same instant, the earliest in argument order wins
// (yieldpoints' WaitAny).
//
// An op whose channel closes without a value (a shut-down queue, a failed
// result) drops out. If all drop out, First returns an error: an *OpError
// with the reason its primitive gives (a failed Result's error, ErrShutdown),
// an errors.Join of them if several give one, or ErrClosed. errors.Is finds
// ErrClosed and every reason in it.
//
// If ctx ends first, or is already done at the call (then no op is started),
// First returns -1, the zero T and ctx.Err(), and nothing has taken effect.
// If ctx ends while First is choosing, it returns either that or a winner it
// had already received, never both. There is no need to add
// Closed(ctx.Done()) of First's own ctx: it is always watched.
//
// Cost: the ops of package chans cost First no goroutine, no reflection and no
// AfterFunc; it blocks on one channel for all of them, and withdraws the
// losers in its own goroutine. Up to three other ops join a hand-written
// select; more go through reflect.Select. First panics if ctx is nil, if ops
// is empty, or if an op is nil or returns a nil channel.
func First[T any](ctx context.Context, ops ...Op[T]) (int, T, error) {
	checkCtx("First", ctx)
	if len(ops) == 0 {
		panic("selectx: First needs at least one op")
	}
	checkOps("First", ops)
	var zero T
	if err := ctx.Err(); err != nil {
		return -1, zero, err
	}
	r := newRace[T](ctx, len(ops))
	defer r.end()
	// Looking at the ops started so far after each start keeps the
	// tie-break and saves starting (and then withdrawing) the rest once one
	// is ready.
	for i, op := range ops {
		r.start(i, op)
		if j, v, ok := r.ready(i + 1); ok {
			return j, v, nil
		}
	}
	r.c.Arm()
	for i := range ops {
		r.arm(i)
		if j, v, ok := r.ready(i + 1); ok {
			return j, v, nil
		}
	}
	r.armRest()
	for r.live > 0 {
		i, v, ok := r.next(ctx.Done())
		if i < 0 {
			return -1, zero, ctx.Err()
		}
		if ok {
			return i, v, nil
		}
	}
	if err := ctx.Err(); err != nil {
		// The ops closed because ctx ended.
		return -1, zero, err
	}
	return -1, zero, r.failure()
}

// ready returns the first of the first n ops that has delivered, letting
// those that closed drop out on the way.
func (r *race[T]) ready(n int) (int, T, bool) {
	for {
		i, v, ok := r.poll(n)
		if i < 0 || ok {
			return i, v, ok
		}
	}
}
