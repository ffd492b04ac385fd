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
// every answer, every item a getter receives, Len, Full, Unfinished, Join,
// and the waiter counts in String. Pending Puts and Gets whose ctx is later
// cancelled, give-backs into full queues, the putter-first rule and both
// kinds of Shutdown are all in the mix.
//
// Values are unique (a priority in the high bits, a sequence number in the
// low ones), so the priority order is total and the model deterministic.
func FuzzQueue(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{0, 1, 0, 0, 1, 1, 1, 13})
	f.Add(uint8(0), uint8(1), []byte{0, 5, 4, 7, 6, 1, 9, 0, 8, 1, 9, 2, 13, 11, 9, 1, 1, 13})
	f.Add(uint8(1), uint8(2), []byte{4, 9, 4, 3, 4, 7, 4, 1, 6, 0, 8, 3, 8, 1, 9, 0, 13, 12, 13})
	f.Add(uint8(2), uint8(2), []byte{0, 50, 0, 10, 4, 30, 4, 20, 1, 14, 3, 6, 0, 8, 0, 13, 10, 10, 10})
	f.Add(uint8(0), uint8(0), []byte{6, 0, 6, 0, 4, 5, 8, 1, 9, 1, 9, 0, 11, 9, 2, 13, 2, 5, 3})
	f.Add(uint8(1), uint8(1), []byte{0, 1, 6, 0, 4, 2, 8, 0, 13, 12, 8, 1, 9, 2, 10, 13})
	f.Fuzz(func(t *testing.T, kind, maxsize uint8, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzQueue(t, queueOrder(kind%3), int(maxsize%4), ops)
		})
	})
}

// qHandle is a pending Put or Get and what the model expects of it.
type qHandle struct {
	put    bool
	v      int // a putter's item
	cancel context.CancelFunc
	errCh  <-chan error
	itemCh <-chan int

	state  qState
	answer error // a putter's answer, once state is qAnswered
	got    int   // a getter's item, once state is qGranted
}

type qState uint8

const (
	qQueued   qState = iota
	qAnswered        // putter: answer sent, not received yet
	qGranted         // getter: item sent, not received yet
	qDone            // received, or closed without a value
)

// qModel is the Queue as plain slices.
type qModel struct {
	order      queueOrder
	max        int
	items      []int // fifo: front first; lifo: top last; prio: unordered
	putters    []*qHandle
	getters    []*qHandle
	unfinished int
	shut       bool
	dropping   bool
}

func (m *qModel) full() bool { return m.max > 0 && len(m.items) >= m.max }

func (m *qModel) pop() int {
	i := 0
	switch m.order {
	case lifo:
		i = len(m.items) - 1
	case prio:
		i = slices.Index(m.items, slices.Min(m.items))
	}
	v := m.items[i]
	m.items = slices.Delete(m.items, i, i+1)
	return v
}

func (m *qModel) unpop(v int) {
	if m.order == fifo {
		m.items = slices.Insert(m.items, 0, v)
	} else {
		m.items = append(m.items, v)
	}
}

func (m *qModel) admit() {
	p := m.putters[0]
	m.putters = m.putters[1:]
	m.items = append(m.items, p.v)
	m.unfinished++
	p.state, p.answer = qAnswered, nil
}

// take: a get from a queue holding exactly max items lets the oldest putter
// in first.
func (m *qModel) take() int {
	if m.max > 0 && len(m.items) == m.max && len(m.putters) > 0 {
		m.admit()
	}
	return m.pop()
}

func (m *qModel) dispatch() {
	for {
		switch {
		case len(m.items) > 0 && len(m.getters) > 0:
			g := m.getters[0]
			m.getters = m.getters[1:]
			g.state, g.got = qGranted, m.take()
		case !m.full() && len(m.putters) > 0:
			m.admit()
		default:
			if m.shut && len(m.items) == 0 {
				for _, g := range m.getters {
					g.state = qDone
				}
				m.getters = nil
			}
			return
		}
	}
}

// cancel ends h's ctx: a queued call leaves, an item sent to a getter and
// not received goes back.
func (m *qModel) cancel(h *qHandle) {
	h.cancel()
	h.cancel = nil
	switch {
	case h.put && h.state == qQueued:
		m.putters = slices.DeleteFunc(m.putters, func(p *qHandle) bool { return p == h })
		h.state, h.answer = qAnswered, context.Canceled
	case !h.put && h.state == qQueued:
		m.getters = slices.DeleteFunc(m.getters, func(g *qHandle) bool { return g == h })
		h.state = qDone
	case !h.put && h.state == qGranted:
		h.state = qDone
		if m.dropping {
			m.finish(1)
		} else {
			m.unpop(h.got)
		}
	}
	m.dispatch()
}

func (m *qModel) finish(n int) { m.unfinished -= min(n, m.unfinished) }

func (m *qModel) String() string {
	name := [...]string{fifo: "Queue", lifo: "LifoQueue", prio: "PriorityQueue"}[m.order]
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

func fuzzQueue(t *testing.T, o queueOrder, maxsize int, ops []byte) {
	var q *Queue[int]
	switch o {
	case fifo:
		q = NewQueue[int](maxsize)
	case lifo:
		q = NewLifoQueue[int](maxsize)
	case prio:
		q = NewPriorityQueue(maxsize, lessInt)
	}
	m := &qModel{order: o, max: maxsize}
	var handles []*qHandle
	seq := 0
	i := 0
	next := func() int {
		if i >= len(ops) {
			return 0
		}
		i++
		return int(ops[i-1])
	}
	value := func() int { seq++; return next()<<16 | seq }
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s: "+format, append([]any{strings.Join(log, "; ")}, args...)...)
	}

	for i < len(ops) {
		op := next() % 15
		switch op {
		case 0: // TryPut
			v := value()
			log = append(log, fmt.Sprintf("TryPut(%#x)", v))
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
				fail("TryPut = %v, want %v", err, want)
			}
		case 1: // TryGet
			log = append(log, "TryGet")
			v, err := q.TryGet()
			switch {
			case len(m.items) > 0:
				if w := m.take(); err != nil || v != w {
					fail("TryGet = %#x, %v; want %#x", v, err, w)
				}
			case m.shut:
				if err != ErrShutdown {
					fail("TryGet = %v, want ErrShutdown", err)
				}
			default:
				if err != ErrEmpty {
					fail("TryGet = %v, want ErrEmpty", err)
				}
			}
		case 2: // Put with a ctx already done: fails, no effect
			log = append(log, "Put(done)")
			ch := q.Put(done, value())
			if err, ok := <-ch; !ok || err != context.Canceled {
				fail("Put(done) = %v, %v", err, ok)
			}
			if _, ok := <-ch; ok {
				fail("Put's channel yielded twice")
			}
		case 3: // Get with a ctx already done: closed, no effect
			log = append(log, "Get(done)")
			if v, ok := <-q.Get(done); ok {
				fail("Get(done) = %#x", v)
			}
		case 4, 5: // Put, pending; 5 with a ctx that cannot end
			h := &qHandle{put: true, v: value()}
			ctx := context.Background()
			if op == 4 {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			log = append(log, fmt.Sprintf("h%d=Put(%#x)", len(handles), h.v))
			h.errCh = q.Put(ctx, h.v)
			switch {
			case m.shut:
				h.state, h.answer = qAnswered, ErrShutdown
			case len(m.putters) == 0 && !m.full():
				m.items = append(m.items, h.v)
				m.unfinished++
				h.state = qAnswered
				m.dispatch()
			default:
				m.putters = append(m.putters, h)
			}
			handles = append(handles, h)
		case 6, 7: // Get, pending; 7 with a ctx that cannot end
			h := &qHandle{}
			ctx := context.Background()
			if op == 6 {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			log = append(log, fmt.Sprintf("h%d=Get", len(handles)))
			h.itemCh = q.Get(ctx)
			switch {
			case len(m.getters) == 0 && len(m.items) > 0:
				h.state, h.got = qGranted, m.take()
			case m.shut:
				h.state = qDone
			default:
				m.getters = append(m.getters, h)
			}
			handles = append(handles, h)
		case 8, 9: // cancel a pending call; 9 checks W3 at once, without letting AfterFuncs run
			if len(handles) == 0 {
				continue
			}
			k := next() % len(handles)
			h := handles[k]
			if h.cancel == nil {
				continue
			}
			log = append(log, fmt.Sprintf("cancel(h%d)", k))
			m.cancel(h)
			if op == 8 {
				synctest.Wait()
			}
			if n := q.Len(); n != len(m.items) {
				fail("Len = %d, want %d", n, len(m.items))
			}
		case 10: // receive from a pending call, if it would not block
			if len(handles) == 0 {
				continue
			}
			k := next() % len(handles)
			h := handles[k]
			log = append(log, fmt.Sprintf("recv(h%d)", k))
			synctest.Wait() // let AfterFuncs close what they close
			if h.put {
				err, ok, recv := recvNow(h.errCh)
				switch h.state {
				case qQueued:
					if recv {
						fail("queued Put answered %v, %v", err, ok)
					}
				case qAnswered:
					if !recv || !ok || err != h.answer {
						fail("Put answered %v, %v, %v; want %v", err, ok, recv, h.answer)
					}
					h.state = qDone
				case qDone:
					if !recv || ok {
						fail("answered Put yielded again: %v, %v, %v", err, ok, recv)
					}
				}
				continue
			}
			v, ok, recv := recvNow(h.itemCh)
			switch h.state {
			case qQueued:
				if recv {
					fail("queued Get yielded %#x, %v", v, ok)
				}
			case qGranted:
				if !recv || !ok || v != h.got {
					fail("Get yielded %#x, %v, %v; want %#x", v, ok, recv, h.got)
				}
				h.state = qDone
			case qDone:
				if !recv || ok {
					fail("Get yielded %#x, %v, %v; want closed", v, ok, recv)
				}
			}
		case 11: // TaskDone
			log = append(log, "TaskDone")
			msg := panicText(q.TaskDone)
			if m.unfinished == 0 {
				if !strings.HasPrefix(msg, "chans: ") {
					fail("TaskDone with no task: panic %q", msg)
				}
			} else {
				if msg != "" {
					fail("TaskDone panicked: %s", msg)
				}
				m.unfinished--
			}
		case 12: // Shutdown
			immediate := next()%2 == 1
			log = append(log, fmt.Sprintf("Shutdown(%v)", immediate))
			q.Shutdown(immediate)
			m.shut = true
			for _, p := range m.putters {
				p.state, p.answer = qAnswered, ErrShutdown
			}
			m.putters = nil
			if immediate {
				m.dropping = true
				m.finish(len(m.items))
				m.items = nil
			}
			m.dispatch()
		case 13: // look at everything
			log = append(log, "check")
			if s, w := q.String(), m.String(); s != w {
				fail("String = %s, want %s", s, w)
			}
			if q.Len() != len(m.items) || q.Empty() != (len(m.items) == 0) || q.Full() != m.full() {
				fail("Len, Empty, Full = %d, %v, %v; want %d", q.Len(), q.Empty(), q.Full(), len(m.items))
			}
			if q.Unfinished() != m.unfinished {
				fail("Unfinished = %d, want %d", q.Unfinished(), m.unfinished)
			}
			if _, _, joined := recvNow(q.Join()); joined != (m.unfinished == 0) {
				fail("Join closed: %v, unfinished %d", joined, m.unfinished)
			}
		case 14: // range over All and break after k items, or at the end
			k := next() % 4
			if !m.shut {
				k = min(k, len(m.items))
			}
			if k == 0 {
				continue
			}
			log = append(log, fmt.Sprintf("All(%d)", k))
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
				fail("All = %#x, want %#x", got, want)
			}
		}
	}

	// The end: cancel what can be, then what is stored (and what the
	// putters left waiting bring in) comes out in the model's order.
	for _, h := range handles {
		if h.cancel != nil {
			m.cancel(h)
			synctest.Wait() // one at a time: give-backs racing would come back in any order
		}
	}
	for len(m.items) > 0 {
		want := m.take()
		if v, err := q.TryGet(); err != nil || v != want {
			fail("drain: TryGet = %#x, %v; want %#x", v, err, want)
		}
	}
	if _, err := q.TryGet(); err == nil {
		fail("drain: TryGet found more items than the model")
	}
}
