package selectx

import (
	"context"
	"syscall"
)

// Readable returns a channel that delivers nil once c is readable, that is,
// once a read would not block (data, end of file or an error is waiting),
// without reading anything (kiwi's WaitForIO). If ctx ends first it delivers
// ctx.Err(), and if c cannot be waited on, the error that says why.
//
// The channel is buffered (capacity 1), delivers exactly one value, then is
// closed. A receive after ctx ended yields ctx.Err(), or nil if c became
// readable first. Readiness is not a grant: nothing is taken back when the
// caller does not receive, a caller that never receives leaks nothing but the
// channel, and another reader may consume the data before this caller reads
// (if one does so before Readable looks, Readable waits on for more).
//
// Each Readable answers for its own ctx only and touches nothing of c's: not
// its read lock (a Read blocked on c, and other Readables on c, wait on
// undisturbed, each ended by its own ctx) and not its read deadline (c's
// deadline neither ends a Readable nor is changed by one: give ctx a
// deadline instead). Closing c does not end the wait either, and Readable
// does not keep c open: the close goes through as if nobody waited (a peer
// sees end of file), and the wait goes on until ctx ends.
//
// Cost: if c is readable at the call, or ctx is done, the channel is ready at
// once and nothing is started (one system call). Otherwise one goroutine and
// one file descriptor (an epoll instance) wait, in the runtime's network
// poller (no thread is blocked), until c is readable or ctx ends; then both
// are gone. Setting the instance up and tearing it down takes a handful of
// system calls, a few times the cost of a bare wait in c.SyscallConn().Read
// (BenchmarkReadable). The kernel lets about 500 Readables wait on one c at
// a time; beyond that Readable delivers an error at once.
//
// Readable is implemented on Linux; elsewhere it delivers an error wrapping
// errors.ErrUnsupported. It panics if c or ctx is nil.
func Readable(ctx context.Context, c syscall.Conn) <-chan error {
	if c == nil {
		panic("selectx: Readable of a nil conn")
	}
	checkCtx("Readable", ctx)
	ch := make(chan error, 1)
	deliver := func(err error) {
		ch <- err
		close(ch)
	}
	if err := ctx.Err(); err != nil {
		deliver(err)
		return ch
	}
	rc, err := c.SyscallConn()
	if err != nil {
		deliver(err)
		return ch
	}
	w, err := watch(rc)
	if w == nil { // readable now, or an error
		deliver(err)
		return ch
	}
	go func() { deliver(w.wait(ctx)) }()
	return ch
}
