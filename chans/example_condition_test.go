package chans_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/turnstile-go/turnstile/chans"
)

// Notify wakes waiters in the order they called Wait; NotifyAll wakes the
// rest. A waiter is registered when Wait is called, so a notification sent
// right after cannot be missed.
func ExampleCondition() {
	var cond chans.Condition
	woken := make(chan int)
	for i := range 3 {
		w := cond.Wait(context.Background()) // registered here, in order
		go func() {
			<-w
			woken <- i
		}()
	}

	cond.Notify(1)
	fmt.Println("first:", <-woken)

	cond.NotifyAll()
	rest := []int{<-woken, <-woken}
	slices.Sort(rest)
	fmt.Println("rest:", rest)
	// Output:
	// first: 0
	// rest: [1 2]
}
