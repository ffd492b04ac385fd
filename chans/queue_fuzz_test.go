package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzQueue runs random sequences of operations on a Queue and on a model
// built from a plain slice, and checks after every step that both agree:
// every answer, every item a getter receives, every pending call's channel
// (fzCheck), Len, Full, Unfinished, Join, and the waiter counts in String.
// Pending Puts and Gets whose ctx later ends (every ctxEnd), give-backs into
// full queues, the putter-first rule and both kinds of Shutdown are all in
// the mix, on every kind of queue, bounded or not.
//
// Values are unique (a priority in the high bits, a sequence number in the
// low ones), so the priority order is total and the model deterministic.
//
//	go test -run '^$' -fuzz '^FuzzQueue$' -fuzztime 40000x ./chans
func FuzzQueue(f *testing.F) {
	// FIFO order by TryPut and TryGet, then ErrEmpty.
	f.Add(uint8(fifoKind), uint8(0), []byte{queueTryPut, 1, queueTryPut, 0, queueTryGet, queueTryGet, queueTryGet, queueCheck})
	// Cap 1: a queued putter ends with a call first (never accepted), a
	// queued getter by its AfterFunc; TaskDone; ErrEmpty.
	f.Add(uint8(fifoKind), uint8(1), []byte{queueTryPut, 5, queuePut, 7, queueGet, queueTryGet, queueEnd, 0, byte(endCall), queueEnd, 0, byte(endAfterFunc), queueCheck, queueTaskDone, queueTryGet, queueCheck})
	// LIFO, cap 2: putters queue up, two of them end, Shutdown(true)
	// answers the rest with ErrShutdown and drops the items.
	f.Add(uint8(lifoKind), uint8(2), []byte{queuePut, 9, queuePut, 3, queuePut, 7, queuePut, 1, queueGet, queueTryPut, 8, queueGetDone, queueEnd, 1, byte(endAfterFunc), queueEnd, 0, byte(endCall), queueCheck, queueShutdown, 1})
	// Priority, cap 2: the oldest putter goes in first when a Get frees a
	// slot; All breaks after 3; answers received.
	f.Add(uint8(prioKind), uint8(2), []byte{queueTryPut, 50, queueTryPut, 10, queuePut, 30, queuePut, 20, queueTryGet, queueAll, 3, queueGet, queueTryPut, 8, queueTryPut, 13, queueRecv, 1, queueRecv, 0})
	// An item granted to a queued getter comes back when a call sees its
	// ctx ended (W3); W4 for Put and Get.
	f.Add(uint8(fifoKind), uint8(0), []byte{queueGet, queueTryPut, 6, queueTryPut, 4, queuePutBg, 8, queueTryGet, queueEnd, 0, byte(endCall), queueTaskDone, queueCheck, queuePutDone, 5, queueGetDone})
	// After Shutdown(false), a fast-path item walked away from goes back
	// and is drained.
	f.Add(uint8(lifoKind), uint8(1), []byte{queueTryPut, 1, queueGet, queueTryPut, 4, queuePutDone, 8, queueTryPut, 13, queueShutdown, 0, queueTryGet, queueEnd, 0, byte(endCall), queueRecv, 0})
	// Two getters granted items, ended with the next operation first, one
	// after the other (the second end settles the first); then a getter's
	// receive racing the take-back (yielding first), and a queued putter's.
	f.Add(uint8(fifoKind), uint8(1), []byte{queueGet, queueGet, queueTryPut, 1, queueTryPut, 2, queueEnd, 0, byte(endNext), queueEnd, 0, byte(endNext), queueCheck,
		queueGet, queueGet, queueTryPut, 3, queueEnd, 0, byte(endRecv), 1, queueTryPut, 4, queuePut, 5, queuePut, 6, queueEnd, 1, byte(endRecv), 0, queueCheck})
	// After Shutdown(false) with an item on its way to a getter, a later
	// getter waits (the queue is not drained while the item may come back);
	// the first getter walks away, and the later one gets the item (#11).
	f.Add(uint8(fifoKind), uint8(0), []byte{queueGet, queueTryPut, 1, queueShutdown, 0, queueGet, queueCheck, queueEnd, 0, byte(endAfterFunc), queueRecv, 1, queueTaskDone, queueTryGet})
	// The same, but the first getter receives: the next call tells the
	// later getter the queue is drained.
	f.Add(uint8(fifoKind), uint8(0), []byte{queueGet, queueTryPut, 1, queueShutdown, 0, queueGet, queueRecv, 0, queueTaskDone, queueRecv, 1, queueTryGet})
	f.Fuzz(func(t *testing.T, kind, maxsize uint8, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzQueue(t, int(kind%3), int(maxsize%4), ops)
		})
	})
}

// The operations of FuzzQueue, one byte each (modulo queueOps), some
// followed by argument bytes.
const (
	queueTryPut   = iota // priority: TryPut a new item
	queueTryGet          //
	queuePutDone         // priority: Put with an ended ctx: fails, no effect (W4)
	queueGetDone         // Get with an ended ctx: closed, no effect (W4)
	queuePut             // priority: Put with a ctx that can end
	queuePutBg           // priority: Put with a ctx that cannot
	queueGet             // Get with a ctx that can end
	queueGetBg           // Get with a ctx that cannot
	queueEnd             // handle (among those that can end), how (ctxEnd)
	queueRecv            // handle: receive from a pending call, if it would not block
	queueTaskDone        //
	queueShutdown        // immediate (odd)
	queueCheck           // String, Len, Empty, Full, Unfinished, Join
	queueAll             // k%4: range over All and break after k items, or at the end
	queueOps
)

// queueHandle is a pending Put or Get and what the model expects of it: a
// putter's answer is final (callFinal) once sent, a getter's item is
// taken back if its ctx ends first (callGranted).
type queueHandle struct {
	fzCall
	put    bool
	v      int // a putter's item
	errCh  <-chan error
	itemCh <-chan int
	answer error // a putter's answer, once final
	got    int   // a getter's item, once granted
}

// queueModel is the Queue as plain slices.
type queueModel struct {
	kind       int   // fifoKind, lifoKind or prioKind
	max        int   // 0: unbounded
	items      []int // fifo: front first; lifo: top last; prio: unordered
	putters    []*queueHandle
	getters    []*queueHandle
	unfinished int
	shut       bool
	dropping   bool
	doubt      func() bool // whether a getter holds an item it could still give back
}

// drained: shut down, nothing stored, and (unless Shutdown(true) drops what
// comes back) no item on its way to a getter whose ctx could still end.
func (m *queueModel) drained() bool {
	return m.shut && len(m.items) == 0 && (m.dropping || !m.doubt())
}

func (m *queueModel) full() bool { return m.max > 0 && len(m.items) >= m.max }

func (m *queueModel) pop() int {
	i := 0
	switch m.kind {
	case lifoKind:
		i = len(m.items) - 1
	case prioKind:
		i = slices.Index(m.items, slices.Min(m.items))
	}
	v := m.items[i]
	m.items = slices.Delete(m.items, i, i+1)
	return v
}

func (m *queueModel) unpop(v int) {
	if m.kind == fifoKind {
		m.items = slices.Insert(m.items, 0, v)
	} else {
		m.items = append(m.items, v)
	}
}

func (m *queueModel) admit() {
	p := m.putters[0]
	m.putters = m.putters[1:]
	m.items = append(m.items, p.v)
	m.unfinished++
	p.state, p.answer = callFinal, nil
}

// take: a get from a queue holding exactly max items lets the oldest putter
// in first.
func (m *queueModel) take() int {
	if m.max > 0 && len(m.items) == m.max && len(m.putters) > 0 {
		m.admit()
	}
	return m.pop()
}

func (m *queueModel) dispatch() {
	for {
		switch {
		case len(m.items) > 0 && len(m.getters) > 0:
			g := m.getters[0]
			m.getters = m.getters[1:]
			g.state, g.got = callGranted, m.take()
		case !m.full() && len(m.putters) > 0:
			m.admit()
		default:
			if m.drained() {
				for _, g := range m.getters {
					g.state = callClosed
				}
				m.getters = nil
			}
			return
		}
	}
}

// end: a queued call leaves (a putter with its ctx's error for answer), an
// item sent to a getter and not received goes back (or, after
// Shutdown(true), is dropped with its task).
func (m *queueModel) end(h *queueHandle) {
	switch {
	case h.put && h.state == callQueued:
		m.putters = slices.DeleteFunc(m.putters, func(p *queueHandle) bool { return p == h })
		h.state, h.answer, h.lagging = callFinal, context.Canceled, true
	case !h.put && h.state == callQueued:
		m.getters = slices.DeleteFunc(m.getters, func(g *queueHandle) bool { return g == h })
		h.state, h.lagging = callClosed, true
	case !h.put && h.state == callGranted:
		h.state, h.lagging = callClosed, true
		if m.dropping {
			m.finish(1)
		} else {
			m.unpop(h.got)
		}
	}
	m.dispatch()
}

func (m *queueModel) finish(n int) { m.unfinished -= min(n, m.unfinished) }

func (m *queueModel) String() string {
	name := [...]string{fifoKind: "Queue", lifoKind: "LifoQueue", prioKind: "PriorityQueue"}[m.kind]
	s := fmt.Sprintf("%s(maxsize=%d, len=%d", name, m.max, len(m.items))
	if len(m.getters) > 0 {
		s += fmt.Sprintf(", getters[%d]", len(m.getters))
	}
	if len(m.putters) > 0 {
		s += fmt.Sprintf(", putters[%d]", len(m.putters))
	}
	if m.unfinished > 0 {
		s += fmt.Sprintf(", tasks=%d", m.unfinished)
	}
	if m.shut {
		s += ", shutdown"
	}
	return s + ")"
}

// getters returns the handles of Gets, for what concerns only that waiter
// queue.
func getters(hs []*queueHandle) []*queueHandle {
	return slices.DeleteFunc(slices.Clone(hs), func(h *queueHandle) bool { return h.put })
}

func fuzzQueue(t *testing.T, kind, maxsize int, ops []byte) {
	q := queueKinds[kind].new(maxsize)
	m := &queueModel{kind: kind, max: maxsize}
	var hs []*queueHandle
	r := newFzRun(t, ops)
	seq := 0
	value := func() int { seq++; return r.in.byte()<<16 | seq }
	// unsettled: a getter's item was left to come back with the next
	// operation (endNext). Two take-backs racing each other come back in
	// either order, so before a second one everything is settled.
	unsettled := false
	m.doubt = func() bool {
		for _, h := range hs {
			if !h.put && h.state == callGranted && h.cancel != nil {
				return true
			}
		}
		return false
	}
	look := func() {
		t.Helper()
		if m.shut {
			m.dispatch() // every call tells waiting getters a shut queue is drained (#11)
		}
		if n := q.Len(); n != len(m.items) {
			r.fail("Len = %d, want %d", n, len(m.items))
		}
		fzLooked(hs)
		fzCheck(r, hs)
	}
	settle := func() {
		t.Helper()
		synctest.Wait()
		fzSettled(hs)
		unsettled = false
		fzCheck(r, hs) // before any call: the AfterFuncs alone did their part (W2)
		look()
	}

	for r.step(1 << 16) {
		switch op := r.in.next(queueOps); op {
		case queueTryPut:
			v := value()
			r.logf("TryPut(%#x)", v)
			var want error
			switch {
			case m.shut:
				want = ErrShutdown
			case len(m.putters) > 0 || m.full():
				want = ErrFull
			default:
				m.items = append(m.items, v)
				m.unfinished++
				m.dispatch()
			}
			if err := q.TryPut(v); err != want {
				r.fail("TryPut = %v, want %v", err, want)
			}
		case queueTryGet:
			r.logf("TryGet")
			v, err := q.TryGet()
			switch {
			case len(m.items) > 0:
				if w := m.take(); err != nil || v != w {
					r.fail("TryGet = %#x, %v; want %#x", v, err, w)
				}
			case m.drained():
				if err != ErrShutdown {
					r.fail("TryGet = %v, want ErrShutdown", err)
				}
			default:
				if err != ErrEmpty {
					r.fail("TryGet = %v, want ErrEmpty", err)
				}
			}
		case queuePutDone:
			r.logf("Put(done)")
			ch := q.Put(endedCtx(), value())
			if err, ok := <-ch; !ok || err != context.Canceled {
				r.fail("Put(done) = %v, %v", err, ok)
			}
			if _, ok := <-ch; ok {
				r.fail("Put's channel yielded twice")
			}
		case queueGetDone:
			r.logf("Get(done)")
			if v, ok := <-q.Get(endedCtx()); ok {
				r.fail("Get(done) = %#x", v)
			}
		case queuePut, queuePutBg:
			h := &queueHandle{put: true, v: value()}
			ctx := context.Background()
			if op == queuePut {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			r.logf("h%d=Put(%#x)", len(hs), h.v)
			h.errCh = q.Put(ctx, h.v)
			h.fzCall.ch = pend[error]{h.errCh}
			switch {
			case m.shut:
				h.state, h.answer = callFinal, ErrShutdown
			case len(m.putters) == 0 && !m.full():
				m.items = append(m.items, h.v)
				m.unfinished++
				h.state = callFinal
				m.dispatch()
			default:
				m.putters = append(m.putters, h)
			}
			hs = append(hs, h)
		case queueGet, queueGetBg:
			h := &queueHandle{}
			ctx := context.Background()
			if op == queueGet {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			r.logf("h%d=Get", len(hs))
			h.itemCh = q.Get(ctx)
			h.fzCall.ch = pend[int]{h.itemCh}
			switch {
			case len(m.getters) == 0 && len(m.items) > 0:
				h.state, h.got, h.lazy = callGranted, m.take(), h.cancel != nil
			case m.drained():
				h.state = callClosed
			default:
				m.getters = append(m.getters, h)
				fzQueuedBehind(getters(hs))
			}
			hs = append(hs, h)
		case queueEnd:
			h, k := fzPick(&r.in, hs, canEnd)
			if h == nil {
				continue
			}
			if unsettled && !h.put && h.state == callGranted {
				synctest.Wait()
				fzSettled(hs)
				look()
				unsettled = false
			}
			switch how := r.end(&h.fzCall, fmt.Sprintf("h%d", k)); {
			case how == endRecv && h.put:
				err, ok := fzRecvRacing(&r.in, h.errCh)
				if h.state == callQueued {
					m.end(h) // left: its answer is the ctx's error
				}
				if h.state == callReceived { // answer taken already: closed
					if ok {
						r.fail("h%d: Put answered twice: %v", k, err)
					}
					break
				}
				if !ok || err != h.answer {
					r.fail("h%d: Put answered %v, %v; want %v", k, err, ok, h.answer)
				}
				h.state, h.lagging = callReceived, false
			case how == endRecv:
				v, ok := fzRecvRacing(&r.in, h.itemCh)
				switch {
				case ok && h.state == callGranted && v == h.got:
					h.state = callReceived
				case ok:
					r.fail("h%d in state %v: Get yields %#x after the end (model %#x)", k, h.state, v, h.got)
				default:
					m.end(h)
				}
			default:
				unsettled = unsettled || how == endNext && !h.put && h.state == callGranted
				m.end(h)
				if how == endCall {
					look() // W3: the give-back is seen at once
				}
			}
		case queueRecv:
			h, k := fzPick(&r.in, hs, nil)
			if h == nil {
				continue
			}
			r.logf("recv(h%d)", k)
			settle()
			if h.put {
				err, ok, ready := recvNow(h.errCh)
				switch h.state {
				case callQueued:
					if ready {
						r.fail("queued Put answered %v, %v", err, ok)
					}
				case callFinal:
					if !ready || !ok || err != h.answer {
						r.fail("Put answered %v, %v, %v; want %v", err, ok, ready, h.answer)
					}
					h.state = callReceived
				default:
					if !ready || ok {
						r.fail("answered Put yielded again: %v, %v, %v", err, ok, ready)
					}
				}
				continue
			}
			v, ok, ready := recvNow(h.itemCh)
			switch h.state {
			case callQueued:
				if ready {
					r.fail("queued Get yielded %#x, %v", v, ok)
				}
			case callGranted:
				if !ready || !ok || v != h.got {
					r.fail("Get yielded %#x, %v, %v; want %#x", v, ok, ready, h.got)
				}
				h.state = callReceived
			default:
				if !ready || ok {
					r.fail("Get yielded %#x, %v, %v; want closed", v, ok, ready)
				}
			}
		case queueTaskDone:
			r.logf("TaskDone")
			msg := panicText(q.TaskDone)
			if m.unfinished == 0 {
				if !strings.HasPrefix(msg, "chans: ") {
					r.fail("TaskDone with no task: panic %q", msg)
				}
			} else {
				if msg != "" {
					r.fail("TaskDone panicked: %s", msg)
				}
				m.unfinished--
			}
		case queueShutdown:
			immediate := r.in.next(2) == 1
			r.logf("Shutdown(%v)", immediate)
			q.Shutdown(immediate)
			m.shut = true
			for _, p := range m.putters {
				p.state, p.answer = callFinal, ErrShutdown
			}
			m.putters = nil
			if immediate {
				m.dropping = true
				m.finish(len(m.items))
				m.items = nil
				fzQueuedBehind(getters(hs)) // Shutdown(true) watches the lazy grants
			}
			m.dispatch()
		case queueCheck:
			r.logf("check")
			if s, w := q.String(), m.String(); s != w {
				r.fail("String = %s, want %s", s, w)
			}
			if q.Len() != len(m.items) || q.Empty() != (len(m.items) == 0) || q.Full() != m.full() {
				r.fail("Len, Empty, Full = %d, %v, %v; want %d", q.Len(), q.Empty(), q.Full(), len(m.items))
			}
			if q.Unfinished() != m.unfinished {
				r.fail("Unfinished = %d, want %d", q.Unfinished(), m.unfinished)
			}
			if _, _, joined := recvNow(q.Join()); joined != (m.unfinished == 0) {
				r.fail("Join closed: %v, unfinished %d", joined, m.unfinished)
			}
		case queueAll:
			k := r.in.next(4)
			if !m.drained() {
				k = min(k, len(m.items)) // All would wait for more
			}
			if k == 0 {
				continue
			}
			r.logf("All(%d)", k)
			var got []int
			for v := range q.All(context.Background()) {
				got = append(got, v)
				if len(got) == k {
					break
				}
			}
			var want []int
			for len(want) < k && len(m.items) > 0 {
				want = append(want, m.take())
			}
			if !slices.Equal(got, want) {
				r.fail("All = %#x, want %#x", got, want)
			}
		}
		if !r.endNext {
			settle()
		}
	}

	// The end: end what can be, one at a time (give-backs racing would come
	// back in any order), then what is stored (and what the putters left
	// waiting bring in) comes out in the model's order.
	r.logf("end")
	settle()
	for _, h := range hs {
		if canEnd(&h.fzCall) {
			h.ended = true
			h.cancel()
			m.end(h)
			settle()
		}
	}
	for len(m.items) > 0 {
		want := m.take()
		if v, err := q.TryGet(); err != nil || v != want {
			r.fail("drain: TryGet = %#x, %v; want %#x", v, err, want)
		}
	}
	if _, err := q.TryGet(); err == nil {
		r.fail("drain: TryGet found more items than the model")
	}
}
