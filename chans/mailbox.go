package chans

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/turnstile-go/turnstile/internal/choice"
)

// A Mailbox is an unbounded store of messages with selective receive, the
// message queue of a kiwi tasklet or an Erlang process: Send never blocks,
// and Receive takes the oldest message its accept function takes, leaving
// the others queued, in order, for later receives (kiwi's "defer").
//
// The zero value is an empty Mailbox. A Mailbox must not be copied after
// first use.
//
// Ordering: messages are kept in the order of their Send calls. A receiver
// gets the oldest message it accepts. Receivers are served in the order of
// their calls: a new message goes to the longest-waiting receiver that
// accepts it, and a receiver that finds an acceptable message at its call
// takes it at once, since no earlier receiver can use it (a message one of
// them accepted would have gone to it).
//
// Cancellation: a message handed to a receiver whose ctx ends before it
// received goes back to its original place among the stored messages, not
// to the end, and from there to the next receiver that accepts it. Nothing is
// lost, duplicated or reordered by cancellation.
//
// The accept function runs under the mailbox's lock, in whatever goroutine
// calls into the mailbox (a call first takes back the messages of receivers
// whose ctx ended, and offers them again), or in the goroutine that
// context.AfterFunc starts when a receiver's ctx ends. It must be quick, must
// not block, must not call the mailbox, and must give the same answer for the
// same message for as long as its Receive waits. If it panics while its own
// call (Receive, TryReceive, ReceiveWait) asks, the call panics and nothing
// changes. If it panics when another call asks (a Send, or a message coming
// back), no message is lost: the receiver it belongs to is failed (its
// channel is closed; ReceiveWait returns a *PanicError with the panic and its
// stack), the message goes to the next receiver or is stored, and the panic
// goes on in the caller of Send, after the mailbox is consistent again; in a
// goroutine of the library's own, where nobody could recover it, it goes no
// further. The mailbox
// asks about a message when the Receive is called or the message is sent,
// and again only when the message comes back from a receiver that gave up;
// it never asks again on its own, so a stored message that accept would take
// later is not noticed. A nil accept takes any message.
//
// Cost: a Receive that takes the oldest message, and a Send to the oldest
// receiver, are O(1). Selectivity costs what it skips: a Receive scans the
// stored messages its accept refuses, a Send asks each queued receiver
// until one accepts. Each Receive that has to wait allocates its channel
// and waiter, as every wait in this package does.
//
// [Mailbox.ReceiveWait] is the blocking twin of Receive.
//
// Memory model: in the terms of [the Go memory model], a Send synchronizes
// before the receive (or ReceiveWait's return) of the message it sent.
//
// [the Go memory model]: https://go.dev/ref/mem
type Mailbox[M any] struct {
	mu     sync.Mutex
	msgs   store[M]                   // messages nobody has taken, oldest first
	seq    int                        // sequence number of the next message sent
	back   []int                      // sequence numbers of messages reclaim put back; see dispatch
	q      waitq[M]                   // receivers; a waiter's n is the sequence number of its grant
	panics map[*waiter[M]]*PanicError // why failed receivers were failed, for ReceiveWait and selectx
	lost   any                        // the last panic of an accept absorbed in a goroutine of the library's own
}

// Send adds m to the mailbox. It never blocks: if a receiver waits that
// accepts m, the longest-waiting one gets it; otherwise m is stored.
func (b *Mailbox[M]) Send(m M) {
	if p := b.send(m); p != nil {
		panic(p.Value) // a receiver's accept panicked; see the type's doc
	}
}

func (b *Mailbox[M]) send(m M) *PanicError {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q.bind(&b.mu, b)
	b.q.sweep()
	seq := b.seq
	b.seq++
	// Every stored message has already been refused by every queued
	// receiver (see dispatch), so m is the only message they can want now.
	w, p := b.match(m)
	if w != nil {
		w.n = seq
		b.q.grant(w, m, exclusive)
		return p
	}
	b.msgs.push(entry[M]{seq: seq, m: m})
	return p
}

// match returns the longest-waiting receiver that accepts m, failing on the
// way every receiver whose accept panics, and the first such panic.
func (b *Mailbox[M]) match(m M) (*waiter[M], *PanicError) {
	var first *PanicError
	for {
		w, bad, p := b.q.firstMatch(m)
		if bad == nil {
			return w, first
		}
		if first == nil {
			first = p
		}
		if bad.kind == byBlocking || bad.watch == watchedSel {
			if b.panics == nil {
				b.panics = make(map[*waiter[M]]*PanicError)
			}
			b.panics[bad] = p
		}
		b.q.leave(bad)
	}
}

// Receive asks for the oldest message that accept takes (any message if
// accept is nil); messages it refuses stay in the mailbox, in order. The
// returned channel has a buffer of one and is closed after yielding at most
// one value:
//   - the message, once it is this caller's (ok is true);
//   - nothing (closed, ok false) if ctx ended first, or had ended at the call
//     even though an acceptable message was stored (W4).
//
// If ctx ends after the message was sent on the channel but before the caller
// received it, the message is taken back and returns to its place in the
// mailbox; a receive after that yields closed. A caller that neither receives
// nor lets ctx end keeps the message reserved until ctx ends: cancel the ctx
// of a Receive you abandon in a select, or use selectx. See the type's
// documentation for the rules accept must follow.
func (b *Mailbox[M]) Receive(ctx context.Context, accept func(M) bool) <-chan M {
	checkCtx(ctx, "Mailbox.Receive")
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q.bind(&b.mu, b)
	if ctx.Err() != nil {
		return closed[M]()
	}
	b.q.sweep()
	if i := b.find(accept); i >= 0 {
		e := b.msgs.remove(i)
		return b.q.now(ctx, ask[M]{n: e.seq, match: accept}, e.m, exclusive)
	}
	if c, ok := ctx.(*choice.Ctx); ok {
		return b.q.selWait(c, ask[M]{match: accept}, b, false)
	}
	return b.q.enqueue(ctx, ask[M]{match: accept}, byChannel).ch
}

// ReceiveWait is the blocking twin of Receive: it waits in the caller's
// goroutine and returns the oldest message accept takes once it is the
// caller's, or ctx.Err() if ctx ends first or had ended at the call (even if
// an acceptable message was stored), or a *PanicError if accept panicked when
// another call asked it (see the type's doc). It queues in the same FIFO as
// Receive's callers, makes no channel and registers nothing when a message is
// there, and starts no goroutine when it waits. ReceiveWait panics if ctx is
// nil.
func (b *Mailbox[M]) ReceiveWait(ctx context.Context, accept func(M) bool) (M, error) {
	checkCtx(ctx, "Mailbox.ReceiveWait")
	var zero M
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	b.mu.Lock()
	unlock := true
	defer func() {
		if unlock {
			b.mu.Unlock()
		}
	}()
	b.q.bind(&b.mu, b)
	b.q.sweep()
	if i := b.find(accept); i >= 0 {
		return b.q.noteDirect(b.msgs.remove(i).m, ask[M]{}), nil
	}
	w := b.q.enqueue(ctx, ask[M]{match: accept}, byBlocking)
	unlock = false // block releases the mutex
	m, ok, cause := b.q.block(w)
	switch {
	case ok:
		return m, nil
	case cause != nil:
		return zero, cause
	}
	return zero, ctx.Err()
}

// TryReceive takes the oldest stored message that accept takes (any if
// accept is nil), without waiting. It reports false if there is none.
// It never takes a message a queued receiver could have: those receivers
// refused every stored message already.
func (b *Mailbox[M]) TryReceive(accept func(M) bool) (M, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q.bind(&b.mu, b)
	b.q.sweep()
	if i := b.find(accept); i >= 0 {
		return b.q.noteDirect(b.msgs.remove(i).m, ask[M]{}), true
	}
	var zero M
	return zero, false
}

// Len returns the number of messages stored: sent and not taken by any
// receiver. A message handed to a receiver whose ctx has ended and that did
// not receive it counts again.
func (b *Mailbox[M]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q.bind(&b.mu, b)
	b.q.sweep()
	return b.msgs.len()
}

// String describes the mailbox for debugging: "Mailbox(len=2, waiters=1)".
func (b *Mailbox[M]) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q.bind(&b.mu, b)
	b.q.sweep()
	return fmt.Sprintf("Mailbox(len=%d, waiters=%d)", b.msgs.len(), b.q.live())
}

// find returns the index of the oldest stored message accept takes, or -1.
func (b *Mailbox[M]) find(accept func(M) bool) int {
	if accept == nil {
		if b.msgs.len() > 0 {
			return 0
		}
		return -1
	}
	for i := range b.msgs.len() {
		if accept(b.msgs.at(i).m) {
			return i
		}
	}
	return -1
}

// reclaim puts back a message whose receiver's ctx ended before it received.
// It goes to its old place, by sequence number: appending it would let
// younger messages overtake it, and a receiver that accepts both would see
// them out of order.
func (b *Mailbox[M]) reclaim(w *waiter[M], m M) {
	b.msgs.insert(entry[M]{seq: w.n, m: m})
	b.back = append(b.back, w.n)
}

// dispatch offers each message that came back to the queued receivers. Only
// those need offering: the mailbox keeps every other stored message refused
// by every queued receiver, and a receiver leaving the queue changes nothing
// about that. Offering them oldest first keeps "a receiver gets the oldest
// message it accepts" when several come back at once.
func (b *Mailbox[M]) dispatch() {
	if len(b.back) == 0 {
		return
	}
	slices.SortFunc(b.back, func(x, y int) int { return cmpSeq(x, y) })
	for _, seq := range b.back {
		i := b.msgs.index(seq)
		w, p := b.match(b.msgs.at(i).m)
		if p != nil {
			b.lost = p // a panic here has no caller of its own to go to
		}
		if w != nil {
			e := b.msgs.remove(i)
			w.n = e.seq
			b.q.grant(w, e.m, exclusive)
		}
	}
	b.back = b.back[:0]
}

// place serves w, a pending receiver of a selectx choice.
func (b *Mailbox[M]) place(w *waiter[M]) {
	if i := b.find(w.match); i >= 0 {
		e := b.msgs.remove(i)
		w.n = e.seq
		b.q.send(w, e.m, exclusive)
		return
	}
	b.q.push(w)
}

// cause says why a receiver was failed: its accept panicked.
func (b *Mailbox[M]) cause(w *waiter[M]) error {
	if p, ok := b.panics[w]; ok {
		delete(b.panics, w)
		if len(b.panics) == 0 {
			b.panics = nil
		}
		return p
	}
	return nil
}

// absorbed is told of a panic in a goroutine of the library's own.
func (b *Mailbox[M]) absorbed(p any) { b.lost = p }

// cmpSeq orders sequence numbers by their difference rather than their
// values, so it stays right when the counter wraps around (on 32-bit
// platforms, after 2³¹ sends), as long as the stored messages span fewer
// than 2³¹ sends.
func cmpSeq(x, y int) int {
	switch d := x - y; {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// entry is a stored message and its sequence number.
type entry[M any] struct {
	seq int
	m   M
}

// store is a deque of entries in sequence order, kept in one slice: buf[head:]
// holds the entries. Taking the oldest (the common case) is O(1); removing or
// inserting elsewhere moves the shorter side, so putting back a message near
// the front, where reclaimed messages usually belong, is cheap too.
type store[M any] struct {
	buf  []entry[M]
	head int
}

func (s *store[M]) len() int { return len(s.buf) - s.head }

func (s *store[M]) at(i int) *entry[M] { return &s.buf[s.head+i] }

// push appends e, which must be younger than every stored entry.
func (s *store[M]) push(e entry[M]) {
	if s.head > 0 && len(s.buf) == cap(s.buf) && s.head >= s.len() {
		// At least half the slice is free space at the front: slide down
		// rather than grow. Requiring half keeps this amortized O(1).
		n := copy(s.buf, s.buf[s.head:])
		clear(s.buf[n:])
		s.buf, s.head = s.buf[:n], 0
	}
	s.buf = append(s.buf, e)
}

// remove takes out the entry at index i and returns it.
func (s *store[M]) remove(i int) entry[M] {
	j := s.head + i
	e := s.buf[j]
	if i < s.len()/2 {
		copy(s.buf[s.head+1:j+1], s.buf[s.head:j])
		s.buf[s.head] = entry[M]{} // let the message be collected
		s.head++
	} else {
		copy(s.buf[j:], s.buf[j+1:])
		s.buf[len(s.buf)-1] = entry[M]{}
		s.buf = s.buf[:len(s.buf)-1]
	}
	if s.len() == 0 {
		s.buf, s.head = s.buf[:0], 0
	}
	if c := cap(s.buf); c > minQueueStore && s.len() <= c/4 {
		// Mostly empty after a burst: give the memory back.
		buf := make([]entry[M], s.len(), c/2)
		copy(buf, s.buf[s.head:])
		s.buf, s.head = buf, 0
	}
	return e
}

// index returns the index of the entry with sequence number seq, or of the
// first younger one if there is none.
func (s *store[M]) index(seq int) int {
	return sort.Search(s.len(), func(i int) bool { return cmpSeq(s.at(i).seq, seq) >= 0 })
}

// insert puts e in its place by sequence number.
func (s *store[M]) insert(e entry[M]) {
	i := s.index(e.seq)
	if s.head > 0 && i <= s.len()/2 {
		s.head--
		copy(s.buf[s.head:s.head+i], s.buf[s.head+1:s.head+1+i])
		s.buf[s.head+i] = e
		return
	}
	s.buf = append(s.buf, entry[M]{})
	j := s.head + i
	copy(s.buf[j+1:], s.buf[j:])
	s.buf[j] = e
}

// Stats reports the mailbox's receivers (see [Stats]): Value is Len;
// Holders are messages on their way to a receiver that has not received
// them yet; Grants counts messages handed to receivers.
func (b *Mailbox[M]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q.bind(&b.mu, b)
	b.q.sweep()
	s := Stats{Kind: "Mailbox", Value: b.msgs.len(), GrantsExact: true}
	s.named(b.q.st.tr)
	b.q.snapshot(&s, nanotime(), says("message"))
	return s
}
