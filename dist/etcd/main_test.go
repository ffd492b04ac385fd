package etcd_test

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs a child's role when the test binary was started as a child
// process (see child), and otherwise runs the tests and then fails the run
// if any goroutine outlived them: the sessions' goroutines, the watches'
// and the embedded servers' must all be gone once their tests closed them.
func TestMain(m *testing.M) {
	if role, arg, ok := strings.Cut(os.Getenv(childEnv), " "); ok {
		os.Exit(runChild(role, arg))
	}
	goleak.VerifyTestMain(m)
}

// runChild plays a child process's role.
func runChild(role, arg string) int {
	switch role {
	case "serve":
		return serveChild(arg)
	case "hold":
		return holdChild(arg)
	}
	return 2
}
