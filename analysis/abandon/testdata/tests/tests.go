// Package tests shows what is checked in _test.go files: everything in
// Example functions, only abandoned selects elsewhere.
package tests

import "github.com/turnstile-go/turnstile/chans"

// L is a lock the tests hold on purpose.
var L chans.Lock
