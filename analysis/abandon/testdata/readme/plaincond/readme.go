// Package plaincond is the README's third snippet (plain Go), verbatim.
package plaincond

import (
	"sync"
	"time"
)

var (
	mu    sync.Mutex
	cond  = sync.NewCond(&mu)
	ready bool
)

// waitReady waits until ready is set, giving up after d.
func waitReady(d time.Duration) bool {
	t := time.AfterFunc(d, cond.Broadcast) // Wait cannot time out: wake all
	defer t.Stop()
	deadline := time.Now().Add(d)
	mu.Lock()
	defer mu.Unlock()
	for !ready && time.Now().Before(deadline) {
		cond.Wait()
	}
	return ready
}
