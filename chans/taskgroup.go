package chans

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
)

// ErrNotStarted is the failure of a task that TaskGroup.Go or GoSelf did not
// start because the group's context had ended first (a task failed under
// CancelOnFailure, the group was cancelled, or its parent context ended). The
// error also wraps that context's cause, so errors.Is finds both.
var ErrNotStarted = errors.New("chans: task not started")

// OnFailure says what a TaskGroup does when one of its tasks fails.
type OnFailure uint8

const (
	// CancelOnFailure cancels the group's context at the first failure,
	// with that failure as its cause (context.Cause), so the other tasks
	// are asked to stop and no new task starts. The zero value.
	CancelOnFailure OnFailure = iota
	// KeepGoing records the failure and lets every other task run.
	KeepGoing
)

// A TaskGroup runs tasks in goroutines, with an optional limit on how many
// run at once, and keeps every result and every failure.
//
// Each task is a func(ctx) (T, error), run as chans.Go runs one: a panic
// becomes its failure, a *PanicError with the stack, and runtime.Goexit
// becomes ErrGoexit, so a task never brings the program down and never
// leaves its Result unsettled. ctx is the group's context, derived from the
// one given to NewTaskGroup and, under CancelOnFailure, cancelled at the
// first failure.
//
// Starting a task:
//   - Go(f) waits for a slot, as errgroup's Go does under SetLimit, but gives
//     up when the group's context ends; the task it did not start is still
//     recorded, failed with ErrNotStarted, so results stay aligned with
//     submissions.
//   - Start(ctx, f) returns a channel, cancel-safe like every wait in this
//     package: a start whose ctx ends before it got a slot takes nothing and
//     runs nothing. StartWait is its blocking twin.
//   - GoSelf(f) hands the task its own Result.
//
// Waiting: Wait() is a broadcast channel closed when no task runs and no
// start is waiting for a slot; Err() joins every failure (errors.Is and
// errors.As find each); Results and Completed range over the tasks'
// Results in submission and in completion order; Collect returns the values
// in submission order and the joined failure.
//
// The zero value is a group with no limit that cancels on failure, whose
// context derives from context.Background(). A TaskGroup must not be copied
// after first use.
//
// Fairness: starts waiting for a slot get it in the order of their calls.
// The limit is a Semaphore, so a Start abandoned by its ctx gives its slot to
// the next start in line (W2).
//
// Goroutines: a task runs in a goroutine of its own, one task at a time, but
// not always a new one: when a task ends while a Go waits for a slot, its
// goroutine runs that Go's task next, in the slot it had, as a pool's worker
// would (sourcegraph/conc does the same). A goroutine lives only while there
// is such work queued for its slot; nothing runs once the group is idle. So a
// task must not leave behind what a goroutine carries: a locked OS thread
// (runtime.LockOSThread without its Unlock) or pprof labels set on the
// goroutine would pass to the next task.
//
// Cost: per task, one allocation for the task and its Result and, for a task
// that starts a goroutine, the goroutine; a Go that has to wait for a slot
// queues on the Semaphore, and a Start's goroutine, the task's own, is
// created at the call and parked there.
//
// Memory model: in the terms of [the Go memory model], everything a task did
// happens before its Result is observed settled, and so before the close of
// any Wait channel that observes the task done, and before Err, Collect or an
// iterator report it.
//
// What it takes from others: from golang.org/x/sync/errgroup, the derived
// context cancelled at the first failure, a Go that waits for a slot, and the
// limit (SetLimit) — but the wait is cancel-safe and gives up when the
// group's context ends, where errgroup's Go blocks with no way out and keeps
// starting tasks after the failure (go.dev/issue/61611); and all failures are
// kept, not only the first. From sourcegraph/conc (pool.ResultPool,
// ContextPool, stream), results in submission order aligned with what was
// submitted, cancel-on-error or keep-going by choice, every error joined, and
// panics caught — but as the task's failure with its stack, not re-raised in
// Wait, and with nothing dropped from the results when a task fails
// (conc issue 156). From destel/rill, ordered and unordered (completion
// order) consumption, and streaming results while tasks still run instead of
// waiting for all.
//
// [the Go memory model]: https://go.dev/ref/mem
type TaskGroup[T any] struct {
	mu        sync.Mutex
	inited    bool
	ctx       context.Context
	cancel    context.CancelCauseFunc
	sem       *Semaphore // nil: no limit
	limit     int
	keepGoing bool

	tasks    []*Result[T] // every recorded task, in submission order
	order    []int        // indexes into tasks, in completion order
	errs     []error      // failures of tasks that ran, in completion order
	active   int          // tasks running plus starts not yet decided
	idle     latch        // Wait: open while active == 0
	progress latch        // opened whenever a task is recorded or settles

	st groupStats // Stats and tracking (track.go)
}

// NewTaskGroup returns a group whose tasks run with a context derived from
// ctx, at most limit at once (0: no limit). Negative limit panics.
//
// Call Cancel when done with the group (defer g.Cancel()), as with
// context.WithCancel, to release the derived context.
func NewTaskGroup[T any](ctx context.Context, limit int, onFailure OnFailure) *TaskGroup[T] {
	checkCtx(ctx, "NewTaskGroup")
	if limit < 0 {
		panic("chans: NewTaskGroup with negative limit")
	}
	g := &TaskGroup[T]{limit: limit, keepGoing: onFailure == KeepGoing}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	if limit > 0 {
		g.sem = NewSemaphore(limit)
		g.sem.q.attach(&g.sem.mu, g.sem) // never tracked: the group tracks its slots itself
	}
	g.inited = true
	trackAtBirth(g)
	return g
}

// lock takes g.mu, setting up a zero TaskGroup on first use.
func (g *TaskGroup[T]) lock() {
	g.mu.Lock()
	if !g.inited {
		g.ctx, g.cancel = context.WithCancelCause(context.Background())
		g.inited = true
		g.noteBorn()
	}
}

// Context returns the group's context: the one every task is given.
func (g *TaskGroup[T]) Context() context.Context {
	g.lock()
	defer g.mu.Unlock()
	return g.ctx
}

// Cancel cancels the group's context: running tasks are asked to stop, starts
// waiting for a slot give up, and no task starts after it. It is not a
// failure: Err does not report it. Calling it again does nothing.
func (g *TaskGroup[T]) Cancel() {
	g.lock()
	cancel := g.cancel
	g.mu.Unlock()
	cancel(nil)
}

// Go starts f in a goroutine and returns its Result. With a limit, Go
// first waits for a slot, as errgroup's Go does; unlike it, Go gives up when
// the group's context ends (a failure under CancelOnFailure, Cancel, or the
// parent's end). A task not started is still recorded, in its place in
// submission order, failed with an error wrapping ErrNotStarted and the
// context's cause; it is not a failure in Err. Go panics if f is nil.
func (g *TaskGroup[T]) Go(f func(context.Context) (T, error)) *Result[T] {
	if f == nil {
		panic("chans: TaskGroup.Go with a nil function")
	}
	return g.goRecorded(f, nil)
}

// GoSelf is Go for a task that needs its own Result, which f receives as
// self: to hand it to others, or to wait on it from work it starts. self is
// the Result GoSelf returns; f must not settle it, since the group does so
// with f's outcome. GoSelf panics if f is nil.
func (g *TaskGroup[T]) GoSelf(f func(ctx context.Context, self *Result[T]) (T, error)) *Result[T] {
	if f == nil {
		panic("chans: TaskGroup.GoSelf with a nil function")
	}
	return g.goRecorded(nil, f)
}

func (g *TaskGroup[T]) goRecorded(f func(context.Context) (T, error), fs func(context.Context, *Result[T]) (T, error)) *Result[T] {
	t := newTask(f, fs, nil)
	g.lock()
	ctx := g.ctx
	g.active++
	if g.st.tr != nil {
		t.stack = callers() // where Go was called, whoever records the task
	}
	if ctx.Err() == nil && (g.sem == nil || g.sem.grabFast(1)) {
		// A slot free at once (one compare-and-swap, fine under g.mu, which
		// the Semaphore never takes): recorded in the same critical section.
		g.record(t)
		g.mu.Unlock()
		go g.work(t)
		return t.r
	}
	g.mu.Unlock()
	if err := g.goSlot(ctx, t); err != nil {
		t.r.Fail(err)
		g.lock()
		g.done(g.record(t), err)
		g.mu.Unlock()
		return t.r
	}
	if !t.taken {
		g.lock()
		g.record(t)
		g.mu.Unlock()
		go g.work(t)
	}
	return t.r
}

// Start asks for a slot and starts f in it. The returned channel has a
// buffer of one and is closed after yielding at most one value:
//   - the task's Result, once f has started;
//   - nothing (closed) if ctx or the group's context ended before a slot
//     was free, or had ended at the call (W4): then nothing was taken,
//     nothing runs, and nothing is recorded.
//
// Once a slot is granted the start is final: the task runs, and the channel
// holds its Result even if ctx ends before you receive it, so a receive
// after ctx ended tells whether the task started (W3). A caller that never
// receives loses nothing: the task runs and is recorded as any other.
//
// Without a limit, or with a slot free, the task starts at the call. Else the
// start queues for a slot (in call order, behind earlier starts) and f's
// goroutine is created at once and parked until the slot comes, so that
// nothing need be called again to start it. Start panics if f is nil.
func (g *TaskGroup[T]) Start(ctx context.Context, f func(context.Context) (T, error)) <-chan *Result[T] {
	checkCtx(ctx, "TaskGroup.Start")
	if f == nil {
		panic("chans: TaskGroup.Start with a nil function")
	}
	g.lock()
	gctx := g.ctx
	if ctx.Err() != nil || gctx.Err() != nil {
		g.mu.Unlock()
		return closed[*Result[T]]()
	}
	g.active++
	g.mu.Unlock()
	if g.sem == nil {
		return readyResult(g.launch(newTask(f, nil, nil)))
	}
	if rel, ok := g.sem.TryAcquire(); ok {
		return readyResult(g.launch(newTask(f, nil, rel)))
	}
	// Queue on the semaphore now, in the caller, so that starts keep the
	// order of their calls; the goroutine only waits for the outcome.
	actx, cancel := mergeCtx(gctx, ctx)
	acq := g.sem.Acquire(actx)
	out := make(chan *Result[T], 1)
	go func() {
		rel, err := g.granted(acq, cancel, gctx, ctx)
		if err != nil {
			close(out)
			g.lock()
			g.done(-1, nil)
			g.mu.Unlock()
			return
		}
		// The start is final now: record the task and hand out its
		// Result before f runs, then run f in this very goroutine.
		t := newTask(f, nil, rel)
		g.lock()
		g.record(t)
		g.mu.Unlock()
		out <- t.r
		close(out)
		g.work(t)
	}()
	return out
}

// StartWait is Start's blocking twin: it returns the task's Result once f has
// started, or, if ctx or the group's context ended first, nil and the reason:
// ctx.Err(), or an error wrapping ErrNotStarted and the group context's
// cause. It queues in the same FIFO as Start and creates no goroutine or
// registration when a slot is free at once. StartWait panics if f is nil.
func (g *TaskGroup[T]) StartWait(ctx context.Context, f func(context.Context) (T, error)) (*Result[T], error) {
	checkCtx(ctx, "TaskGroup.StartWait")
	if f == nil {
		panic("chans: TaskGroup.StartWait with a nil function")
	}
	g.lock()
	gctx := g.ctx
	if err := ctx.Err(); err != nil {
		g.mu.Unlock()
		return nil, err
	}
	g.active++
	g.mu.Unlock()
	rel, err := g.slot(gctx, ctx)
	if err != nil {
		g.lock()
		g.done(-1, nil)
		g.mu.Unlock()
		return nil, err
	}
	return g.launch(newTask(f, nil, rel)), nil
}

// goSlot waits for a slot for Go's task t, giving up when gctx ends. It is a
// Go call's hot path: the blocking twin watches gctx in this goroutine,
// registers nothing, and reuses its waiter. If a finishing task's goroutine
// takes t while it waits (t.taken), t runs there, in the slot it had.
func (g *TaskGroup[T]) goSlot(gctx context.Context, t *task[T]) error {
	if err := notStarted(gctx, gctx); err != nil {
		return err
	}
	if g.sem == nil {
		return nil
	}
	if _, err := g.sem.take(gctx, 1, t, "TaskGroup.Go"); err != nil {
		return notStarted(gctx, gctx)
	}
	if t.taken {
		return nil // the goroutine that took t checks gctx itself
	}
	if err := notStarted(gctx, gctx); err != nil {
		g.sem.give(1) // granted as gctx ended: start nothing after a cancel
		return err
	}
	return nil
}

// slot waits for a slot, giving up when gctx or ctx ends. Without a limit it
// returns a nil Release at once.
func (g *TaskGroup[T]) slot(gctx, ctx context.Context) (Release, error) {
	if err := notStarted(gctx, ctx); err != nil {
		return nil, err
	}
	if g.sem == nil {
		return nil, nil
	}
	if rel, ok := g.sem.TryAcquire(); ok {
		return rel, nil
	}
	actx, cancel := mergeCtx(gctx, ctx)
	return g.granted(g.sem.Acquire(actx), cancel, gctx, ctx)
}

// granted receives the outcome of a slot's Acquire, made with the context
// that cancel ends. A slot received once either context has ended is given
// back at once, so that no task starts after the group was cancelled
// (prefer to fail).
func (g *TaskGroup[T]) granted(acq <-chan Release, cancel func(), gctx, ctx context.Context) (Release, error) {
	rel, ok := <-acq
	cancel()
	if err := notStarted(gctx, ctx); err != nil {
		if ok {
			rel()
		}
		return nil, err
	}
	return rel, nil
}

// notStarted says why a start must not go ahead: ctx's end wins over the
// group's, since it is the caller's own.
func notStarted(gctx, ctx context.Context) error {
	if gctx != ctx {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if gctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrNotStarted, context.Cause(gctx))
	}
	return nil
}

// mergeCtx returns a context that ends when either gctx (the group's) or ctx
// ends, and the function that releases it.
func mergeCtx(gctx, ctx context.Context) (context.Context, func()) {
	m, cancel := context.WithCancel(gctx)
	if ctx.Done() == nil {
		return m, cancel
	}
	stop := context.AfterFunc(ctx, cancel)
	return m, func() { stop(); cancel() }
}

// A task is one submission: what to run, where its outcome goes, and the
// slot it holds. Its Result lives in it, one allocation for both; what it
// holds besides is dropped when it ends, since g.tasks keeps the Result.
type task[T any] struct {
	res   Result[T]
	r     *Result[T] // &res, its outcome
	i     int        // its index in g.tasks, once recorded
	f     func(context.Context) (T, error)
	fs    func(context.Context, *Result[T]) (T, error) // GoSelf's f, given r as well
	rel   Release                                      // a Start's slot, given back when t ends; nil without a limit, or for a slot Go took (see work)
	stack Stack                                        // tracked: where Go was called
	taken bool                                         // a finishing task's goroutine took t with its slot (Semaphore.passOn)
}

func newTask[T any](f func(context.Context) (T, error), fs func(context.Context, *Result[T]) (T, error), rel Release) *task[T] {
	t := &task[T]{f: f, fs: fs, rel: rel}
	t.r = &t.res
	return t
}

func (t *task[T]) passed() { t.taken = true }

// launch records t, a task with its slot, and starts its goroutine. It
// returns t's Result. The caller already counted the start in g.active.
func (g *TaskGroup[T]) launch(t *task[T]) *Result[T] {
	g.lock()
	g.record(t)
	g.mu.Unlock()
	go g.work(t)
	return t.r
}

// record appends t to the tasks and sets its index. g.mu is held.
func (g *TaskGroup[T]) record(t *task[T]) int {
	g.tasks = append(g.tasks, t.r)
	t.i = len(g.tasks) - 1
	g.noteStart(t.stack)
	g.progress.open()
	return t.i
}

// work is the body of a task's goroutine: it runs t and, as long as the slot
// t held can pass to a Go waiting for one, that Go's task, in the same
// goroutine. A goroutine per task would start and end a goroutine per task
// (runtime.newproc1 and gdestroy are most of what a task costs beyond its
// work); a pool of workers that outlive their tasks would leave goroutines
// behind an idle group. Here a goroutine lives while there is work queued
// for its slot, and no longer.
//
// If f calls runtime.Goexit, the goroutine ends with it: the deferred finish
// books t and gives its slot back, and the task waiting for it, if any, is
// started in a goroutine of its own.
func (g *TaskGroup[T]) work(t *task[T]) {
	exited := true // until the loop ends: f called runtime.Goexit
	defer func() {
		if exited {
			_, err := t.r.TryGet()
			g.finish(t, err, giveBack)
		}
	}()
	for t != nil {
		if t.taken {
			// As goSlot does after its wait: a task whose slot came as the
			// group ended does not start. The pass was decided under the
			// Semaphore's mutex while the group was live, but Cancel may
			// have returned since.
			if err := notStarted(g.ctx, g.ctx); err != nil {
				t.r.Fail(err)
				t = g.finish(t, err, passOn)
				continue
			}
		}
		f := t.f
		if t.fs != nil {
			fs, r := t.fs, t.r
			f = func(ctx context.Context) (T, error) { return fs(ctx, r) }
		}
		err := run(g.ctx, f, t.r)
		t = g.finish(t, err, passOn)
	}
	exited = false
}

// What finish does with the slot of a task that ended: give it back, or pass
// it on to the Go waiting at the head of the line, whose task it returns.
type slotEnd uint8

const (
	giveBack slotEnd = iota
	passOn
)

// finish books t, ended with err, and its failure and the cancellation it
// causes; then gives its slot back, so that a start waiting for the slot
// sees the group already cancelled (errgroup starts it anyway), and only
// then counts t out, so that Wait's channel closes once every slot is back.
// With passOn, a slot Go took goes to the next Go in line if it has one,
// and finish returns that Go's task, recorded, for the caller to run.
func (g *TaskGroup[T]) finish(t *task[T], err error, end slotEnd) *task[T] {
	g.lock()
	defer g.mu.Unlock()
	g.book(t.i, err)
	rel := t.rel
	t.f, t.fs, t.rel, t.stack = nil, nil, nil, nil // not kept alive by the Result
	var next *task[T]
	switch {
	case rel != nil:
		// Under g.mu, which costs nothing more: the group only ever takes
		// the Semaphore's mutex inside its own (Stats), never the other way.
		rel()
	case g.sem == nil:
	case end == passOn:
		next = g.passOn()
	default:
		g.sem.give(1)
	}
	g.leave()
	return next
}

// passOn passes a slot Go took to the Go waiting at the head of the line for
// one, if any, and returns its task, recorded. The Semaphore passes it only
// to a waiter whose context (the group's) has not ended, as goSlot starts a
// task only if the group was live when its slot came. g.mu is held.
func (g *TaskGroup[T]) passOn() *task[T] {
	j := g.sem.passOn()
	if j == nil {
		return nil // given back
	}
	t := j.(*task[T])
	g.record(t)
	return t
}

// done books the end of a start (i < 0: not recorded) or of task i, which
// failed with err if it is not nil. g.mu is held.
func (g *TaskGroup[T]) done(i int, err error) {
	g.book(i, err)
	g.leave()
}

// book records the end of task i (i < 0: a start not recorded). g.mu is
// held.
func (g *TaskGroup[T]) book(i int, err error) {
	g.noteDone(i, err)
	if i >= 0 {
		g.order = append(g.order, i)
		if err != nil && !errors.Is(err, ErrNotStarted) {
			g.errs = append(g.errs, err)
			if !g.keepGoing {
				g.cancel(err)
			}
		}
		g.progress.open()
	}
}

// leave counts a start or a task out. g.mu is held.
func (g *TaskGroup[T]) leave() {
	g.active--
	if g.active == 0 {
		g.idle.open()
	}
}

// Wait returns a channel closed once no task runs, no start is waiting for a
// slot and every slot is back: at once (a closed channel, no allocation) if
// the group is idle now, else when it becomes idle. It is shared, takes
// nothing, needs no ctx, and costs nothing to abandon. Tasks started after
// it closed get a new channel from the next Wait.
func (g *TaskGroup[T]) Wait() <-chan struct{} {
	g.lock()
	defer g.mu.Unlock()
	return g.idle.wait(g.active == 0)
}

// Err returns nil if no task failed, else every failure so far, joined with
// errors.Join in the order the tasks failed (the first failure first, the
// cause under CancelOnFailure). errors.Is and errors.As find each; a
// *PanicError carries the panicking task's stack. Tasks Go did not start are
// not failures here.
func (g *TaskGroup[T]) Err() error {
	g.lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

// Len returns the number of tasks recorded: started, or not started by Go.
func (g *TaskGroup[T]) Len() int {
	g.lock()
	defer g.mu.Unlock()
	return len(g.tasks)
}

// Collect waits until the group is idle or ctx ends. It returns the tasks'
// values in submission order (a failed task's value is T's zero value) and
// Err(), or, if ctx ended first, the values of the tasks done by then and
// ctx.Err().
func (g *TaskGroup[T]) Collect(ctx context.Context) ([]T, error) {
	checkCtx(ctx, "TaskGroup.Collect")
	var err error
	select {
	case <-g.Wait():
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.lock()
	tasks := g.tasks
	if err == nil {
		err = errors.Join(g.errs...)
	}
	g.mu.Unlock()
	vs := make([]T, len(tasks))
	for i, r := range tasks {
		if r.Ready() {
			vs[i], _ = r.TryGet()
		}
	}
	return vs, err
}

// Results ranges over the tasks' Results in submission order, i being each
// task's index (0 for the first recorded), each yielded once it has settled.
// It goes on with tasks recorded while it runs, and ends once it has yielded
// every task and the group is idle, or when ctx ends (check ctx.Err()).
// Breaking out of the loop takes nothing from anyone.
func (g *TaskGroup[T]) Results(ctx context.Context) iter.Seq2[int, *Result[T]] {
	checkCtx(ctx, "TaskGroup.Results")
	return func(yield func(int, *Result[T]) bool) {
		for i := 0; ; {
			g.lock()
			if i < len(g.tasks) {
				r := g.tasks[i]
				g.mu.Unlock()
				select {
				case <-r.Done():
				case <-ctx.Done():
					return
				}
				if !yield(i, r) {
					return
				}
				i++
				continue
			}
			if !g.await(ctx) {
				return
			}
		}
	}
}

// Completed ranges over the tasks' Results in the order they settled, i being
// each task's index in submission order. Like Results it goes on with tasks
// started while it runs and ends once the group is idle and every task has
// been yielded, or when ctx ends.
func (g *TaskGroup[T]) Completed(ctx context.Context) iter.Seq2[int, *Result[T]] {
	checkCtx(ctx, "TaskGroup.Completed")
	return func(yield func(int, *Result[T]) bool) {
		for k := 0; ; {
			g.lock()
			if k < len(g.order) {
				i := g.order[k]
				r := g.tasks[i]
				g.mu.Unlock()
				if !yield(i, r) {
					return
				}
				k++
				continue
			}
			if !g.await(ctx) {
				return
			}
		}
	}
}

// await is called with g.mu held by an iterator that has caught up. It
// releases the lock and reports whether there may be more to come: false if
// the group is idle (nothing more will be recorded or settle without a new
// start) or ctx ended.
func (g *TaskGroup[T]) await(ctx context.Context) bool {
	if g.active == 0 {
		g.mu.Unlock()
		return false
	}
	ch := g.progress.wait(false)
	g.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// String describes the group: "TaskGroup(tasks=10, active=3, failed=1,
// limit=8)"; limit is left out when there is none.
func (g *TaskGroup[T]) String() string {
	g.lock()
	defer g.mu.Unlock()
	s := fmt.Sprintf("TaskGroup(tasks=%d, active=%d, failed=%d", len(g.tasks), g.active, len(g.errs))
	if g.limit > 0 {
		s += fmt.Sprintf(", limit=%d", g.limit)
	}
	return s + ")"
}

// readyResult returns a closed channel holding r.
func readyResult[T any](r *Result[T]) <-chan *Result[T] {
	ch := make(chan *Result[T], 1)
	ch <- r
	close(ch)
	return ch
}

// Stats reports the group (see [Stats]): Value is the active tasks and
// starts, Limit the limit (0: none); Holders are the running tasks, with the
// time since each started (and, tracked, where it was submitted); Waiters
// are the starts waiting for a slot. State is "idle", "running" or
// "cancelled" (the group's context ended). Grants counts tasks started;
// Cancels counts starts that gave up and tasks Go did not start.
func (g *TaskGroup[T]) Stats() Stats {
	g.lock()
	defer g.mu.Unlock()
	s := Stats{Kind: "TaskGroup", Value: g.active, Limit: g.limit, Held: g.active > 0, State: "idle", GrantsExact: true}
	switch {
	case g.ctx.Err() != nil:
		s.State = "cancelled"
	case g.active > 0:
		s.State = "running"
	}
	s.named(g.st.tr)
	g.st.stamp = true // from now on, tasks' ages are known
	now := nanotime()
	for i, r := range g.tasks {
		if len(s.Holders) == MaxListed {
			break
		}
		if r.Ready() {
			continue // done
		}
		a := Unknown // started before anybody asked
		if i < len(g.st.started) && g.st.started[i] != 0 && g.st.started[i] != notStamped {
			a = age(now, g.st.started[i])
		}
		s.Holders = append(s.Holders, Holder{Age: a, Ask: "task " + strconv.Itoa(i), Stack: g.st.stacks[i]})
	}
	s.Grants = uint64(len(g.tasks)) - g.st.notStarted
	s.Cancels = g.st.gaveUp + g.st.notStarted
	if g.sem != nil {
		g.sem.mu.Lock()
		g.sem.q.sweep()
		var slots Stats
		g.sem.q.snapshot(&slots, now, says("slot"))
		g.sem.sync()
		g.sem.mu.Unlock()
		s.Waiting, s.Waiters, s.OldestWait, s.TakeBacks = slots.Waiting, slots.Waiters, slots.OldestWait, slots.TakeBacks
	}
	return s
}
