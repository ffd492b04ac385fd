package chans_test

import (
	"context"
	"fmt"

	"github.com/turnstile-go/turnstile/chans"
)

// Emit reaches everyone waiting at that moment (kiwi's WaitForSignal).
// Nobody waiting means nobody hears it: the value is not stored.
func ExampleSignal() {
	var clicked chans.Signal[string]
	ctx := context.Background()

	clicked.Emit("too early") // no waiter: dropped

	a := clicked.Next(ctx) // registered at the call
	b := clicked.Next(ctx)
	clicked.Emit("ok button")
	fmt.Println(<-a)
	fmt.Println(<-b)
	// Output:
	// ok button
	// ok button
}
