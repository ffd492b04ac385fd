package etcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// An Event is a flag shared by every process whose session makes one with
// the same name: Set raises it, Clear lowers it, and Wait tells every waiter,
// in every process, once it is raised. The flag is one key, name+"/~event",
// put without a lease: it stays set when the process that set it ends,
// which is what "the migration is done" needs.
//
// Unlike chans.Event.Wait, Wait takes a ctx and its channel carries a value:
// over a network a wait can fail (its session ends), so, as for every other
// wait, a receive tells which outcome it was (ok true: the event was set),
// and a caller that walks away frees its registration by ending ctx.
// Nothing exclusive is handed out, so there is nothing to give back:
// selectx.First may take an Event's Wait beside other waits directly.
//
// A session follows an event it waits for with one watch, shared by all its
// waiters; a waiter costs a channel and no goroutine. Make an Event with
// [NewEvent].
type Event struct{ e *eventLine }

// NewEvent returns the event called name on s's cluster. Events of one
// session on one name share their watch.
func NewEvent(s *Session, name string) *Event {
	checkName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events[name]
	if e == nil {
		e = &eventLine{s: s, name: name, key: name + "/~event", waiters: make(map[*eventWaiter]struct{})}
		e.ended = s.err != nil
		s.events[name] = e
	}
	return &Event{e: e}
}

// Wait returns a channel that yields one value, then is closed, once this
// session sees the event set; it is closed without a value if ctx ends or
// the session ends first. The channel has a buffer of one; a caller that
// never receives loses nothing. The waiter's registration goes when ctx
// ends; with a ctx that never ends, it stays until the event is set or the
// session ends.
//
// If the session does not follow the event yet, Wait reads it first (one
// round trip) and starts the watch from that revision, so that a Set made
// after Wait returned wakes the waiter even if a Clear follows at once.
// While the session follows the event, Wait answers from the watch, without
// a request.
func (ev *Event) Wait(ctx context.Context) <-chan struct{} { return ev.e.wait(ctx) }

// Set raises the event (a put of its key; one round trip). Setting a set
// event again is harmless and wakes nobody new.
func (ev *Event) Set(ctx context.Context) error {
	return ev.e.do(ctx, clientv3.OpPut(ev.e.key, "set"))
}

// Clear lowers the event (a delete of its key; one round trip). Waiters that
// were woken by an earlier Set stay woken.
func (ev *Event) Clear(ctx context.Context) error {
	return ev.e.do(ctx, clientv3.OpDelete(ev.e.key))
}

// IsSet reads whether the event is set now (one linearizable round trip).
func (ev *Event) IsSet(ctx context.Context) (bool, error) {
	rctx, cancel := ev.e.s.rpcContext(ctx)
	defer cancel()
	resp, err := ev.e.s.cli.Get(rctx, ev.e.key, clientv3.WithCountOnly())
	if err != nil {
		return false, ev.e.fail(ctx, err)
	}
	return resp.Count > 0, nil
}

// Name returns the event's name.
func (ev *Event) Name() string { return ev.e.name }

// String describes the event for debugging.
func (ev *Event) String() string { return fmt.Sprintf("etcd.Event(%q)", ev.e.name) }

type eventWaiter struct {
	ch   chan struct{}
	stop func() bool
}

// An eventLine is a session's view of one event.
type eventLine struct {
	s    *Session
	name string
	key  string

	mu       sync.Mutex
	ended    bool
	waiters  map[*eventWaiter]struct{}
	watching bool
	set      bool // as the watch saw it last
	gen      uint64
	wstop    context.CancelFunc
	linger   *time.Timer
}

func (e *eventLine) do(ctx context.Context, op clientv3.Op) error {
	if err := e.s.ended(); err != nil {
		return err
	}
	rctx, cancel := e.s.rpcContext(ctx)
	defer cancel()
	if _, err := e.s.cli.Do(rctx, op); err != nil {
		return e.fail(ctx, err)
	}
	return nil
}

// fail explains a failed request: ctx, the session, or the request itself.
func (e *eventLine) fail(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if serr := e.s.ended(); serr != nil {
		return serr
	}
	return fmt.Errorf("etcd: %s: %w", e.name, err)
}

func closedSignal() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func readySignal() chan struct{} {
	c := make(chan struct{}, 1)
	c <- struct{}{}
	close(c)
	return c
}

func (e *eventLine) wait(ctx context.Context) <-chan struct{} {
	if ctx.Err() != nil {
		return closedSignal()
	}
	e.mu.Lock()
	if e.ended {
		e.mu.Unlock()
		return closedSignal()
	}
	if e.watching {
		defer e.mu.Unlock()
		return e.enqueue(ctx, e.set)
	}
	e.mu.Unlock()

	rctx, cancel := e.s.rpcContext(ctx)
	resp, err := e.s.cli.Get(rctx, e.key, clientv3.WithCountOnly())
	cancel()
	if err != nil || ctx.Err() != nil {
		return closedSignal()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		return closedSignal()
	}
	set := resp.Count > 0
	if !e.watching {
		e.startWatch(set, resp.Header.Revision)
	}
	return e.enqueue(ctx, set || e.set)
}

// enqueue returns a ready channel if set, else registers a waiter.
func (e *eventLine) enqueue(ctx context.Context, set bool) <-chan struct{} {
	if set {
		e.idle()
		return readySignal()
	}
	w := &eventWaiter{ch: make(chan struct{}, 1)}
	e.waiters[w] = struct{}{}
	if e.linger != nil {
		e.linger.Stop()
	}
	if ctx.Done() != nil {
		w.stop = context.AfterFunc(ctx, func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			if _, ok := e.waiters[w]; ok {
				delete(e.waiters, w)
				close(w.ch)
				e.idle()
			}
		})
	}
	return w.ch
}

// wake tells every waiter the event is set.
func (e *eventLine) wake() {
	for w := range e.waiters {
		if w.stop != nil {
			w.stop()
		}
		w.ch <- struct{}{}
		close(w.ch)
		delete(e.waiters, w)
	}
	e.idle()
}

// idle stops the watch a while after the last waiter went.
func (e *eventLine) idle() {
	if !e.watching || len(e.waiters) > 0 {
		return
	}
	if e.linger != nil {
		e.linger.Stop()
	}
	gen := e.gen
	e.linger = time.AfterFunc(lingerFor, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.gen == gen && e.watching && len(e.waiters) == 0 {
			e.stopWatch()
		}
	})
}

func (e *eventLine) startWatch(set bool, rev int64) {
	e.watching = true
	e.set = set
	e.gen++
	ctx, cancel := context.WithCancel(e.s.ctx)
	e.wstop = cancel
	e.s.wg.Add(1)
	go e.follow(ctx, e.gen, rev)
}

func (e *eventLine) stopWatch() {
	e.wstop()
	e.watching = false
	e.gen++
}

// follow runs the event's watch, as line.follow does for the locks.
func (e *eventLine) follow(ctx context.Context, gen uint64, from int64) {
	defer e.s.wg.Done()
	for {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := e.s.cli.Watch(wctx, e.key, clientv3.WithRev(from+1))
		live := true
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			if live = e.apply(gen, wr.Events); !live {
				break
			}
		}
		cancel()
		if !live || ctx.Err() != nil {
			return
		}
		if from = e.resync(ctx, gen); from < 0 {
			return
		}
	}
}

func (e *eventLine) apply(gen uint64, evs []*clientv3.Event) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if gen != e.gen || e.ended {
		return false
	}
	for _, ev := range evs {
		e.set = ev.Type == mvccpb.PUT
		if e.set {
			e.wake() // a Clear in the same response does not unwake anyone
		}
	}
	return true
}

func (e *eventLine) resync(ctx context.Context, gen uint64) int64 {
	backoff := 20 * time.Millisecond
	for {
		gctx, cancel := context.WithTimeout(ctx, e.s.rpcTimeout())
		resp, err := e.s.cli.Get(gctx, e.key, clientv3.WithCountOnly())
		cancel()
		if err == nil {
			e.mu.Lock()
			defer e.mu.Unlock()
			if gen != e.gen || e.ended {
				return -1
			}
			if e.set = resp.Count > 0; e.set {
				e.wake()
			}
			return resp.Header.Revision
		}
		select {
		case <-ctx.Done():
			return -1
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// end closes every waiter without a value: the session can no longer tell.
func (e *eventLine) end() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended = true
	for w := range e.waiters {
		if w.stop != nil {
			w.stop()
		}
		close(w.ch)
		delete(e.waiters, w)
	}
	if e.linger != nil {
		e.linger.Stop()
	}
	if e.watching {
		e.stopWatch()
	}
}
