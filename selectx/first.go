package selectx

import (
	"context"
	"fmt"
)

// First starts the ops and returns the index and value of the first to
// deliver. It starts them in argument order and stops starting once one is
// ready at once, so ops after an immediate winner are never started (which
// is indistinguishable from starting and undoing them, only cheaper).
// Exactly one op takes effect: all ops run under one context derived
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
	// Start the ops one at a time, looking at the earlier ones again and
	// then at the new one before starting the next: once some op is ready,
	// the ops after it are never started. That keeps the argument-order
	// tie-break and saves starting (and then undoing) the rest. Starting
	// them all first would be just as correct, only slower: every loser
	// would queue, register its ctx, and then be taken back.
	live := 0
	for i, op := range ops {
		if live > 0 {
			if j, v, ok := poll(chs[:i]); j >= 0 {
				if ok {
					return j, v, nil
				}
				live--
			}
		}
		c := op(opCtx)
		if c == nil {
			panic(fmt.Sprintf("selectx: op %d returned a nil channel", i))
		}
		chs[i] = c
		live++
		if j, v, ok := poll(chs[i : i+1]); j >= 0 {
			if ok {
				return i, v, nil
			}
			live--
		}
	}
	for live > 0 {
		i, v, ok := next(chs, ctx.Done())
		if i < 0 {
			return -1, zero, ctx.Err()
		}
		if ok {
			return i, v, nil
		}
		chs[i] = nil
		live--
	}
	if err := ctx.Err(); err != nil {
		// The ops closed because ctx ended.
		return -1, zero, err
	}
	return -1, zero, ErrClosed
}

// poll receives, without blocking, from the first ready channel of chs in
// order. It returns its index (-1 if none is ready) and sets a channel that
// closed without a value to nil, so it drops out.
func poll[T any](chs []<-chan T) (int, T, bool) {
	for i, c := range chs {
		if c == nil {
			continue
		}
		select {
		case v, ok := <-c:
			if !ok {
				chs[i] = nil
			}
			return i, v, ok
		default:
		}
	}
	var zero T
	return -1, zero, false
}
