// Package linearize holds no code, only tests: porcupine checks that
// turnstile's Semaphore and Queue (FIFO, LIFO and priority) are
// linearizable under random cancellation. Concurrent clients run their
// operations with call and return stamped from one logical clock, and
// porcupine searches for a sequential order, consistent with real time, in
// which a plain model gives the same answers (see linearize_test.go and
// TESTING.md).
//
// It is a module of its own so that porcupine never reaches users of the
// root module, nor the bench module's comparison dependencies. Run it with
//
//	cd linearize && go test -race -v .
//
// -short scales the histories down.
package linearize
