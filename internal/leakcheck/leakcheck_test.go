package leakcheck

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// The helper checks itself, too.
func TestMain(m *testing.M) {
	if os.Getenv("LEAKCHECK_CHILD") != "" {
		Grace = 200 * time.Millisecond
	}
	Main(m)
}

// parkedLeaker blocks until release is closed; its name is what the reports
// must show.
func parkedLeaker(release <-chan struct{}, done chan<- struct{}) {
	<-release
	close(done)
}

func TestFindReportsLeakedGoroutine(t *testing.T) {
	is := is.New(t)
	before := Snapshot()
	release, done := make(chan struct{}), make(chan struct{})
	go parkedLeaker(release, done)

	leaked := Find(before, 50*time.Millisecond)
	is.Equal(len(leaked), 1)                                    // the parked goroutine is found
	is.True(strings.Contains(leaked[0], "parkedLeaker"))        // and named by its stack
	is.True(strings.Contains(leaked[0], "TestFindReportsLeak")) // with its creator

	close(release)
	<-done
	is.Equal(len(Find(before, Grace)), 0) // gone once it returns
}

func TestFindWaitsForFinishingGoroutines(t *testing.T) {
	is := is.New(t)
	before := Snapshot()
	release, done := make(chan struct{}), make(chan struct{})
	go parkedLeaker(release, done)
	// Released a little after Find starts looking: Find must retry rather
	// than report it.
	time.AfterFunc(30*time.Millisecond, func() { close(release) })
	is.Equal(len(Find(before, Grace)), 0)
	<-done
}

func TestFindIgnoresEarlierGoroutines(t *testing.T) {
	is := is.New(t)
	release, done := make(chan struct{}), make(chan struct{})
	go parkedLeaker(release, done)
	before := Snapshot() // taken after the goroutine started
	is.Equal(len(Find(before, 10*time.Millisecond)), 0)
	close(release)
	<-done
}

func TestGoid(t *testing.T) {
	is := is.New(t)
	id, ok := goid("goroutine 17 [chan receive]:\nmain.f()")
	is.True(ok)
	is.Equal(id, 17)
	_, ok = goid("not a stack")
	is.True(!ok)
}

func TestIgnoredRuntimeOnly(t *testing.T) {
	is := is.New(t)
	is.True(ignored("goroutine 2 [force gc (idle)]:\nruntime.gopark(0x0)\n\t/go/src/runtime/proc.go:435\ncreated by runtime.init.7 in goroutine 1\n\t/go/src/runtime/proc.go:336"))
	is.True(!ignored("goroutine 9 [chan receive]:\nexample.com/p.worker()\n\t/p/p.go:3\ncreated by example.com/p.TestX in goroutine 8\n\t/p/p_test.go:9"))
}

// TestChildLeaks and TestChildClean run only in a child process started by
// TestMainFailsRunOnLeak: one leaks a goroutine for good, one does not.
func TestChildLeaks(t *testing.T) {
	if os.Getenv("LEAKCHECK_CHILD") != "leak" {
		t.Skip("runs only as a child of TestMainFailsRunOnLeak")
	}
	go parkedLeaker(make(chan struct{}), make(chan struct{}))
}

func TestChildClean(t *testing.T) {
	if os.Getenv("LEAKCHECK_CHILD") != "clean" {
		t.Skip("runs only as a child of TestMainFailsRunOnLeak")
	}
	done := make(chan struct{})
	go parkedLeaker(closedChan(), done)
	<-done
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// TestMainFailsRunOnLeak runs this test binary again with a test that leaks
// and checks that Main turns a passing run into a failing one, and that a
// run without a leak still passes.
func TestMainFailsRunOnLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	is := is.New(t)
	run := func(mode, test string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
		cmd.Env = append(os.Environ(), "LEAKCHECK_CHILD="+mode)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("leak", "TestChildLeaks")
	var exit *exec.ExitError
	is.True(errors.As(err, &exit)) // the leak fails the run
	is.Equal(exit.ExitCode(), 1)
	is.True(strings.Contains(out, "--- PASS: TestChildLeaks"))          // the test itself passed
	is.True(strings.Contains(out, "1 goroutine(s) outlived the tests")) // the check failed it
	is.True(strings.Contains(out, "parkedLeaker"))                      // and said which

	out, err = run("clean", "TestChildClean")
	is.NoErr(err) // no leak, no failure
	is.True(!strings.Contains(out, "outlived"))
}
