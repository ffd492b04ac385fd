package tests

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A test holds the lock and queues a waiter on purpose: not reported.
func TestHold(t *testing.T) {
	<-L.Acquire(context.Background())
	L.Acquire(t.Context())
	r, _ := L.TryAcquire()
	if r != nil {
		return
	}
	r()
}

// An abandoned select is reported in a test as anywhere.
func TestSelect(t *testing.T) {
	select {
	case r := <-L.Acquire(context.Background()): // want `L.Acquire is abandoned`
		r()
	case <-time.After(time.Millisecond):
	}
}

// An Example is documentation: checked in full.
func ExampleLock() {
	<-L.Acquire(context.Background()) // want `the Release from L.Acquire is dropped`
	func() {
		_, ok := L.TryAcquire() // want `the Release from L.TryAcquire is dropped`
		fmt.Println(ok)
	}()
}
