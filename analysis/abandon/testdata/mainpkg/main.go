// Command mainpkg shows that returning from main.main ends the process, so
// a wait it abandons strands nothing anyone could still want.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

var l chans.Lock

func main() {
	select {
	case r := <-l.Acquire(context.Background()):
		defer r()
		fmt.Println("locked")
	case <-time.After(time.Second):
		fmt.Println("timed out")
		return
	}
}

// Any other function is checked.
func other() {
	select {
	case r := <-l.Acquire(context.Background()): // want `l.Acquire is abandoned`
		r()
	case <-time.After(time.Second):
	}
}
