package selectx

import (
	"testing"

	"github.com/turnstile-go/turnstile/internal/leakcheck"
)

// TestMain fails the run if any goroutine started by the tests outlives
// them: First, All, Completed and Select must leave no goroutine behind once
// they return, and Process's and Readable's goroutines must end with what
// they wait for.
func TestMain(m *testing.M) { leakcheck.Main(m) }
