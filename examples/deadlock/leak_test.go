package main

import (
	"testing"

	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// TestMain fails the run if any goroutine the example started outlives its
// tests: the program must shut down everything it starts.
func TestMain(m *testing.M) { leakcheck.Main(m) }
