package main

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// profileMissed profiles ours in the benchmark of every missed target and
// stores the `go tool pprof -top` reports in the row: a CPU profile, and,
// if ours allocates, an allocation profile with every allocation sampled,
// its counts divided by the ops run so that they read as allocations per
// op. A benchmark with several missed targets is profiled once.
func profileMissed(rows []row, res results, r *runner) {
	done := map[string]string{}
	for i := range rows {
		x := &rows[i]
		if !x.missed() {
			continue
		}
		if p, ok := done[x.bench]; ok {
			x.prof = p
			continue
		}
		r.logf("profiling %s/impl=%s", x.bench, ours)
		var parts []string
		cpu, err := r.cpuProfile(x.bench)
		if err != nil {
			cpu = "CPU profile not available: " + err.Error()
		}
		parts = append(parts, cpu)
		if allocs := res.summary(series{x.bench, ours, allocsOp}); allocs.center > 0 {
			ns := res.summary(series{x.bench, ours, nsOp}).center
			mem, err := r.allocProfile(x.bench, ns)
			if err != nil {
				mem = "allocation profile not available: " + err.Error()
			}
			parts = append(parts, mem)
		}
		x.prof = strings.Join(parts, "\n")
		done[x.bench] = x.prof
	}
}

// cpuProfile runs ours in bench for a second under the CPU profiler. The
// report is not focused on the benchmark's code: the scheduler and the
// garbage collector run on their own stacks, and their work is part of what
// an op costs.
func (r *runner) cpuProfile(bench string) (string, error) {
	name := profName(bench)
	path := filepath.Join(r.dir, name+".cpu.pprof")
	pattern := subPattern(bench, ours)
	if _, err := r.bench(pattern, "1s", "-test.cpuprofile", path); err != nil {
		return "", err
	}
	args := []string{"-top", "-nodecount=20"}
	top, err := r.pprofTop(path, args...)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$ ./bench.test -test.run '^$' -test.bench '%s' -test.benchtime 1s -test.cpuprofile cpu.pprof\n"+
		"$ go tool pprof %s bench.test cpu.pprof\n%s", pattern, strings.Join(args, " "), top), nil
}

// allocProfile runs ours in bench for a fixed number of ops, about a fifth
// of a second's worth at nsPerOp, with every allocation sampled.
func (r *runner) allocProfile(bench string, nsPerOp float64) (string, error) {
	name := profName(bench)
	path := filepath.Join(r.dir, name+".alloc.pprof")
	pattern := subPattern(bench, ours)
	ops := int(math.Max(1, math.Min(20000, 2e8/math.Max(nsPerOp, 1))))
	out, err := r.bench(pattern, fmt.Sprintf("%dx", ops), "-test.memprofile", path, "-test.memprofilerate", "1")
	if err != nil {
		return "", err
	}
	// The ops the benchmark reports, which b.Loop makes exactly ops; a
	// b.N benchmark also ran one op to start with, which is noise here.
	rd := benchfmt.NewReader(bytes.NewReader(out), name)
	for rd.Scan() {
		if res, ok := rd.Result().(*benchfmt.Result); ok {
			ops = res.Iters
		}
	}
	args := []string{"-sample_index=alloc_objects", "-top", "-nodecount=15", fmt.Sprintf("-divide_by=%d", ops)}
	top, err := r.pprofTop(path, args...)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$ ./bench.test -test.run '^$' -test.bench '%s' -test.benchtime %dx -test.memprofile mem.pprof -test.memprofilerate 1\n"+
		"$ go tool pprof %s bench.test mem.pprof\n"+
		"(every allocation sampled; counts divided by the %d ops, so they are allocations per op)\n%s",
		pattern, ops, strings.Join(args, " "), ops, top), nil
}

// profName is a file name for a benchmark's profiles.
func profName(bench string) string { return strings.NewReplacer("/", "_", "=", "-").Replace(bench) }
