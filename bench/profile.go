package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
)

// profileMissed profiles ours in every missed micro-benchmark target and
// stores a `go tool pprof -top` excerpt in the row: a CPU profile for a time
// target, an allocation profile (every allocation sampled) for an allocation
// target. The excerpt is focused on the benchmark body, so only its own work
// shows.
func profileMissed(rows []row, logf func(string, ...any)) {
	dir, err := os.MkdirTemp("", "turnstile-bench-prof")
	if err != nil {
		logf("profiles skipped: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	for i := range rows {
		r := &rows[i]
		if r.bench == "" || !r.hasTarget() || r.met() {
			continue
		}
		fn := benchNamed(r.bench).impls[0].fn
		logf("profiling %s/impl=chans (%v)", r.bench, r.metric)
		var out string
		var err error
		if r.metric == allocsPerOp {
			out, err = allocProfile(dir, r.bench, fn)
		} else {
			out, err = cpuProfile(dir, r.bench, fn)
		}
		if err != nil {
			r.prof = "profile not available: " + err.Error()
			continue
		}
		r.prof = out
	}
}

// cpuProfile runs fn under the CPU profiler and returns the top functions.
func cpuProfile(dir, name string, fn func(*testing.B)) (string, error) {
	path := filepath.Join(dir, name+".cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return "", err
	}
	testing.Benchmark(fn)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return "", err
	}
	cmd := fmt.Sprintf("go tool pprof -top -nodecount=25 -focus=%s %s.cpu.pprof", focus(fn), name)
	out, err := pprofTop(path, "-top", "-nodecount=25", "-focus="+focus(fn))
	return "$ " + cmd + "\n" + out, err
}

// allocProfile runs fn with every allocation sampled and returns where the
// allocations per op come from.
func allocProfile(dir, name string, fn func(*testing.B)) (string, error) {
	path := filepath.Join(dir, name+".alloc.pprof")
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	testing.Benchmark(fn)
	runtime.GC() // publish the allocations to the profile
	runtime.MemProfileRate = old
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	args := []string{"-sample_index=alloc_objects", "-top", "-nodecount=12", "-focus=" + focus(fn)}
	top, err := pprofTop(path, args...)
	if err != nil {
		return "", err
	}
	// -traces shows each allocation site with the call path that led to it.
	tr, err := pprofTop(path, "-sample_index=alloc_objects", "-traces", "-focus="+focus(fn))
	if err != nil {
		return "", err
	}
	return "$ go tool pprof " + strings.Join(args, " ") + " " + name + ".alloc.pprof\n" + top +
		"\n$ go tool pprof -sample_index=alloc_objects -traces -focus=" + focus(fn) + " " + name + ".alloc.pprof\n" + trimTraces(tr), nil
}

// pprofTop runs `go tool pprof` on path and returns its report without the
// header lines that name the temporary file.
func pprofTop(path string, args ...string) (string, error) {
	out, err := exec.Command("go", append(append([]string{"tool", "pprof"}, args...), path)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %v: %s", err, out)
	}
	var keep []string
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, ""), nil
}

// trimTraces keeps the stack traces of a -traces report up to the benchmark
// body, dropping the testing frames below it that every trace shares.
func trimTraces(s string) string {
	var b strings.Builder
	skip := false
	for line := range strings.Lines(s) {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "-----------"):
			skip = false
		case skip:
			continue
		case strings.HasPrefix(t, "testing."):
			skip = true
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// focus is a -focus regexp matching the body function fn.
func focus(fn func(*testing.B)) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	// Unanchored: the closures of the body (name.func1, ...) match too, which
	// is where RunParallel bodies do their work.
	return regexp.QuoteMeta(name[strings.LastIndex(name, ".")+1:])
}
