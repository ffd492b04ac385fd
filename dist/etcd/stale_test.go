package etcd_test

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

// D5, the release of etcd-io/etcd#22082: a withdrawal retried after it had
// landed, once a newer grant of the same session holds the same key name
// (a session reuses its settled names, as concurrency.Mutex does), deletes
// nothing of the newer holder: the delete is fenced on the create revision
// of the incarnation it was made for.
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
	is.Equal(newKey, oldKey) // the session reuses the settled name

	// The retried withdrawal of the old grant lands and changes nothing.
	is.True(etcd.Withdraw(ss[0], l, oldKey, old.Token()))
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
