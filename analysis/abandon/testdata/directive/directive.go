// Package directive shows //abandon:ok silencing a report.
package directive

import (
	"context"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

var l chans.Lock

func silenced() {
	//abandon:ok the lock is held until the process exits, by design
	<-l.Acquire(context.Background())
	<-l.Acquire(context.Background()) //abandon:ok same line
	select {
	case r := <-l.Acquire(context.Background()): //abandon:ok the program exits right after
		r()
	case <-time.After(time.Second):
	}
}

func noReason() {
	<-l.Acquire(context.Background()) //abandon:ok // want `//abandon:ok needs a reason` `the Release from l.Acquire is dropped`
}
