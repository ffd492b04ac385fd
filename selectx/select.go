package selectx

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/turnstile-go/turnstile/internal/choice"
)

// Case is one branch of Select, made by On. The zero Case is invalid.
type Case struct{ b branch }

// branch is a Case whose value type is hidden. A Case holds no per-call
// state, so one Case may serve several Select calls, even concurrently.
type branch interface {
	start(c *choice.Ctx, i int) armed
}

// armed is a started branch inside one Select call.
type armed interface {
	poll() (ready, ok bool) // non-blocking receive
	channel() reflect.Value // for reflect.Select, when the op is foreign
	took(v reflect.Value)   // the value reflect.Select received
	waiter() choice.Waiter  // the waiter serving the op, or nil if it is foreign
	regs() (from, to int)   // the waiters the op's call registered with the choice
	fire()                  // call then with the value
	done()                  // the call is over: the branch may serve another
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
	return Case{on[T]{op: op, then: then, spare: new(sync.Pool)}}
}

type on[T any] struct {
	op   Op[T]
	then func(T)
	// spare keeps the started branches of finished Select calls, so that a
	// Case used in a loop (an actor's) does not allocate one per call.
	spare *sync.Pool
}

func (o on[T]) start(c *choice.Ctx, i int) armed {
	before := c.Len()
	ch := o.op(c)
	if ch == nil {
		panic(fmt.Sprintf("selectx: Select: case %d's op returned a nil channel", i))
	}
	a, _ := o.spare.Get().(*onArmed[T])
	if a == nil {
		a = new(onArmed[T])
	}
	*a = onArmed[T]{c: ch, then: o.then, from: before, to: c.Len(), spare: o.spare}
	if a.to > before {
		a.w = c.Find(before, ch)
	}
	return a
}

type onArmed[T any] struct {
	c        <-chan T
	v        T
	then     func(T)
	w        choice.Waiter
	from, to int
	spare    *sync.Pool
}

// done gives a back to its Case once its Select call has finished with it.
func (a *onArmed[T]) done() {
	spare := a.spare
	*a = onArmed[T]{}
	spare.Put(a)
}

func (a *onArmed[T]) regs() (int, int) { return a.from, a.to }

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

func (a *onArmed[T]) waiter() choice.Waiter { return a.w }

func (a *onArmed[T]) fire() {
	if a.then != nil {
		a.then(a.v)
	}
}

// Select is First for ops of different types. It starts the cases' ops in
// two passes as First does, waits for the first to deliver, withdraws the
// others (their grants go back, as in First), then calls the winner's then
// in the caller's goroutine and returns the winner's index. Ties go to the
// earliest case. A case whose channel closes without a value drops out; if
// all drop out, Select returns -1 and an error as First does (an *OpError
// with its primitive's reason, or ErrClosed). If ctx ends first, or is done
// at the call (then nothing is started), Select returns -1 and ctx.Err() and
// no then is called.
//
// Select needs no reflection and no goroutine while every op is one of
// package chans; it blocks with reflect.Select when some are not. It panics
// if ctx is nil, cases is empty, holds a zero Case, or an op returns a nil
// channel.
func Select(ctx context.Context, cases ...Case) (int, error) {
	checkCtx("Select", ctx)
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
	c := choice.New(ctx)
	var buf [small]armed
	as := buf[:0]
	if len(cases) > small {
		as = make([]armed, 0, len(cases))
	}
	all := make([]armed, 0, small) // every branch started, for done: as drops the closed ones
	defer func() {
		c.End()
		for _, a := range all {
			a.done()
		}
	}()
	var closed []error
	win := func(i int) (int, error) {
		if w := as[i].waiter(); w != nil {
			w.Received()
		}
		c.End() // give the losers' grants back before then runs
		as[i].fire()
		return i, nil
	}
	// ready polls the first n cases in order; a closed one drops out.
	ready := func(n int) int {
		for i := 0; i < n; i++ {
			a := as[i]
			if a == nil {
				continue
			}
			r, ok := a.poll()
			switch {
			case !r:
				continue
			case ok:
				return i
			}
			var why error
			if w := a.waiter(); w != nil {
				why = w.Cause()
			}
			closed = append(closed, &OpError{Index: i, Err: why})
			as[i] = nil
		}
		return -1
	}
	for i, cs := range cases {
		a := cs.b.start(c, i)
		as = append(as, a)
		all = append(all, a)
		if j := ready(i + 1); j >= 0 {
			return win(j)
		}
	}
	c.Arm()
	covered := 0
	for i := range as {
		if a := as[i]; a != nil {
			// Every waiter the op registered, as race.arm explains.
			if from, to := a.regs(); to > from {
				c.ArmRange(from, to)
				covered += to - from
			}
		}
		if j := ready(i + 1); j >= 0 {
			return win(j)
		}
	}
	if c.Len() > covered {
		c.ArmRange(0, -1) // what foreign goroutines registered meanwhile
	}
	for {
		live, foreign := 0, 0
		for _, a := range as {
			if a != nil {
				live++
				if a.waiter() == nil {
					foreign++
				}
			}
		}
		if live == 0 {
			break
		}
		if foreign == 0 {
			select {
			case <-c.Woken():
			case <-ctx.Done():
				return -1, ctx.Err()
			}
		} else {
			sel := make([]reflect.SelectCase, 0, foreign+2)
			idx := make([]int, 0, foreign)
			for i, a := range as {
				if a != nil && a.waiter() == nil {
					sel = append(sel, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: a.channel()})
					idx = append(idx, i)
				}
			}
			sel = append(sel,
				reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.Woken())},
				reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
			k, v, ok := reflect.Select(sel)
			switch {
			case k == len(idx)+1:
				return -1, ctx.Err()
			case k < len(idx) && ok:
				as[idx[k]].took(v)
				return win(idx[k])
			case k < len(idx):
				closed = append(closed, &OpError{Index: idx[k]})
				as[idx[k]] = nil
			}
		}
		if j := ready(len(as)); j >= 0 {
			return win(j)
		}
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	return -1, closedErr(closed)
}
