package selectx

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// How Readable waits, and why this way.
//
// Readable must wait until c is readable without holding anything of c's,
// and stop when its own ctx ends without disturbing anyone else who uses c.
// The runtime parks a goroutine on a descriptor through that descriptor's
// poll state (its os.File or net.Conn), and the only ways to wake such a
// goroutine early are that state's read deadline and closing it. Both belong
// to every user of c. The tempting versions are therefore wrong:
//
//   - rc.Read on c itself, woken by c.SetReadDeadline(past), as Readable once
//     did: rc.Read holds c's read lock, so it queues behind a Read already
//     blocked on c; the past deadline then fails that Read ("i/o timeout"),
//     or another Readable with a live ctx, and when several Readables share
//     a ctx one resets the deadline before a later one has woken, which then
//     parks for good holding the read lock.
//   - dup(2) the descriptor and wait on the duplicate (os.NewFile joins it to
//     the poller with a poll state, and so a deadline, of its own): c is
//     never touched, but the duplicate keeps c's file open, so closing c no
//     longer closes the socket (the peer sees no end of file) or the pipe
//     (its writer gets no EPIPE) until the Readable ends.
//   - a blocking ppoll(2) on c's descriptor number in a goroutine: it ties up
//     a thread per wait, and once c is closed the number may name another
//     file. Holding it open with rc.Control instead would block c.Close.
//
// Readable instead gives each wait an epoll instance of its own (a watcher)
// and registers c's descriptor in it, inside rc.Control, where the number is
// sure to be c's. An epoll registration names the open file, not the number,
// and holds no reference to it: closing c closes the file as usual (the
// registration goes with it). Epoll instances can be polled themselves: one
// is readable while a file registered in it (level-triggered) is, so the
// watcher, made non-blocking and wrapped by os.NewFile, joins the runtime's
// poller with its own poll state. The goroutine waits on it with rc.Read,
// asking epoll_wait without blocking whether c is readable, and is woken
// early by a deadline on the watcher: its own, which nobody else waits on.
//
// The kernel bounds the wake-up paths to one file through nested epoll
// instances (500 at this depth: fs/eventpoll.c, path_limits); past that the
// runtime cannot add a watcher to its poller, and Readable reports it rather
// than wait.

// watcher is an epoll instance watching one conn's file for readability.
type watcher struct {
	f  *os.File // the epoll instance, in the runtime's poller
	rc syscall.RawConn
}

// watch returns nil and a nil error if the conn of rc is readable now, nil
// and the error if it cannot be waited on, or a watcher to wait with.
func watch(rc syscall.RawConn) (*watcher, error) {
	var (
		w   *watcher
		err error
	)
	cerr := rc.Control(func(fd uintptr) {
		// Ask first: most waits on a busy conn end here, at the cost of
		// one system call, and a regular file (always readable) cannot be
		// registered with epoll anyway.
		var ready bool
		if ready, err = pollReadable(fd); ready || err != nil {
			return
		}
		w, err = newWatcher(fd)
	})
	if cerr != nil {
		return nil, cerr
	}
	return w, err
}

// newWatcher makes a watcher for fd, which must stay c's until it returns.
func newWatcher(fd uintptr) (*watcher, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Level-triggered: the watcher is readable for as long as fd is, so a
	// readiness that came before the runtime polled the watcher is not lost.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		syscall.Close(ep)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	if err := syscall.SetNonblock(ep, true); err != nil {
		syscall.Close(ep)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(ep), "selectx.Readable")
	// NewFile adds a non-blocking descriptor to the poller, and says nothing
	// if the poller refuses it; a deadline can only be set if it did.
	if f.SetReadDeadline(time.Time{}) != nil {
		f.Close()
		return nil, errTooManyWaits
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &watcher{f: f, rc: rc}, nil
}

// wait blocks until the watched conn is readable (nil) or ctx ends
// (ctx.Err()), then closes w.
func (w *watcher) wait(ctx context.Context) error {
	defer w.f.Close()
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		_ = w.f.SetReadDeadline(longAgo) // the watcher's own deadline
	})
	var (
		evs     [1]syscall.EpollEvent
		pollErr error
	)
	err := w.rc.Read(func(ep uintptr) bool {
		// Ask the kernel rather than trust the wake-up: another reader
		// may have taken the data in between.
		for {
			n, err := syscall.EpollWait(int(ep), evs[:], 0)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				pollErr = os.NewSyscallError("epoll_wait", err)
			}
			return n > 0 || err != nil
		}
	})
	if err == nil {
		err = pollErr
	}
	if !stop() {
		<-interrupted // done with w.f before it is closed
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ctx.Err()
	}
	return err
}

// errTooManyWaits: the runtime's poller refused a watcher. The likely
// reason is the kernel's bound on wake-up paths (the poller only says that
// it refused: os.NewFile then makes a file that cannot wait).
var errTooManyWaits = errors.New("selectx: Readable: the runtime's poller takes no more waits on this conn (the kernel allows about 500 at a time)")

// longAgo is a deadline in the past: setting it wakes a blocked read at once.
var longAgo = time.Unix(1, 0)

// pollReadable asks the kernel, without waiting, whether a read on fd would
// not block. Hang-ups and errors count as readable: the read reports them.
func pollReadable(fd uintptr) (bool, error) {
	const (
		pollIn   = 0x1
		pollErr  = 0x8
		pollHup  = 0x10
		pollNval = 0x20
	)
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{fd: int32(fd), events: pollIn}
	var zero syscall.Timespec // do not wait
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_PPOLL,
			uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return false, errno
		}
		return n > 0 && pfd.revents&(pollIn|pollErr|pollHup|pollNval) != 0, nil
	}
}
