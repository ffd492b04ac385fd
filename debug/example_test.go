//go:build unix

package debug_test

import (
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/debug"
)

var ordersLock chans.Lock

// Mount the page beside net/http/pprof's, on a server only you can reach.
func ExampleHandler() {
	chans.Track(&ordersLock, "orders-lock") // or chans.TrackAll(true), or TURNSTILE_TRACK=1
	http.Handle("/debug/turnstile/", debug.Handler())
}

// Dump who holds what on a signal, as the runtime dumps goroutines on
// SIGQUIT.
func ExampleWriteText() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for range sig {
			debug.WriteText(os.Stderr)
		}
	}()
}
