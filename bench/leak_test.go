package main

import (
	"testing"

	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// TestMain fails the run if any goroutine the tests started outlives them:
// the harness and the linearizability histories must end everything they
// start.
func TestMain(m *testing.M) { leakcheck.Main(m) }
