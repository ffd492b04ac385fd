package debug

import (
	"testing"

	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// TestMain fails the run if a goroutine outlives the tests: a server, a
// browser's reader, or the detector of a primitive left tracked.
func TestMain(m *testing.M) { leakcheck.Main(m) }
