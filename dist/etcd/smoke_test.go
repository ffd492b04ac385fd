package etcd_test

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

func TestSmoke(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	ss := sessions(t, addr, 2)
	ctx := bounded(t, 20*time.Second)
	a, b := etcd.NewLock(ss[0], "smoke"), etcd.NewLock(ss[1], "smoke")
	g1, err := a.AcquireWait(ctx)
	is.NoErr(err)
	ch := b.Acquire(ctx)
	select {
	case <-ch:
		t.Fatal("granted twice")
	case <-time.After(100 * time.Millisecond):
	}
	g1.Release()
	g2, ok := <-ch
	is.True(ok)
	is.True(g2.Token() > g1.Token())
	g2.Release()
}
