package chans

import "slices"

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

// maxKept is the most a bounded queue's store keeps allocated when it
// empties: a bounded queue is expected to fill up to its bound again, and a
// ring that shrinks at a quarter and grows at the full size reallocates on
// every swing (a pipeline's queues swing all the time). Above it, the
// memory of a burst is given back as for an unbounded queue.
const maxKept = 1024

// queueStore holds a Queue's items. It is plain data: the Queue's mutex
// guards it, and nothing in it blocks, waits or runs a goroutine. A buffered
// channel would not do here: an item given back by a getter that walked away
// must go to the front (or the top), and a channel can only append; nor can a
// channel be a stack or a heap.
//
// Popped slots are zeroed so the store never keeps a taken item reachable,
// and the backing array shrinks when it is mostly empty, so a burst does not
// pin its memory for the life of the queue.
//
// A priority store calls the user's less. If less panics, the store is left
// as it was: every sift finds its item's place by comparisons alone and moves
// items only once it has it. The tempting version sifts by swapping, which a
// panic halfway leaves with the heap order broken and no way to tell.
type queueStore[T any] struct {
	order queueOrder
	keep  int               // a bounded queue's bound, up to maxKept: the ring does not shrink below it
	less  func(a, b T) bool // prio only
	buf   []T               // fifo: the ring, len(buf) a power of two; lifo: the stack
	head  int               // fifo: index of the oldest item
	n     int               // fifo: number of items
	heap  []ranked[T]       // prio: the binary heap
	seq   int               // prio: the sequence number of the next item pushed
	stash []ranked[T]       // prio: items given back whose place a panicking less kept us from finding, by seq
}

// ranked is an item of a priority store with its sequence number, which
// orders items that compare equal: first in, first out. Sequence numbers are
// compared by their difference, so they may wrap around (see cmpSeq).
type ranked[T any] struct {
	v   T
	seq int
}

func (s *queueStore[T]) len() int {
	switch s.order {
	case fifo:
		return s.n
	case lifo:
		return len(s.buf)
	}
	return len(s.heap) + len(s.stash)
}

// push adds a new item: at the back (fifo), on top (lifo), into the heap
// (prio). If less panics, the item is not added.
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
		s.up(ranked[T]{v, s.seq})
		s.seq++
	}
}

// pop removes and returns the item a Get takes next: the oldest (fifo), the
// newest (lifo), the least (prio; of equal items the oldest), with its
// sequence number (prio; 0 otherwise), which unpop needs. The store must not
// be empty. If less panics, nothing is removed.
func (s *queueStore[T]) pop() (T, int) {
	var zero T
	switch s.order {
	case fifo:
		v := s.buf[s.head]
		s.buf[s.head] = zero
		s.head = (s.head + 1) & (len(s.buf) - 1)
		s.n--
		if len(s.buf) > max(minQueueStore, s.keep) && s.n <= len(s.buf)/4 {
			s.resize(len(s.buf) / 2)
		}
		return v, 0
	case lifo:
		last := len(s.buf) - 1
		v := s.buf[last]
		s.buf[last] = zero
		s.buf = shrink(s.buf[:last])
		return v, 0
	}
	if len(s.stash) > 0 {
		e := s.stash[0]
		s.stash[0] = ranked[T]{}
		s.stash = s.stash[1:]
		if len(s.stash) == 0 {
			s.stash = nil
		}
		return e.v, e.seq
	}
	return s.down()
}

// unpop gives back v, an item pop returned with seq, so that the next pop
// finds it first: at the front (fifo) or on top (lifo). For prio the heap
// decides, by the item's old sequence number: v was least when it was popped,
// so it comes out next unless a lesser item arrived since, which by the
// queue's order should come out first anyway. If less panics (unpop may run in
// a goroutine of the library's own, where nobody could recover the panic),
// the item goes to the stash, which pop empties first, and the panic goes on.
func (s *queueStore[T]) unpop(v T, seq int) {
	switch s.order {
	case lifo:
		s.buf = append(s.buf, v)
		return
	case prio:
		e := ranked[T]{v, seq}
		defer func() {
			if p := recover(); p != nil {
				i := len(s.stash)
				for i > 0 && cmpSeq(s.stash[i-1].seq, seq) > 0 {
					i--
				}
				s.stash = slices.Insert(s.stash, i, e)
				panic(p)
			}
		}()
		s.up(e)
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
	s.buf, s.head, s.n, s.heap, s.stash = nil, 0, 0, nil, nil
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

// shrink gives back the memory of a slice that is mostly empty.
func shrink[E any](b []E) []E {
	if cap(b) > minQueueStore && len(b) <= cap(b)/4 {
		return append(make([]E, 0, cap(b)/2), b...)
	}
	return b
}

// before orders the heap: by less, then by sequence number.
func (s *queueStore[T]) before(a, b *ranked[T]) bool {
	if s.less(a.v, b.v) {
		return true
	}
	if s.less(b.v, a.v) {
		return false
	}
	return cmpSeq(a.seq, b.seq) < 0
}

// up adds e to the heap: it finds e's place on the path from the new leaf
// to the root by comparisons alone, then moves the parents on the path down.
func (s *queueStore[T]) up(e ranked[T]) {
	i := len(s.heap)
	j := i
	for j > 0 {
		p := (j - 1) / 2
		if !s.before(&e, &s.heap[p]) {
			break
		}
		j = p
	}
	// No more calls to less: from here on nothing can panic.
	s.heap = append(s.heap, ranked[T]{})
	for k := i; k > j; {
		p := (k - 1) / 2
		s.heap[k] = s.heap[p]
		k = p
	}
	s.heap[j] = e
}

// down removes and returns the root: it finds the place of the last item on
// the path of lesser children from the root by comparisons alone, recording
// the path, then moves the items on it up.
func (s *queueStore[T]) down() (T, int) {
	top := s.heap[0]
	last := len(s.heap) - 1
	x := &s.heap[last]
	var path [64]int // a heap of 2^63 items is 63 levels deep
	depth := 0
	for j := 0; ; {
		c := 2*j + 1
		if c >= last {
			break
		}
		if r := c + 1; r < last && s.before(&s.heap[r], &s.heap[c]) {
			c = r
		}
		if !s.before(&s.heap[c], x) {
			break
		}
		path[depth] = c
		depth++
		j = c
	}
	// No more calls to less: from here on nothing can panic.
	j := 0
	for _, c := range path[:depth] {
		s.heap[j] = s.heap[c]
		j = c
	}
	s.heap[j] = *x
	s.heap[last] = ranked[T]{}
	s.heap = shrink(s.heap[:last])
	return top.v, top.seq
}
