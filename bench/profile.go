package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
)

// profileMissed profiles ours in every missed micro-benchmark target and
// stores `go tool pprof` excerpts in the row: for an allocation target, where
// the allocations per op come from; for a time target, a CPU profile and,
// if ours allocates, the allocations too, since they often are the time.
func profileMissed(rows []row, logf func(string, ...any)) {
	dir, err := os.MkdirTemp("", "turnstile-bench-prof")
	if err != nil {
		logf("profiles skipped: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	missed := func(r row) bool { return r.bench != "" && r.hasTarget() && !r.met() }
	// A bench whose allocation target is missed shows its allocations
	// there, not again under its time target.
	allocRow := map[string]bool{}
	for _, r := range rows {
		if missed(r) && r.metric == allocsPerOp {
			allocRow[r.bench] = true
		}
	}
	for i := range rows {
		r := &rows[i]
		if !missed(*r) {
			continue
		}
		fn := benchNamed(r.bench).impls[0].fn
		logf("profiling %s/impl=chans", r.bench)
		var parts []string
		if r.metric == nsPerOp {
			out, err := cpuProfile(dir, r.bench, fn)
			if err != nil {
				out = "CPU profile not available: " + err.Error()
			}
			parts = append(parts, out)
		}
		if r.metric == allocsPerOp || (r.allocs > 0 && !allocRow[r.bench]) {
			out, err := allocProfile(dir, r.bench, fn)
			if err != nil {
				out = "allocation profile not available: " + err.Error()
			}
			parts = append(parts, out)
		}
		r.prof = strings.Join(parts, "\n")
	}
}

// cpuProfile runs fn under the CPU profiler and returns the top functions.
// The report is not focused on fn: the scheduler and the garbage collector
// run on their own stacks, and their work is part of what an op costs.
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
	args := []string{"-top", "-nodecount=20"}
	out, err := pprofTool(path, args...)
	return "$ go tool pprof " + strings.Join(args, " ") + " " + name + ".cpu.pprof\n" + out, err
}

// allocProfile runs fn for a fixed number of ops with every allocation
// sampled, and returns where its allocations come from, per op. The
// allocation profile counts from the start of the process, so a snapshot
// taken just before the run is subtracted (pprof -base).
func allocProfile(dir, name string, fn func(*testing.B)) (string, error) {
	before := filepath.Join(dir, name+".before.pprof")
	after := filepath.Join(dir, name+".alloc.pprof")
	bt := flag.Lookup("test.benchtime").Value
	oldTime := bt.String()
	if err := bt.Set("20000x"); err != nil {
		return "", err
	}
	defer bt.Set(oldTime)
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()

	// Both snapshots are written while the rate is 1: pprof scales each
	// record by the rate at writing, so older records cancel out exactly
	// and the new ones, sampled one by one, are not scaled up.
	if err := writeAllocs(before); err != nil {
		return "", err
	}
	ops := 0
	testing.Benchmark(func(b *testing.B) {
		fn(b)
		ops += b.N // b.N after the body: b.Loop sets it to the iterations run
	})
	if err := writeAllocs(after); err != nil {
		return "", err
	}
	args := []string{"-sample_index=alloc_objects", "-top", "-nodecount=15", "-focus=" + focus(fn)}
	top, err := pprofTool(after, append(args, "-base="+before)...)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$ go tool pprof %s -base=before.pprof %s.alloc.pprof\n"+
		"(every allocation sampled; counts divided by the %d ops run, so they are allocations per op)\n",
		strings.Join(args, " "), name, ops) + perOp(top, ops), nil
}

// writeAllocs writes the allocation profile as of now to path.
func writeAllocs(path string) error {
	runtime.GC() // publish the allocations made so far to the profile
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// perOp rewrites the flat and cum counts of a pprof -top report as counts
// per op.
func perOp(top string, ops int) string {
	var b strings.Builder
	for line := range strings.Lines(top) {
		f := strings.Fields(line)
		if len(f) >= 6 {
			flat, err1 := strconv.ParseFloat(f[0], 64)
			cum, err2 := strconv.ParseFloat(f[3], 64)
			if err1 == nil && err2 == nil {
				fmt.Fprintf(&b, "%8.2f %7s %7s %8.2f %7s  %s\n", flat/float64(ops), f[1], f[2], cum/float64(ops), f[4], strings.Join(f[5:], " "))
				continue
			}
		}
		if strings.HasPrefix(line, "Showing nodes accounting for") || strings.HasPrefix(line, "Dropped ") {
			continue // counts over the whole run, not per op
		}
		b.WriteString(line)
	}
	return b.String()
}

// pprofTool runs `go tool pprof` on path and returns its report without the
// header lines that name the temporary file.
func pprofTool(path string, args ...string) (string, error) {
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

// focus is a -focus regexp matching the body function fn.
func focus(fn func(*testing.B)) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	// Unanchored: the closures of the body (name.func1, ...) match too, which
	// is where RunParallel bodies do their work.
	return regexp.QuoteMeta(name[strings.LastIndex(name, ".")+1:])
}
