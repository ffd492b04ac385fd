// Package lock is the README's second snippet, verbatim.
package lock

import (
	"context"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

var mu chans.Lock

func update(d time.Duration, f func()) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	release, ok := <-mu.Acquire(ctx)
	if !ok {
		return ctx.Err() // context.DeadlineExceeded
	}
	defer release()
	f()
	return nil
}
