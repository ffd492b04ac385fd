package dist_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
)

func TestGrantReleaseOnce(t *testing.T) {
	is := is.New(t)
	calls := 0
	g, lose := dist.NewGrant(7, func() { calls++ })
	is.Equal(g.Token(), int64(7))
	is.True(!g.Released())
	g.Release()
	is.Equal(calls, 1)
	is.True(g.Released())
	lose() // after Release: harmless
	defer func() {
		p := recover()
		is.True(p != nil)
		is.True(strings.HasPrefix(p.(string), "dist: "))
		is.Equal(calls, 1) // the second call released nothing
	}()
	g.Release()
}

func TestGrantLost(t *testing.T) {
	is := is.New(t)
	g, lose := dist.NewGrant(1, func() {})
	select {
	case <-g.Lost():
		t.Fatal("Lost closed before lose")
	default:
	}
	lose()
	lose()
	_, ok := <-g.Lost()
	is.True(!ok)
	g.Release() // releasing a lost grant is allowed
}

func TestNewGrantNilRelease(t *testing.T) {
	is := is.New(t)
	defer func() { is.True(recover() != nil) }()
	dist.NewGrant(1, nil)
}
