package selectx

import "context"

// First starts every op and returns the index and value of the first to
// deliver. Exactly one op takes effect: all ops run under one context derived
// from ctx, and First cancels it before returning, so the primitives take back
// the grants of the others (a permit, a lock, a queue item), even grants
// already waiting in their channels. First never receives from an op after it
// has its winner.
//
// When several ops are ready at the same instant, the earliest in argument
// order wins (yieldpoints' WaitAny). An op whose channel closes without a
// value (a shut-down queue, a failed result) drops out; if all drop out, First
// returns ErrClosed.
//
// If ctx ends first, or is already done at the call (then no op is started),
// First returns -1, the zero T and ctx.Err(), and nothing has taken effect.
// If ctx ends while First is choosing, it returns either that or a winner it
// had already received, never both; the tie-break then no longer applies,
// since the primitives may take grants back before First sees them.
//
// First panics if ops is empty, if an op is nil or returns a nil channel. Up to
// four ops it needs no reflection and starts no goroutine.
func First[T any](ctx context.Context, ops ...Op[T]) (int, T, error) {
	if len(ops) == 0 {
		panic("selectx: First needs at least one op")
	}
	checkOps("First", ops)
	var zero T
	if err := ctx.Err(); err != nil {
		return -1, zero, err
	}
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var buf [small]<-chan T
	chs := buf[:]
	if len(ops) > small {
		chs = make([]<-chan T, len(ops))
	}
	chs = chs[:len(ops)]
	start(opCtx, ops, chs)
	for range ops {
		i, v, ok := next(chs, ctx.Done())
		if i < 0 {
			return -1, zero, ctx.Err()
		}
		if ok {
			return i, v, nil
		}
		chs[i] = nil
	}
	if err := ctx.Err(); err != nil {
		// The ops closed because ctx ended.
		return -1, zero, err
	}
	return -1, zero, ErrClosed
}
