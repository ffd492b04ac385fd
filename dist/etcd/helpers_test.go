package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// newSession returns a session on cli, closed when the test ends.
func newSession(t testing.TB, cli *clientv3.Client, opts ...etcd.Option) *etcd.Session {
	t.Helper()
	s, err := etcd.NewSession(bounded(t, 10*time.Second), cli, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// sessions returns n sessions, each on its own client of addr, as n
// processes would have.
func sessions(t testing.TB, addr string, n int, opts ...etcd.Option) []*etcd.Session {
	t.Helper()
	ss := make([]*etcd.Session, n)
	for i := range ss {
		ss[i] = newSession(t, newClient(t, addr), opts...)
	}
	return ss
}
