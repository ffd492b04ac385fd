// Package leakcheck finds goroutines that outlive a package's tests. It is
// a small, standard-library-only stand-in for go.uber.org/goleak, which the
// root module may not depend on.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
//
// Main runs the tests and then fails the run (exit status 1, with the stacks
// of the goroutines left over) if any goroutine started during the run is
// still alive. A goroutine that is just finishing (a context.AfterFunc
// callback taking back a grant, a timer goroutine returning) gets a short,
// bounded grace period: Find retries until the goroutines are gone or the
// grace period ends, so the check is never flaky in the passing direction
// and never waits long in the failing one.
package leakcheck

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Grace is how long Run waits for leftover goroutines to finish before it
// calls them leaked. A variable so that the helper's own test can shorten it.
var Grace = 5 * time.Second

// Main runs m and exits with its status, or with status 1 if the tests
// passed but left goroutines running. It never returns.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run runs m and returns the exit status Main would exit with: m's status,
// or 1 if the tests passed but left goroutines running, which it reports on
// stderr.
func Run(m *testing.M) int {
	before := ids(stacks())
	code := m.Run()
	if code != 0 {
		return code // the failure already says what went wrong
	}
	if leaked := Find(before, Grace); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) outlived the tests:\n\n%s\n",
			len(leaked), strings.Join(leaked, "\n\n"))
		fmt.Println("FAIL: leaked goroutines")
		return 1
	}
	return 0
}

// Find returns the stacks of goroutines that are alive now, were not in
// before (goroutine ids, as Snapshot returns), are not the caller, and are
// not the runtime's or the testing package's own. It retries until there are
// none or grace has passed, yielding and sleeping briefly in between, so that
// goroutines on their way out are not reported.
func Find(before map[int]bool, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	pause := time.Millisecond
	for {
		leaked := interesting(stacks(), before)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		runtime.Gosched()
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// Snapshot returns the ids of the goroutines alive now, for Find.
func Snapshot() map[int]bool { return ids(stacks()) }

// stacks returns one stack trace per goroutine, the caller's first.
func stacks() []string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if s := strings.TrimSpace(string(g)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ids returns the goroutine ids of the given stacks.
func ids(st []string) map[int]bool {
	m := make(map[int]bool, len(st))
	for _, s := range st {
		if id, ok := goid(s); ok {
			m[id] = true
		}
	}
	return m
}

// goid parses "goroutine 17 [chan receive]:".
func goid(stack string) (int, bool) {
	rest, ok := strings.CutPrefix(stack, "goroutine ")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, " ")
	if !ok {
		return 0, false
	}
	id, err := strconv.Atoi(num)
	return id, err == nil
}

// interesting filters st (the caller's stack first) down to the goroutines
// a test may have leaked.
func interesting(st []string, before map[int]bool) []string {
	var out []string
	for i, s := range st {
		id, ok := goid(s)
		if i == 0 || !ok || before[id] || ignored(s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// ignoredFuncs are functions whose presence in a goroutine's stack marks it
// as the runtime's or the test framework's own, never a test's.
var ignoredFuncs = []string{
	"testing.(*M).startAlarm", // the -timeout alarm
	"testing.runFuzzing",      // -fuzz: the coordinator
	"testing.runFuzzTests",    // -fuzz: a worker's loop
	"internal/fuzz.",          // the fuzzing engine
	"os/signal.signal_recv",   // signal.Notify's loop (the fuzz coordinator uses it)
	"os/signal.loop",          // same
	"runtime.ensureSigM",      // the runtime's signal-mask goroutine
}

// ignored reports whether stack s belongs to the runtime or to the testing
// framework.
func ignored(s string) bool {
	// Runtime-internal goroutines (GC workers and the like) are hidden
	// from runtime.Stack unless GOTRACEBACK=system; if they show, their
	// first frame is in package runtime and so is their creator.
	lines := strings.Split(s, "\n")
	if len(lines) >= 2 && isRuntimeOnly(lines[1:]) {
		return true
	}
	return slices.ContainsFunc(ignoredFuncs, func(f string) bool {
		return strings.Contains(s, "\n"+f) || strings.Contains(s, "by "+f)
	})
}

// isRuntimeOnly reports whether every function in the frames is in package
// runtime (frame lines alternate with "\tfile:line" lines).
func isRuntimeOnly(frames []string) bool {
	for _, l := range frames {
		if strings.HasPrefix(l, "\t") {
			continue
		}
		l = strings.TrimPrefix(l, "created by ")
		if !strings.HasPrefix(l, "runtime.") {
			return false
		}
	}
	return true
}
