package selectx

import (
	"context"
	"fmt"
	"reflect"
)

// Case is one branch of Select, made by On. The zero Case is invalid.
type Case struct{ b branch }

// branch is a Case whose value type is hidden. A Case holds no per-call
// state, so one Case may serve several Select calls, even concurrently.
type branch interface {
	start(ctx context.Context) armed
}

// armed is a started branch inside one Select call.
type armed interface {
	poll() (ready, ok bool) // non-blocking receive
	channel() reflect.Value
	took(v reflect.Value) // the value reflect.Select received
	fire()
}

// On makes a Select branch: op is started by Select and, if it wins, then is
// called with its value. then may be nil when the index Select returns is
// enough, but the value is then dropped: keep nil for ops that hand out
// nothing exclusive (a timer, a Result's Get), never for a lock or a queue
// item. A channel that signals by closing (an Event's Wait, a Result's Done)
// is no op by itself: a close without a value means "did not take effect",
// so its branch would drop out and never win; wrap it in Closed. On panics
// if op is nil.
func On[T any](op Op[T], then func(T)) Case {
	if op == nil {
		panic("selectx: On with a nil op")
	}
	return Case{on[T]{op, then}}
}

type on[T any] struct {
	op   Op[T]
	then func(T)
}

func (o on[T]) start(ctx context.Context) armed {
	c := o.op(ctx)
	if c == nil {
		panic("selectx: op returned a nil channel")
	}
	return &onArmed[T]{c: c, then: o.then}
}

type onArmed[T any] struct {
	c    <-chan T
	v    T
	then func(T)
}

func (a *onArmed[T]) poll() (ready, ok bool) {
	select {
	case a.v, ok = <-a.c:
		return true, ok
	default:
		return false, false
	}
}

func (a *onArmed[T]) channel() reflect.Value { return reflect.ValueOf(a.c) }

func (a *onArmed[T]) took(v reflect.Value) { reflect.ValueOf(&a.v).Elem().Set(v) }

func (a *onArmed[T]) fire() {
	if a.then != nil {
		a.then(a.v)
	}
}

// Select is First for ops of different types. It starts every case's op,
// waits for the first to deliver, cancels the others (their grants go back, as
// in First), then calls the winner's then in the caller's goroutine and
// returns the winner's index. Ties go to the earliest case. A case whose
// channel closes without a value drops out; if all drop out, Select returns
// -1 and ErrClosed. If ctx ends first, or is done at the call (then nothing
// is started), Select returns -1 and ctx.Err() and no then is called.
//
// Select polls without reflection but blocks with reflect.Select, which
// allocates; for ops of one type, First is cheaper. It panics if cases is
// empty, holds a zero Case, or an op returns a nil channel.
func Select(ctx context.Context, cases ...Case) (int, error) {
	if len(cases) == 0 {
		panic("selectx: Select needs at least one case")
	}
	for i, c := range cases {
		if c.b == nil {
			panic(fmt.Sprintf("selectx: Select: case %d is the zero Case", i))
		}
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	opCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	as := make([]armed, len(cases))
	for i, c := range cases {
		as[i] = c.b.start(opCtx)
	}
	win := func(i int) (int, error) {
		cancel() // give the losers' grants back before then runs
		as[i].fire()
		return i, nil
	}
	live := len(as)
	for i, a := range as {
		ready, ok := a.poll()
		if !ready {
			continue
		}
		if ok {
			return win(i)
		}
		as[i] = nil
		live--
	}
	sel := make([]reflect.SelectCase, len(as)+1)
	for i, a := range as {
		sel[i].Dir = reflect.SelectRecv
		if a != nil { // a zero Chan is never chosen
			sel[i].Chan = a.channel()
		}
	}
	for ; live > 0; live-- {
		i, v, ok := selectOrDone(sel, ctx.Done())
		if i < 0 {
			return -1, ctx.Err()
		}
		if ok {
			as[i].took(v)
			return win(i)
		}
		sel[i].Chan = reflect.Value{}
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	return -1, ErrClosed
}
