package chans

// queueOrder is how a Queue's store hands its items out.
type queueOrder uint8

const (
	fifo queueOrder = iota // oldest first: a ring buffer (the zero value)
	lifo                   // newest first: a stack
	prio                   // least first: a binary heap ordered by less
)

// minQueueStore is the smallest backing array a store shrinks to; below it,
// shrinking would only churn the allocator.
const minQueueStore = 16

// queueStore holds a Queue's items. It is plain data: the Queue's mutex
// guards it, and nothing in it blocks, waits or runs a goroutine. A buffered
// channel would not do here: an item given back by a getter that walked away
// must go to the front (or the top), and a channel can only append; nor can a
// channel be a stack or a heap.
//
// Popped slots are zeroed so the store never keeps a taken item reachable,
// and the backing array shrinks when it is mostly empty, so a burst does not
// pin its memory for the life of the queue.
type queueStore[T any] struct {
	order queueOrder
	less  func(a, b T) bool // prio only
	buf   []T               // fifo: the ring, len(buf) a power of two; lifo, prio: the items
	head  int               // fifo: index of the oldest item
	n     int               // fifo: number of items
}

func (s *queueStore[T]) len() int {
	if s.order == fifo {
		return s.n
	}
	return len(s.buf)
}

// push adds a new item: at the back (fifo), on top (lifo), into the heap
// (prio).
func (s *queueStore[T]) push(v T) {
	switch s.order {
	case fifo:
		if s.n == len(s.buf) {
			s.resize(max(minQueueStore, 2*len(s.buf)))
		}
		s.buf[(s.head+s.n)&(len(s.buf)-1)] = v
		s.n++
	case lifo:
		s.buf = append(s.buf, v)
	case prio:
		s.buf = append(s.buf, v)
		s.up(len(s.buf) - 1)
	}
}

// pop removes and returns the item a Get takes next: the oldest (fifo), the
// newest (lifo), the least (prio). The store must not be empty.
func (s *queueStore[T]) pop() T {
	var zero T
	var v T
	switch s.order {
	case fifo:
		v = s.buf[s.head]
		s.buf[s.head] = zero
		s.head = (s.head + 1) & (len(s.buf) - 1)
		s.n--
		if len(s.buf) > minQueueStore && s.n <= len(s.buf)/4 {
			s.resize(len(s.buf) / 2)
		}
		return v
	case lifo:
		last := len(s.buf) - 1
		v = s.buf[last]
		s.buf[last] = zero
		s.buf = s.buf[:last]
	case prio:
		last := len(s.buf) - 1
		v = s.buf[0]
		s.buf[0] = s.buf[last]
		s.buf[last] = zero
		s.buf = s.buf[:last]
		if last > 0 {
			s.down(0)
		}
	}
	if cap(s.buf) > minQueueStore && len(s.buf) <= cap(s.buf)/4 {
		s.buf = append(make([]T, 0, cap(s.buf)/2), s.buf...)
	}
	return v
}

// unpop gives back v, an item pop returned, so that the next pop finds it
// first: at the front (fifo) or on top (lifo). For prio the heap decides: v
// was least when it was popped, so it comes out next unless a lesser item
// arrived since, which by the queue's order should come out first anyway.
func (s *queueStore[T]) unpop(v T) {
	if s.order != fifo {
		s.push(v)
		return
	}
	if s.n == len(s.buf) {
		s.resize(max(minQueueStore, 2*len(s.buf)))
	}
	s.head = (s.head - 1) & (len(s.buf) - 1)
	s.buf[s.head] = v
	s.n++
}

// clear drops every item and the backing array.
func (s *queueStore[T]) clear() {
	s.buf, s.head, s.n = nil, 0, 0
}

// resize moves the ring into a new array of size c (a power of two, >= n).
func (s *queueStore[T]) resize(c int) {
	buf := make([]T, c)
	if s.n > 0 {
		k := copy(buf, s.buf[s.head:min(s.head+s.n, len(s.buf))])
		copy(buf[k:], s.buf[:s.n-k])
	}
	s.buf, s.head = buf, 0
}

// up and down restore the heap property (every parent not greater than its
// children) after the item at i moved; the standard sift, written out rather
// than through container/heap, whose interface would box every item.
func (s *queueStore[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(s.buf[i], s.buf[p]) {
			return
		}
		s.buf[i], s.buf[p] = s.buf[p], s.buf[i]
		i = p
	}
}

func (s *queueStore[T]) down(i int) {
	n := len(s.buf)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && s.less(s.buf[r], s.buf[c]) {
			c = r
		}
		if !s.less(s.buf[c], s.buf[i]) {
			return
		}
		s.buf[i], s.buf[c] = s.buf[c], s.buf[i]
		i = c
	}
}
