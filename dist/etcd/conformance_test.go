package etcd_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist/disttest"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

// The conformance suite of package disttest, against one embedded server:
// each factory call makes a fresh name and n sessions, each on its own
// client, as n processes would have.
func TestConformance(t *testing.T) {
	addr := startEtcd(t)
	var names atomic.Int64
	name := func() string { return fmt.Sprintf("conformance/%d", names.Add(1)) }
	opts := []etcd.Option{etcd.WithTTL(5 * time.Second)}
	t.Run("Lock", func(t *testing.T) {
		disttest.Lock(t, func(t *testing.T, n int) []disttest.Locker {
			name := name()
			ls := make([]disttest.Locker, n)
			for i, s := range sessions(t, addr, n, opts...) {
				ls[i] = etcd.NewLock(s, name)
			}
			return ls
		})
	})
	t.Run("RWLock", func(t *testing.T) {
		disttest.RWLock(t, func(t *testing.T, maxReaders, n int) []disttest.RWLocker {
			name := name()
			rws := make([]disttest.RWLocker, n)
			for i, s := range sessions(t, addr, n, opts...) {
				rws[i] = etcd.NewRWLock(s, name, maxReaders)
				rw := rws[i]
				t.Cleanup(func() {
					if t.Failed() {
						t.Log(etcd.Dump(rw))
					}
				})
			}
			return rws
		})
	})
	t.Run("Semaphore", func(t *testing.T) {
		disttest.Semaphore(t, func(t *testing.T, limit, n int) []disttest.Weighted {
			name := name()
			ss := make([]disttest.Weighted, n)
			for i, s := range sessions(t, addr, n, opts...) {
				ss[i] = etcd.NewSemaphore(s, name, limit)
				sem := ss[i]
				t.Cleanup(func() {
					if t.Failed() {
						t.Log(etcd.Dump(sem))
					}
				})
			}
			return ss
		})
	})
	t.Run("Event", func(t *testing.T) {
		disttest.Events(t, func(t *testing.T, n int) []disttest.Event {
			name := name()
			evs := make([]disttest.Event, n)
			for i, s := range sessions(t, addr, n, opts...) {
				evs[i] = etcd.NewEvent(s, name)
			}
			return evs
		})
	})
}
