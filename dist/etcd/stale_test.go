package etcd_test

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

// D5, the release of etcd-io/etcd#22082: a withdrawal retried after it had
// landed, once a newer grant of the same session holds, deletes nothing of
// the newer holder, even if it names the newer key (a same-named key is
// what made concurrency.Mutex's retry delete the newer lock; here names are
// unique, and the create-revision fence holds regardless).
func TestStaleWithdrawalDeletesNothingNewer(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	ss := sessions(t, addr, 2)
	ctx := bounded(t, 20*time.Second)
	l, other := etcd.NewLock(ss[0], "stale"), etcd.NewLock(ss[1], "stale")
	old, err := l.AcquireWait(ctx)
	is.NoErr(err)
	oldKey := etcd.Key(l, old.Token())
	is.True(oldKey != "")
	old.Release()
	is.NoErr(ss[0].Settle(ctx))
	newer, err := l.AcquireWait(ctx)
	is.NoErr(err)
	newKey := etcd.Key(l, newer.Token())
	is.True(newKey != oldKey) // one key per acquisition

	// The retried withdrawal of the old grant, and one naming the newer
	// key with the old revision: both land and change nothing.
	is.True(etcd.Withdraw(ss[0], l, oldKey, old.Token()))
	is.True(etcd.Withdraw(ss[0], l, newKey, old.Token()))
	resp, err := ss[0].Client().Get(ctx, newKey)
	is.NoErr(err)
	is.Equal(len(resp.Kvs), 1)
	is.Equal(resp.Kvs[0].CreateRevision, newer.Token())
	locked, err := other.Locked(ctx)
	is.NoErr(err)
	is.True(locked) // the newer holder still holds, as the others see it
	select {
	case <-newer.Lost():
		t.Fatal("the newer grant was lost")
	default:
	}
	newer.Release()
	g, err := other.AcquireWait(ctx)
	is.NoErr(err)
	is.True(g.Token() > newer.Token())
	g.Release()
}
