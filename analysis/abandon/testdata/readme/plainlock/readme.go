// Package plainlock is the README's first snippet (plain Go), verbatim.
package plainlock

import (
	"errors"
	"time"
)

var errTimeout = errors.New("timeout")

var mu = make(chan struct{}, 1)

func update(d time.Duration, f func()) error {
	select {
	case mu <- struct{}{}:
		defer func() { <-mu }()
		f()
		return nil
	case <-time.After(d):
		return errTimeout
	}
}
