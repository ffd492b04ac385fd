package selectx

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// readConn is the read side of a connection Readable waits on.
type readConn interface {
	syscall.Conn
	io.ReadCloser
	SetReadDeadline(time.Time) error
}

// connKinds are the kinds of connection every Readable test runs over: a
// pipe (an *os.File) and a loopback TCP connection (a *net.TCPConn).
var connKinds = []struct {
	name string
	make func(t *testing.T) (readConn, io.WriteCloser)
}{
	{"pipe", func(t *testing.T) (readConn, io.WriteCloser) { return pipe(t) }},
	{"tcp", tcpPair},
}

// forEachConn runs f as a subtest over each kind of connection, with a
// leak check: every goroutine the subtest started must have ended by the
// time its connections are closed.
func forEachConn(t *testing.T, f func(t *testing.T, r readConn, w io.WriteCloser)) {
	for _, k := range connKinds {
		t.Run(k.name, func(t *testing.T) {
			noLeak(t)
			r, w := k.make(t)
			f(t, r, w)
		})
	}
}

// tcpPair returns the two ends of a loopback TCP connection: the accepted
// one to read from, the dialled one to write to.
func tcpPair(t *testing.T) (readConn, io.WriteCloser) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r, err := ln.Accept()
	if err != nil {
		w.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r.(*net.TCPConn), w
}

// parkedInRead waits until a goroutine whose stack shows fn is blocked on
// the network poller ("IO wait"). Nothing else can tell that a Read has
// started to wait, so this polls the stacks, within a bound.
func parkedInRead(t *testing.T, fn string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		all := string(buf[:runtime.Stack(buf, true)])
		for g := range strings.SplitSeq(all, "\n\n") {
			if strings.Contains(g, "[IO wait") && strings.Contains(g, fn) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine in %s blocked on the poller after 10s", fn)
		}
		time.Sleep(time.Millisecond)
	}
}

// recvErr receives Readable's one value within the bound, then checks that
// the channel is closed.
func recvErr(t *testing.T, c <-chan error) error {
	t.Helper()
	err, ok := recvWithin(t, c)
	if !ok {
		t.Fatal("closed without a value")
	}
	if _, ok := recvWithin(t, c); ok {
		t.Fatal("a second value")
	}
	return err
}

// notYet checks that c has delivered nothing so far.
func notYet(t *testing.T, c <-chan error, what string) {
	t.Helper()
	select {
	case err := <-c:
		t.Fatalf("%s: delivered %v", what, err)
	default:
	}
}

func TestReadableWhenDataArrives(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		is := is.New(t)
		c := Readable(t.Context(), r)
		notYet(t, c, "before any write")
		_, err := w.Write([]byte("x"))
		is.NoErr(err)
		is.NoErr(recvErr(t, c))
		buf := make([]byte, 2)
		n, err := r.Read(buf) // nothing was consumed
		is.NoErr(err)
		is.Equal(string(buf[:n]), "x")
	})
}

// TestReadableWhenDataIsAlreadyThere: an edge-triggered poller only reports
// new data, so Readable must ask the kernel before it waits or it would
// wait forever.
func TestReadableWhenDataIsAlreadyThere(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		is := is.New(t)
		_, err := w.Write([]byte("x"))
		is.NoErr(err)
		for range 3 { // the first wait may have seen the data arrive; later ones cannot
			is.NoErr(recvErr(t, Readable(t.Context(), r)))
		}
	})
}

func TestReadableAtEOF(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		is := is.New(t)
		c := Readable(t.Context(), r)
		is.NoErr(w.Close())
		is.NoErr(recvErr(t, c))
	})
}

func TestReadableContextEnds(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		is := is.New(t)
		ctx, cancel := context.WithCancel(t.Context())
		c := Readable(ctx, r)
		cancel()
		is.Equal(recvErr(t, c), context.Canceled)

		_, err := w.Write([]byte("y"))
		is.NoErr(err)
		buf := make([]byte, 1)
		_, err = r.Read(buf) // reads work as before
		is.NoErr(err)

		is.Equal(recvErr(t, Readable(ctx, r)), context.Canceled) // done at the call
	})
}

// TestReadableSharedConnCancelOne is the defect 3(a): cancelling one
// Readable must not end another on the same conn, whose ctx is live. (Each
// used to wake itself with a read deadline in the past, and the deadline is
// the conn's: the other delivered "i/o timeout".)
func TestReadableSharedConnCancelOne(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		for range 200 {
			ctx1, cancel1 := context.WithCancel(t.Context())
			ctx2, cancel2 := context.WithCancel(t.Context())
			c1, c2 := Readable(ctx1, r), Readable(ctx2, r)
			cancel1()
			if err := recvErr(t, c1); err != context.Canceled {
				t.Fatalf("the cancelled Readable delivered %v", err)
			}
			notYet(t, c2, "the live Readable, after the other was cancelled")
			if _, err := w.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := recvErr(t, c2); err != nil {
				t.Fatalf("the live Readable delivered %v, want nil", err)
			}
			if _, err := r.Read(make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			cancel2()
		}
	})
}

// TestReadableLeavesABlockedReadAlone is defect 3(b): a Readable cancelled
// while a plain Read is blocked on the same conn must not fail that Read.
func TestReadableLeavesABlockedReadAlone(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		is := is.New(t)
		type result struct {
			s   string
			err error
		}
		read := make(chan result, 1)
		go func() {
			buf := make([]byte, 8)
			n, err := r.Read(buf)
			read <- result{string(buf[:n]), err}
		}()
		parkedInRead(t, "TestReadableLeavesABlockedReadAlone")

		ctx, cancel := context.WithCancel(t.Context())
		c := Readable(ctx, r)
		cancel()
		is.Equal(recvErr(t, c), context.Canceled)
		_, err := w.Write([]byte("data"))
		is.NoErr(err)
		got, _ := recvWithin(t, read)
		is.NoErr(got.err) // it used to fail with "i/o timeout"
		is.Equal(got.s, "data")
	})
}

// TestReadableManyUnderOneCtx is defect 3(c): several Readables on one conn
// under one ctx must all deliver ctx.Err() when it ends, and leave no
// goroutine. (When one reset the conn's deadline before a later one had
// woken, that one parked for good with the conn's read lock: the issue saw
// it hang 101 runs in 1000.) recvErr bounds every wait; noLeak checks the
// goroutines.
func TestReadableManyUnderOneCtx(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		for range 1000 {
			ctx, cancel := context.WithCancel(t.Context())
			cs := []<-chan error{Readable(ctx, r), Readable(ctx, r), Readable(ctx, r), Readable(ctx, r)}
			cancel()
			for i, c := range cs {
				if err := recvErr(t, c); err != context.Canceled {
					t.Fatalf("Readable %d delivered %v", i, err)
				}
			}
		}
	})
}

// TestReadableKeepsTheConnsDeadline: Readable neither obeys nor changes
// the conn's read deadline, which belongs to its Reads (it used to reset
// the deadline to none, and a past one failed it at once).
func TestReadableKeepsTheConnsDeadline(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		is := is.New(t)
		is.NoErr(r.SetReadDeadline(time.Unix(1, 0)))
		ctx, cancel := context.WithCancel(t.Context())
		c := Readable(ctx, r)
		_, err := w.Write([]byte("x"))
		is.NoErr(err)
		is.NoErr(recvErr(t, c))
		cancel()
		_, err = r.Read(make([]byte, 1))
		is.True(errors.Is(err, os.ErrDeadlineExceeded)) // the conn's own deadline still holds
	})
}

// TestReadableLetsTheConnClose: closing the conn while a Readable waits
// closes it for real (the peer sees end of file, a pipe's writer EPIPE);
// the wait ends with its ctx. A Readable that kept a duplicate descriptor
// of the conn would keep the socket open until then.
func TestReadableLetsTheConnClose(t *testing.T) {
	forEachConn(t, func(t *testing.T, r readConn, w io.WriteCloser) {
		is := is.New(t)
		ctx, cancel := context.WithCancel(t.Context())
		c := Readable(ctx, r)
		is.NoErr(r.Close())
		if tcp, ok := w.(*net.TCPConn); ok {
			done := make(chan error, 1)
			go func() {
				_, err := tcp.Read(make([]byte, 1))
				done <- err
			}()
			err, _ := recvWithin(t, done)
			is.Equal(err, io.EOF) // the peer saw the close
		} else {
			_, err := w.Write([]byte("x"))
			is.True(errors.Is(err, syscall.EPIPE)) // no reader left
		}
		cancel()
		err := recvErr(t, c)
		is.True(err == context.Canceled || errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed))
	})
}

// rawOnly is a conn with nothing but SyscallConn.
type rawOnly struct{ f *os.File }

func (c rawOnly) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }

// TestReadableAnyConnAnswersOnCancel: Readable needs nothing of a conn but
// SyscallConn, and its goroutine ends with ctx. (It used to need a
// SetReadDeadline method to stop early; without one the goroutine stayed,
// holding the read lock, until the conn became readable.)
func TestReadableAnyConnAnswersOnCancel(t *testing.T) {
	is := is.New(t)
	r, _ := pipe(t)
	before := leakcheck.Snapshot()
	ctx, cancel := context.WithCancel(t.Context())
	c := Readable(ctx, rawOnly{r})
	cancel()
	is.Equal(recvErr(t, c), context.Canceled)
	// Before the pipe is closed, which would end any wait.
	if leaked := leakcheck.Find(before, 5*time.Second); len(leaked) > 0 {
		t.Fatalf("the wait outlived its ctx:\n\n%s", strings.Join(leaked, "\n\n"))
	}
}

// TestReadableBeyondTheKernelsLimit: past the kernel's bound on waits on
// one file, Readable delivers an error at once; it never hangs, and the
// waits it did start end with their ctx.
func TestReadableBeyondTheKernelsLimit(t *testing.T) {
	noLeak(t)
	r, _ := pipe(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var waiting []<-chan error
	refused := 0
	for i := range 600 {
		c := Readable(ctx, r)
		select {
		case err := <-c:
			if err != errTooManyWaits {
				t.Fatalf("Readable %d delivered %v", i, err)
			}
			if i < 100 {
				t.Fatalf("Readable %d refused: the kernel allows about 500", i)
			}
			refused++
		default:
			waiting = append(waiting, c)
		}
	}
	t.Logf("%d waits, %d refused", len(waiting), refused)
	cancel()
	for _, c := range waiting {
		if err := recvErr(t, c); err != context.Canceled {
			t.Fatal(err)
		}
	}
}

// TestReadableBlockingFile: a descriptor in blocking mode (as Fd leaves
// it) is outside the runtime's poller, and rc.Read on it cannot wait;
// Readable's own epoll instance can.
func TestReadableBlockingFile(t *testing.T) {
	noLeak(t)
	is := is.New(t)
	r, w := pipe(t)
	_ = r.Fd() // puts r in blocking mode
	c := Readable(t.Context(), r)
	notYet(t, c, "before any write")
	_, err := w.Write([]byte("x"))
	is.NoErr(err)
	is.NoErr(recvErr(t, c))
	ctx, cancel := context.WithCancel(t.Context())
	_, err = r.Read(make([]byte, 1))
	is.NoErr(err)
	c = Readable(ctx, r)
	cancel()
	is.Equal(recvErr(t, c), context.Canceled)
}

func TestReadableRegularFile(t *testing.T) {
	is := is.New(t)
	f, err := os.Create(t.TempDir() + "/f")
	is.NoErr(err)
	defer f.Close()
	is.NoErr(recvErr(t, Readable(t.Context(), f))) // a read never blocks, even at EOF
}

func TestReadableInFirst(t *testing.T) {
	is := is.New(t)
	r1, _ := pipe(t)
	r2, w2 := pipe(t)
	readable := func(f *os.File) Op[error] {
		return func(ctx context.Context) <-chan error { return Readable(ctx, f) }
	}
	_, err := w2.Write([]byte("x"))
	is.NoErr(err)
	i, err, ferr := First(t.Context(), readable(r1), readable(r2))
	is.NoErr(ferr)
	is.NoErr(err)
	is.Equal(i, 1)
}

// BenchmarkReadable measures one wait on a pipe that is empty when the wait
// starts and is made readable by a write: Readable (its own epoll instance
// per wait, cancellable by ctx) beside rc.Read on the pipe itself, the wait
// Readable once made (no instance, but it holds the pipe's read lock and no
// ctx can end it). Both have found the pipe empty before the write.
func BenchmarkReadable(b *testing.B) {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rc, err := r.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1)
	round := func(wait <-chan error) {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := <-wait; err != nil {
			b.Fatal(err)
		}
		if _, err := r.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.Run("impl=selectx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			round(Readable(ctx, r)) // looks before it returns
		}
	})
	b.Run("impl=rawconn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			looked, done := make(chan struct{}), make(chan error, 1)
			go func() {
				first := true
				done <- rc.Read(func(fd uintptr) bool {
					ready, _ := pollReadable(fd)
					if first {
						first = false
						close(looked)
					}
					return ready
				})
			}()
			<-looked
			round(done)
		}
	})
}
