package linearize

import (
	"testing"

	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// TestMain fails the run if any goroutine a history started outlives the
// tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }
