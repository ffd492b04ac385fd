package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// A runner runs this folder's test binary, built once per run of the
// harness, so every round measures the same code.
type runner struct {
	bin   string // the test binary
	dir   string // scratch space for profiles
	crowd int    // its -crowd flag
	logf  func(string, ...any)
}

// build compiles the benchmarks of the current folder into dir.
func build(dir string, crowd int, logf func(string, ...any)) (*runner, error) {
	bin := filepath.Join(dir, "bench.test")
	logf("building the benchmarks: go test -c -o %s .", bin)
	if out, err := exec.Command("go", "test", "-c", "-o", bin, ".").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go test -c: %v\n%s", err, out)
	}
	return &runner{bin: bin, dir: dir, crowd: crowd, logf: logf}, nil
}

// list returns the Benchmark functions whose names match pattern, without
// the "Benchmark" prefix, in the order the test binary lists them.
func (r *runner) list(pattern string) ([]string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(r.bin, "-test.list", "^Benchmark").Output()
	if err != nil {
		return nil, fmt.Errorf("%s -test.list: %v", r.bin, err)
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		name := strings.TrimSpace(line)
		if strings.HasPrefix(name, "Benchmark") && re.MatchString(name) {
			names = append(names, strings.TrimPrefix(name, "Benchmark"))
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no benchmark matches %q", pattern)
	}
	return names, nil
}

// bench runs the benchmarks matching the -test.bench pattern once
// (-test.count 1) with extra test flags, and returns their output.
func (r *runner) bench(pattern, benchtime string, extra ...string) ([]byte, error) {
	args := append([]string{
		"-test.run", "^$", "-test.bench", pattern, "-test.count", "1",
		"-test.benchtime", benchtime, "-test.benchmem", fmt.Sprintf("-crowd=%d", r.crowd),
	}, extra...)
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = r.dir // where -test.cpuprofile and friends land if relative
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(r.bin), strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

// rounds runs every benchmark in names once per round, round after round,
// and returns all their output, as `go test -bench -count rounds` would
// print it. Within a round each benchmark runs all its impls one after the
// other in one process, so ours and the baselines of a round ran side by
// side, and a burst of load on a shared machine hits them alike.
func (r *runner) rounds(names []string, rounds int, benchtime string) ([]byte, error) {
	var all bytes.Buffer
	for k := 1; k <= rounds; k++ {
		for i, name := range names {
			r.logf("round %d/%d  %2d/%d  Benchmark%s", k, rounds, i+1, len(names), name)
			out, err := r.bench("^Benchmark"+regexp.QuoteMeta(name)+"$", benchtime)
			if err != nil {
				return nil, err
			}
			all.Write(out)
		}
	}
	return all.Bytes(), nil
}

// subPattern is the -test.bench pattern that runs exactly one sub-benchmark
// of bench ("Fanout/work=none") with impl.
func subPattern(bench, impl string) string {
	var parts []string
	for i, p := range strings.Split(bench+"/impl="+impl, "/") {
		if i == 0 {
			p = "Benchmark" + p
		}
		parts = append(parts, "^"+regexp.QuoteMeta(p)+"$")
	}
	return strings.Join(parts, "/")
}

// benchstat renders raw, the path of a results file, as benchstat does, one
// table per benchmark with the impls as columns.
func benchstat(raw string) (string, error) {
	out, err := exec.Command("go", "tool", "benchstat", "-table", ".name", "-col", "/impl", raw).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool benchstat: %v\n%s", err, out)
	}
	return string(out), nil
}

// pprofTop runs `go tool pprof` on a profile of r's binary and returns its
// report without the lines that name the scratch files or the time.
func (r *runner) pprofTop(profile string, args ...string) (string, error) {
	args = append(append([]string{"tool", "pprof"}, args...), r.bin, profile)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %v: %s", err, out)
	}
	var b strings.Builder
	for line := range strings.Lines(string(out)) {
		if !strings.HasPrefix(line, "File:") && !strings.HasPrefix(line, "Build ID:") && !strings.HasPrefix(line, "Time:") {
			b.WriteString(line)
		}
	}
	return b.String(), nil
}

// writeFile writes b to path, making its folder if needed.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
