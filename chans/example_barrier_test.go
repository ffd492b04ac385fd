package chans_test

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/turnstile-go/turnstile/chans"
)

// Three workers meet at a barrier between two phases: none starts the second
// phase before all have finished the first. Each gets its arrival index in
// the round.
func ExampleBarrier() {
	b := chans.NewBarrier(3)
	ctx := context.Background()
	var mu sync.Mutex
	var indexes []int
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			// phase one ...
			i, ok := <-b.Wait(ctx)
			if !ok {
				return // ctx ended, or the barrier was aborted
			}
			mu.Lock()
			indexes = append(indexes, i)
			mu.Unlock()
			// phase two ...
		})
	}
	wg.Wait()
	sort.Ints(indexes)
	fmt.Println(indexes, b.Broken())
	// Output: [0 1 2] false
}
