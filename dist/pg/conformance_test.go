package pg_test

import (
	"testing"

	"github.com/turnstile-go/turnstile/dist/disttest"
	"github.com/turnstile-go/turnstile/dist/pg"
)

func TestQueueConformance(t *testing.T) {
	c, _ := newClient(t)
	disttest.RunQueue(t, func(t *testing.T) disttest.Queue[*pg.Item[int]] {
		return newQueue(t, c)
	})
}
