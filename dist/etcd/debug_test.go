package etcd_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist/etcd"
)

func TestDebugSem(t *testing.T) {
	addr := startEtcd(t)
	ss := sessions(t, addr, 3)
	var sems []*etcd.Semaphore
	for _, s := range ss {
		sems = append(sems, etcd.NewSemaphore(s, "dbg", 4))
	}
	var wg sync.WaitGroup
	for s := range sems {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 15 {
					n := 1 + rand.IntN(4)
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(30))*time.Millisecond)
					g, ok := <-sems[s].AcquireN(ctx, n)
					cancel()
					if ok {
						g.Release()
					}
				}
			}()
		}
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := sems[0].AcquireNWait(ctx, 4); err != nil {
		for _, s := range sems {
			t.Log(etcd.Dump(s))
		}
		t.Fatal(err)
	}
}
