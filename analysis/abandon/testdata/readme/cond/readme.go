// Package cond is the README's fourth snippet, verbatim.
package cond

import (
	"context"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

var notify chans.Condition

// waitNotified waits for a Notify, giving up after d.
func waitNotified(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, ok := <-notify.Wait(ctx)
	return ok
}
