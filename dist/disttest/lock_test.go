package disttest_test

import (
	"testing"

	"github.com/turnstile-go/turnstile/dist/disttest"
)

func TestLock(t *testing.T) {
	disttest.Lock(t, func(t *testing.T, n int) []disttest.Locker {
		p := new(memPrim)
		ls := make([]disttest.Locker, n)
		for i := range ls {
			ls[i] = memLock{p}
		}
		return ls
	})
}

func TestRWLock(t *testing.T) {
	disttest.RWLock(t, func(t *testing.T, maxReaders, n int) []disttest.RWLocker {
		p := new(memPrim)
		rws := make([]disttest.RWLocker, n)
		for i := range rws {
			rws[i] = memRW{p, maxReaders}
		}
		return rws
	})
}
