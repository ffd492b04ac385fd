package selectx

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
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
// channel, and another reader may consume the data before this caller reads.
//
// Readable waits through c.SyscallConn() and the runtime's network poller, in
// a goroutine of its own, because readiness can only be waited for by
// blocking. The goroutine ends when c becomes readable, is closed, or ctx
// ends. While it waits it holds c's read lock, so Read calls on c wait behind
// it.
//
// To stop early when ctx ends, Readable needs c to have a SetReadDeadline
// method (os.File for pipes, net.Conn): it sets a deadline in the past, which
// wakes the wait, then resets the deadline to none before delivering
// ctx.Err(). That replaces any read deadline the caller had set. For other
// conns, or files that refuse deadlines, the channel still delivers ctx.Err()
// as soon as ctx ends, but the goroutine and the read lock stay until c
// becomes readable or is closed.
//
// Readable is implemented on Linux; elsewhere it delivers an error wrapping
// errors.ErrUnsupported. It panics if c is nil.
func Readable(ctx context.Context, c syscall.Conn) <-chan error {
	if c == nil {
		panic("selectx: Readable of a nil conn")
	}
	ch := make(chan error, 1)
	var once sync.Once
	deliver := func(err error) {
		once.Do(func() {
			ch <- err
			close(ch)
		})
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

	d, _ := c.(interface{ SetReadDeadline(time.Time) error })
	interrupted := false
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		if d != nil && d.SetReadDeadline(longAgo) == nil {
			interrupted = true // the goroutine answers once it has reset the deadline
			return
		}
		deliver(ctx.Err())
	})
	go func() {
		var pollErr error
		err := rc.Read(func(fd uintptr) bool {
			// Ask the kernel rather than count calls: a wait would miss
			// data that arrived before it started.
			ready, err := pollReadable(fd)
			pollErr = err
			return ready || err != nil
		})
		if err == nil {
			err = pollErr
		}
		if !stop() {
			<-fired
			if interrupted {
				_ = d.SetReadDeadline(time.Time{})
				if errors.Is(err, os.ErrDeadlineExceeded) {
					err = ctx.Err()
				}
			}
		}
		deliver(err)
	}()
	return ch
}

// longAgo is a deadline in the past: setting it wakes a blocked read at once.
var longAgo = time.Unix(1, 0)
