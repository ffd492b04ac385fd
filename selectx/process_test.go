package selectx

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/matryer/is"
)

// TestHelperProcess is the child process of the Process tests, run by
// re-executing the test binary: it exits with status 3, or first waits for
// its stdin to close.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv("SELECTX_HELPER") {
	case "exit3":
		os.Exit(3)
	case "wait-stdin":
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
}

func helper(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	// The race detector waits a second before a child exits with status 0.
	cmd.Env = append(os.Environ(), "SELECTX_HELPER="+mode, "GORACE=atexit_sleep_ms=0")
	return cmd
}

func TestProcessDeliversWaitResult(t *testing.T) {
	is := is.New(t)
	cmd := helper(t, "exit3")
	is.NoErr(cmd.Start())
	c := Process(cmd)
	err, ok := recvWithin(t, c)
	is.True(ok)
	var exit *exec.ExitError
	is.True(errors.As(err, &exit))
	is.Equal(exit.ExitCode(), 3)
	_, ok = <-c
	is.True(!ok) // one value, then closed
}

func TestProcessInFirst(t *testing.T) {
	is := is.New(t)
	cmd := helper(t, "wait-stdin")
	stdin, err := cmd.StdinPipe()
	is.NoErr(err)
	is.NoErr(cmd.Start())
	exited := Process(cmd)

	// The process outlives a cancelled wait...
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	i, _, err := First(ctx, Chan(exited))
	is.Equal(i, -1)
	is.Equal(err, context.Canceled)

	// ...and its result is still there for a later one.
	is.NoErr(stdin.Close())
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second) // only a safety net
	defer cancel()
	never := make(chan error)
	i, err, ferr := First(ctx, Chan((<-chan error)(never)), Chan(exited))
	is.NoErr(ferr)
	is.Equal(i, 1)
	is.NoErr(err) // exit status 0
}

func TestProcessPanicsIfNotStarted(t *testing.T) {
	mustPanic(t, "selectx: Process needs a started command", func() { Process(helper(t, "exit3")) })
	mustPanic(t, "selectx: Process needs a started command", func() { Process(nil) })
}
