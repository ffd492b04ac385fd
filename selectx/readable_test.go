package selectx

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/matryer/is"
)

func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}

func TestReadableWhenDataArrives(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	c := Readable(t.Context(), r)
	select {
	case err := <-c:
		t.Fatalf("readable before any write: %v", err)
	default:
	}
	_, err := w.Write([]byte("x"))
	is.NoErr(err)
	err, ok := recvWithin(t, c)
	is.True(ok)
	is.NoErr(err)
	_, ok = <-c
	is.True(!ok)
	buf := make([]byte, 2)
	n, err := r.Read(buf) // nothing was consumed
	is.NoErr(err)
	is.Equal(string(buf[:n]), "x")
}

// TestReadableWhenDataIsAlreadyThere: the poller only reports new data, so
// Readable must ask the kernel before it waits or it would wait forever.
func TestReadableWhenDataIsAlreadyThere(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	_, err := w.Write([]byte("x"))
	is.NoErr(err)
	for range 3 { // the first wait may have seen the data arrive; later ones cannot
		err, _ := recvWithin(t, Readable(t.Context(), r))
		is.NoErr(err)
	}
}

func TestReadableAtEOF(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	c := Readable(t.Context(), r)
	is.NoErr(w.Close())
	err, _ := recvWithin(t, c)
	is.NoErr(err)
}

func TestReadableContextEnds(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	ctx, cancel := context.WithCancel(t.Context())
	c := Readable(ctx, r)
	cancel()
	err, _ := recvWithin(t, c)
	is.Equal(err, context.Canceled)

	// The deadline used to interrupt the wait is gone: reads work again.
	_, err = w.Write([]byte("y"))
	is.NoErr(err)
	buf := make([]byte, 1)
	_, err = r.Read(buf)
	is.NoErr(err)

	err, _ = recvWithin(t, Readable(ctx, r)) // done at the call
	is.Equal(err, context.Canceled)
}

// rawOnly is a conn without SetReadDeadline.
type rawOnly struct{ f *os.File }

func (c rawOnly) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }

func TestReadableWithoutDeadlineStillAnswersOnCancel(t *testing.T) {
	is := is.New(t)
	r, w := pipe(t)
	ctx, cancel := context.WithCancel(t.Context())
	c := Readable(ctx, rawOnly{r})
	cancel()
	err, _ := recvWithin(t, c)
	is.Equal(err, context.Canceled)
	// The goroutine still waits for the pipe; a write lets it finish, and
	// the read lock it held is released.
	_, err = w.Write([]byte("z"))
	is.NoErr(err)
	buf := make([]byte, 1)
	_, err = r.Read(buf)
	is.NoErr(err)
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

func TestReadablePanicsOnNil(t *testing.T) {
	mustPanic(t, "selectx: Readable of a nil conn", func() { Readable(t.Context(), nil) })
}
