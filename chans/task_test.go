package chans

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

func TestGoValue(t *testing.T) {
	is := is.New(t)
	r := Go(context.Background(), func(context.Context) (int, error) { return 123, nil })
	v, ok := <-r.Get(context.Background())
	is.True(ok)
	is.Equal(v, 123)
	v, err := r.TryGet()
	is.NoErr(err)
	is.Equal(v, 123)
}

func TestGoError(t *testing.T) {
	is := is.New(t)
	boom := errors.New("boom")
	r := Go(context.Background(), func(context.Context) (int, error) { return 7, boom })
	<-r.Done()
	_, ok := <-r.Get(context.Background())
	is.True(!ok) // a failure has no value
	_, err := r.TryGet()
	is.Equal(err, boom) // the error itself, not wrapped
}

func TestGoPanic(t *testing.T) {
	is := is.New(t)
	r := Go(context.Background(), func(context.Context) (string, error) {
		var m map[string]int
		//lint:ignore SA5000 the nil map is the point: a runtime panic deep in the task
		m["x"]++
		return "unreachable", nil
	})
	<-r.Done()
	_, err := r.TryGet()
	var pe *PanicError
	is.True(errors.As(err, &pe))
	var re runtime.Error
	is.True(errors.As(err, &re)) // the panic value is an error: Unwrap finds it
	is.True(strings.Contains(pe.Error(), "assignment to entry in nil map"))
	// The stack points at the panic, not just at the recover.
	is.True(strings.Contains(string(pe.Stack), "TestGoPanic.func1"))
	is.True(strings.HasPrefix(err.Error(), "chans: task panicked: "))
}

func TestGoPanicValue(t *testing.T) {
	is := is.New(t)
	r := Go(context.Background(), func(context.Context) (int, error) { panic("at the disco") })
	<-r.Done()
	_, err := r.TryGet()
	var pe *PanicError
	is.True(errors.As(err, &pe))
	is.Equal(pe.Value, "at the disco")
	is.Equal(pe.Unwrap(), nil) // not an error: nothing to unwrap
}

func TestGoPanicWrappedError(t *testing.T) {
	is := is.New(t)
	r := Go(context.Background(), func(context.Context) (int, error) { panic(io.ErrUnexpectedEOF) })
	<-r.Done()
	_, err := r.TryGet()
	is.True(errors.Is(err, io.ErrUnexpectedEOF))
}

func TestGoPanicNil(t *testing.T) {
	is := is.New(t)
	r := Go(context.Background(), func(context.Context) (int, error) { panic(nil) })
	<-r.Done()
	_, err := r.TryGet()
	var pn *runtime.PanicNilError
	is.True(errors.As(err, &pn)) // still a failure, not mistaken for Goexit
}

func TestGoGoexit(t *testing.T) {
	is := is.New(t)
	r := Go(context.Background(), func(context.Context) (int, error) {
		runtime.Goexit()
		return 1, nil
	})
	<-r.Done()
	_, err := r.TryGet()
	is.Equal(err, ErrGoexit)
}

func TestGoPassesCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		r := Go(ctx, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		synctest.Wait() // the task is blocked on its ctx
		is.True(!r.Ready())
		cancel()
		<-r.Done()
		_, err := r.TryGet()
		is.Equal(err, context.Canceled)
	})
}

func TestGoNilPanics(t *testing.T) {
	is := is.New(t)
	defer func() {
		p := recover()
		s, _ := p.(string)
		is.True(strings.HasPrefix(s, "chans: "))
	}()
	Go[int](context.Background(), nil)
}
