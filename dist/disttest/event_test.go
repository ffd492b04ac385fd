package disttest_test

import (
	"testing"

	"github.com/turnstile-go/turnstile/dist/disttest"
)

func TestEvents(t *testing.T) {
	disttest.Events(t, func(t *testing.T, n int) []disttest.Event {
		p := new(memPrim)
		evs := make([]disttest.Event, n)
		for i := range evs {
			evs[i] = memEvent{p}
		}
		return evs
	})
}
