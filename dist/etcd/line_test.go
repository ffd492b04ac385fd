package etcd

import (
	"github.com/turnstile-go/turnstile/dist"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A line with a session that is never connected: enough for the mirror's
// bookkeeping, which these tests drive by hand.
func testLine() *line {
	s := &Session{lines: map[string]*line{}, wake: make(chan struct{}, 1), progress: make(chan struct{})}
	l := newLine(s, "t")
	l.watching = true
	return l
}

func kv(key string, rev int64, c claim) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: []byte(key), CreateRevision: rev, ModRevision: rev, Value: []byte(c.encode())}
}

func put(key string, rev int64, c claim) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.PUT, Kv: kv(key, rev, c)}
}

func del(key string, rev int64) *clientv3.Event {
	return &clientv3.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: []byte(key), ModRevision: rev}}
}

// The dangerous moment of key-name reuse: a waiter reuses a name whose last
// incarnation (create revision 10) was deleted, while the mirror is built
// from another acquire's older snapshot that still shows that incarnation,
// at the head of the line. The waiter must not be granted on the strength
// of its name's old place; the old incarnation's delete must not end it;
// it is granted when what was really ahead of it goes.
func TestReusedNameIsNotItsLastIncarnation(t *testing.T) {
	l := testLine()
	const k, other = "t/~/a.1", "t/~/b.1"
	e := &entry{l: l, key: k, rev: 20, after: 10, state: waiting, ch: make(chan *dist.Grant, 1)}
	l.mine[k] = e
	l.waiting = 1
	l.reset(l.gen, []*mvccpb.KeyValue{kv(k, 10, exclusive), kv(other, 15, exclusive)}, 16)
	if e.state != waiting {
		t.Fatal("granted on its name's last incarnation")
	}
	l.apply(l.gen, []*clientv3.Event{del(k, 17)}, 17)
	if e.state != waiting {
		t.Fatalf("the last incarnation's delete ended the new waiter (state %d)", e.state)
	}
	l.apply(l.gen, []*clientv3.Event{put(k, 20, exclusive)}, 20)
	if e.state != waiting {
		t.Fatal("granted behind a holder")
	}
	l.apply(l.gen, []*clientv3.Event{del(other, 21)}, 21)
	if e.state != granted {
		t.Fatalf("not granted once the line ahead went (state %d)", e.state)
	}
	if g := <-e.ch; g.Token() != 20 {
		t.Fatalf("token %d, want the new incarnation's create revision 20", g.Token())
	}
}

// An entry whose put has not been answered owns the incarnations after its
// name's last one: its own key vanishing ends it, an older one's does not.
func TestCreatingEntryOwnsOnlyNewerIncarnations(t *testing.T) {
	l := testLine()
	const k = "t/~/a.1"
	e := &entry{l: l, key: k, after: 10, state: creating}
	l.mine[k] = e
	l.reset(l.gen, []*mvccpb.KeyValue{kv(k, 10, exclusive)}, 11)
	l.apply(l.gen, []*clientv3.Event{del(k, 12)}, 12)
	if e.early {
		t.Fatal("the last incarnation's delete counted as the new key's")
	}
	l.apply(l.gen, []*clientv3.Event{put(k, 13, exclusive), del(k, 14)}, 14)
	if !e.early {
		t.Fatal("the new key vanished unnoticed")
	}
}
