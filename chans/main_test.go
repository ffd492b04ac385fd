package chans

import (
	"testing"

	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// TestMain fails the run if any goroutine started by the tests outlives
// them. The primitives start none of their own (W7), so a leftover goroutine
// is a test's, or a context.AfterFunc callback stuck on a primitive's mutex:
// either is a bug.
func TestMain(m *testing.M) { leakcheck.Main(m) }
