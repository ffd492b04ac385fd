package chans

import (
	"context"
	"errors"
	"iter"
	"sync"
)

// errStopped is the cause of a pipeline's context after Stop(true): not a
// failure, so Err leaves it out.
var errStopped = errors.New("chans: pipeline stopped")

// A Pipeline runs stages connected by bounded Queues: each stage takes items
// from its input queue with n workers, applies a function, and puts the
// results into its output queue (Stage, OrderedStage); Source feeds a queue
// from an iterator and Sink consumes one. Declare the parts, then Start (or
// Run) the pipeline.
//
// Backpressure comes from the queues' bounds: a worker whose output queue is
// full waits for room, so it takes no more input, and the stage before it
// fills its own output and waits in turn.
//
// Fan-in: several stages or sources may put into one queue. The pipeline
// shuts a queue down (Queue.Shutdown(false)) once every part that puts into
// it has finished, so the stages reading it drain what is left and finish in
// turn. A stage finishes when its input is shut down and drained.
//
// Stopping:
//   - Graceful: shut the pipeline's inputs down (the queues nothing in the
//     pipeline puts into; Stop(false) does it and also stops the sources).
//     Every item already in flows through, stage by stage, and Wait's
//     channel is closed when the last stage has finished.
//   - Immediate: Stop(true) cancels the pipeline's context, so the workers
//     stop, and once they have, every item still in a queue is dropped and
//     counted in Dropped.
//   - On failure: the first error a stage's function returns cancels the
//     pipeline's context with that error as cause; every error is kept
//     (Err). Items still in queues stay there, for whoever wants them.
//
// No item is lost: each item a queue accepted is, when Wait's channel is
// closed, consumed by a Sink or a stage whose output is not part of the
// pipeline, still in one of the queues (Len), dropped (Dropped: in flight in
// a worker when the context ended, or in a queue at an immediate stop), or
// the input of a failure (Failed). A Get cancelled with the context gives
// its item back to the queue (W2), so cancellation takes nothing out of a
// queue that no worker received.
//
// The queues are used through their public API only: Get, Put, TaskDone
// (once per item a stage takes, when it is done with it, so Join works on
// any queue of the pipeline), TryGet and Shutdown.
//
// A Pipeline must be created with NewPipeline and must not be copied.
type Pipeline struct {
	mu        sync.Mutex
	ctx       context.Context
	cancel    context.CancelCauseFunc
	srcCtx    context.Context // sources' context: ends at Stop(false) too
	stopSrc   context.CancelFunc
	started   bool
	immediate bool
	starts    []func()
	queues    map[any]*pipeQueue
	order     []*pipeQueue // queues in the order declared, for the final sweep
	running   int          // workers and sources not yet finished
	errs      []error
	dropped   int
	failed    int
	done      chan struct{}
}

// pipeQueue is what the pipeline knows of one of its queues, whatever its
// item type.
type pipeQueue struct {
	producers int        // parts that put into it and have not finished
	fed       bool       // some part puts into it
	shutdown  func()     // Shutdown(false)
	drop      func() int // removes and TaskDones every stored item; how many
}

// NewPipeline returns an empty pipeline whose stages run with a context
// derived from ctx.
func NewPipeline(ctx context.Context) *Pipeline {
	checkCtx(ctx, "NewPipeline")
	p := &Pipeline{queues: map[any]*pipeQueue{}, done: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	p.srcCtx, p.stopSrc = context.WithCancel(p.ctx)
	return p
}

// Context returns the context the stages' functions are given. It ends at
// the first failure (its cause is that failure), at Stop(true), when the
// parent ends, or once the pipeline has finished.
func (p *Pipeline) Context() context.Context { return p.ctx }

// queue registers q (once) and returns its record. p.mu is held.
func queueOf[T any](p *Pipeline, q *Queue[T]) *pipeQueue {
	if q == nil {
		panic("chans: pipeline with a nil queue")
	}
	if p.started {
		panic("chans: pipeline part declared after Start")
	}
	pq, ok := p.queues[q]
	if !ok {
		pq = &pipeQueue{
			shutdown: func() { q.Shutdown(false) },
			drop: func() int {
				n := 0
				for {
					if _, err := q.TryGet(); err != nil {
						return n
					}
					q.TaskDone()
					n++
				}
			},
		}
		p.queues[q] = pq
		p.order = append(p.order, pq)
	}
	return pq
}

// Source feeds out with items, in order, as fast as out accepts them. It
// counts as a producer of out. It stops early when the pipeline's context
// ends or at Stop(false); the item it was offering then is not accepted. items
// should itself stop when Context() ends if it can block.
func Source[T any](p *Pipeline, out *Queue[T], items iter.Seq[T]) {
	if items == nil {
		panic("chans: Source with nil items")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pq := queueOf(p, out)
	pq.producers++
	pq.fed = true
	p.running++
	p.starts = append(p.starts, func() {
		go func() {
			defer p.finished(pq)
			for v := range items {
				if !give(p.srcCtx, out, v) {
					return
				}
			}
		}()
	})
}

// Stage takes items from in with n workers, applies f to each and puts the
// result into out, in the order results come (unordered, as rill.Map). The
// stage finishes once in is shut down and drained, or the pipeline's context
// ends; it counts as a producer of out. A worker gives an item's task back
// to in (TaskDone) once its result is in out, dropped or failed. n below 1 or
// a nil f panics.
func Stage[A, B any](p *Pipeline, in *Queue[A], out *Queue[B], n int, f func(context.Context, A) (B, error)) {
	stage(p, in, out, n, f, false)
}

// OrderedStage is Stage with the results put into out in the order their
// items were taken from in (rill.OrderedMap): a worker that finishes early
// waits for the results before its own to be put. A failure or a drop keeps
// its place and lets the next one through.
func OrderedStage[A, B any](p *Pipeline, in *Queue[A], out *Queue[B], n int, f func(context.Context, A) (B, error)) {
	stage(p, in, out, n, f, true)
}

func stage[A, B any](p *Pipeline, in *Queue[A], out *Queue[B], n int, f func(context.Context, A) (B, error), ordered bool) {
	if n < 1 {
		panic("chans: pipeline stage needs at least one worker")
	}
	if f == nil {
		panic("chans: pipeline stage with a nil function")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	queueOf(p, in)
	pq := queueOf(p, out)
	pq.producers++
	pq.fed = true
	p.running += n
	s := &stageRun[A, B]{p: p, in: in, out: out, f: f, left: n, outQ: pq}
	if ordered {
		first := make(chan struct{})
		close(first)
		s.last = first
	}
	p.starts = append(p.starts, func() {
		for range n {
			go s.work(ordered)
		}
	})
}

// Sink takes items from in with n workers and hands each to f. An error from
// f is a failure of the pipeline, as in a stage.
func Sink[T any](p *Pipeline, in *Queue[T], n int, f func(context.Context, T) error) {
	if n < 1 {
		panic("chans: pipeline sink needs at least one worker")
	}
	if f == nil {
		panic("chans: pipeline sink with a nil function")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	queueOf(p, in)
	p.running += n
	p.starts = append(p.starts, func() {
		for range n {
			go func() {
				defer p.finished(nil)
				for {
					v, ok := take(p.ctx, in)
					if !ok {
						return
					}
					if err := f(p.ctx, v); err != nil {
						p.bookErr(err)
					}
					in.TaskDone()
				}
			}()
		}
	})
}

// stageRun is one running stage.
type stageRun[A, B any] struct {
	p    *Pipeline
	in   *Queue[A]
	out  *Queue[B]
	outQ *pipeQueue
	f    func(context.Context, A) (B, error)

	mu   sync.Mutex    // ordered: makes a take and its place in line one step
	last chan struct{} // ordered: closed when the latest taken item is through
	left int           // workers still running, under p.mu
}

func (s *stageRun[A, B]) work(ordered bool) {
	defer s.exit()
	ctx := s.p.ctx
	for {
		var turn <-chan struct{}
		var mine chan struct{}
		if ordered {
			s.mu.Lock()
		}
		a, ok := take(ctx, s.in)
		if ordered {
			if ok {
				turn, mine = s.last, make(chan struct{})
				s.last = mine
			}
			s.mu.Unlock()
		}
		if !ok {
			return
		}
		b, err := s.f(ctx, a)
		if ordered {
			// Wait for the items before this one; once ctx has ended,
			// nothing more is put, so no later item can overtake one
			// that is dropped.
			select {
			case <-turn:
			case <-ctx.Done():
			}
		}
		switch {
		case err != nil:
			s.p.bookErr(err)
		case !give(ctx, s.out, b):
			s.p.drop(1)
		}
		if ordered {
			close(mine)
		}
		s.in.TaskDone()
	}
}

// take returns the next item of q, or false once ctx ends or q is shut down
// and drained. The blocking twin makes no channel and registers nothing when
// an item is there, and a worker that has to wait reuses its waiter, so a
// busy pipeline allocates nothing per item.
func take[T any](ctx context.Context, q *Queue[T]) (T, bool) {
	v, err := q.GetWait(ctx)
	return v, err == nil
}

// give puts v into q, waiting for room; it reports whether q accepted v.
func give[T any](ctx context.Context, q *Queue[T], v T) bool {
	return q.PutWait(ctx, v) == nil
}

// exit books a worker's end; the stage's last worker finishes it as a
// producer of its output.
func (s *stageRun[A, B]) exit() {
	s.p.mu.Lock()
	s.left--
	last := s.left == 0
	s.p.mu.Unlock()
	if last {
		s.p.finished(s.outQ)
	} else {
		s.p.finished(nil)
	}
}

// finished books the end of a worker or source; pq, if not nil, is the queue
// it was the last of its part to put into. The last to finish ends the
// pipeline.
func (p *Pipeline) finished(pq *pipeQueue) {
	p.mu.Lock()
	var shut func()
	if pq != nil {
		pq.producers--
		if pq.producers == 0 {
			shut = pq.shutdown
		}
	}
	p.running--
	end := p.running == 0
	p.mu.Unlock()
	if shut != nil {
		shut()
	}
	if end {
		p.end()
	}
}

// end runs once every worker and source has finished: it drops what is left
// after an immediate stop, shuts every queue down so nobody waits on them
// forever, and releases the context.
func (p *Pipeline) end() {
	p.mu.Lock()
	immediate := p.immediate
	qs := p.order
	p.mu.Unlock()
	n := 0
	for _, pq := range qs {
		pq.shutdown()
		if immediate {
			n += pq.drop()
		}
	}
	p.mu.Lock()
	p.dropped += n
	p.mu.Unlock()
	p.stopSrc()
	p.cancel(nil)
	close(p.done)
}

func (p *Pipeline) fail(err error) {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.failed++
	p.mu.Unlock()
	p.cancel(err)
}

// bookErr books err, returned by a stage's or a sink's function for an item:
// a failure, unless the pipeline's ctx had ended and err only says so (the
// function saw the stop, or another part's failure, and gave up on the item),
// which is a drop, since a stop is not a failure. The tempting version calls
// fail for every error, and then Stop(true) reports a failure for each
// function that was running when it came.
func (p *Pipeline) bookErr(err error) {
	if ctxErr := p.ctx.Err(); ctxErr != nil && (errors.Is(err, ctxErr) || errors.Is(err, context.Cause(p.ctx))) {
		p.drop(1)
		return
	}
	p.fail(err)
}

func (p *Pipeline) drop(n int) {
	p.mu.Lock()
	p.dropped += n
	p.mu.Unlock()
}

// Start starts every part declared. Declaring a part afterwards panics, and
// so does a second Start. A pipeline with no parts is finished at once.
func (p *Pipeline) Start() {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		panic("chans: Pipeline.Start called twice")
	}
	p.started = true
	starts := p.starts
	p.starts = nil
	empty := p.running == 0
	p.mu.Unlock()
	for _, s := range starts {
		s()
	}
	if empty {
		p.end()
	}
}

// Run starts the pipeline, waits until it has finished, and returns Err().
func (p *Pipeline) Run() error {
	p.Start()
	<-p.done
	return p.Err()
}

// Stop stops the pipeline. Stop(false) is graceful: the sources stop, the
// pipeline's inputs (queues that no part puts into) are shut down, and what
// is in the queues flows through to the end. Stop(true) is immediate: the
// context is cancelled, the workers stop, and the items left in the queues
// are dropped and counted. Either returns at once; Wait tells when the
// pipeline has finished. Stop(true) after Stop(false) still drops.
func (p *Pipeline) Stop(immediate bool) {
	p.mu.Lock()
	var inputs []func()
	for _, pq := range p.order {
		if !pq.fed {
			inputs = append(inputs, pq.shutdown)
		}
	}
	if immediate {
		p.immediate = true
	}
	p.mu.Unlock()
	if immediate {
		p.cancel(errStopped)
		return
	}
	p.stopSrc()
	for _, shut := range inputs {
		shut()
	}
}

// Wait returns a channel closed once the pipeline has finished: every worker
// and source has returned and every queue is shut down. It is shared, needs
// no ctx and costs nothing to abandon.
func (p *Pipeline) Wait() <-chan struct{} { return p.done }

// Err returns every failure (an error returned by a stage's or a sink's
// function), joined in the order they happened, the first first; nil if
// none. A stop is not a failure.
func (p *Pipeline) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

// Dropped returns the number of items dropped so far: in flight in a worker
// when the context ended (the item or its result could not be put), or left
// in a queue at an immediate stop.
func (p *Pipeline) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// Failed returns the number of items whose function failed.
func (p *Pipeline) Failed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}
