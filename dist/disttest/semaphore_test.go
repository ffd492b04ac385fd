package disttest_test

import (
	"testing"

	"github.com/turnstile-go/turnstile/dist/disttest"
)

func TestSemaphore(t *testing.T) {
	disttest.Semaphore(t, func(t *testing.T, limit, n int) []disttest.Weighted {
		p := new(memPrim)
		ss := make([]disttest.Weighted, n)
		for i := range ss {
			ss[i] = memSem{p, limit}
		}
		return ss
	})
}
