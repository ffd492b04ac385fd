package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/exp/stats"
)

// sample is one testing.Benchmark result, per op.
type sample struct{ ns, allocs, bytes float64 }

// microResults holds every run of every impl: bench name → impl name → runs.
type microResults map[string]map[string][]sample

// median returns the median of one metric over the runs of bench/impl.
func (m microResults) median(bench, impl string, met metric) float64 {
	runs := m[bench][impl]
	if len(runs) == 0 {
		return 0
	}
	v := make([]float64, len(runs))
	for i, s := range runs {
		switch met {
		case allocsPerOp:
			v[i] = s.allocs
		case bytesPerOp:
			v[i] = s.bytes
		default:
			v[i] = s.ns
		}
	}
	return stats.Median(v)
}

// measureMicro runs every impl of every bench cfg.runs times. Runs are
// interleaved (run 1 of everything, then run 2, ...) so that a burst of load
// on a shared machine hits ours and the baselines alike instead of one of
// them wholesale.
func measureMicro(cfg config, logf func(string, ...any)) (microResults, error) {
	res := microResults{}
	for run := 1; run <= cfg.runs; run++ {
		for _, bn := range benches {
			if res[bn.name] == nil {
				res[bn.name] = map[string][]sample{}
			}
			for _, im := range bn.impls {
				runtime.GC()
				r := testing.Benchmark(im.fn)
				if r.N == 0 {
					return nil, fmt.Errorf("%s/impl=%s failed (see its log above)", bn.name, im.name)
				}
				n := float64(r.N)
				s := sample{
					ns:     float64(r.T.Nanoseconds()) / n,
					allocs: float64(r.MemAllocs) / n,
					bytes:  float64(r.MemBytes) / n,
				}
				res[bn.name][im.name] = append(res[bn.name][im.name], s)
				logf("run %d/%d  %-16s impl=%-10s %10s/op %6.2f allocs/op",
					run, cfg.runs, bn.name, im.name, fmtNs(s.ns), s.allocs)
			}
		}
	}
	return res, nil
}

// scaleResults holds the many-waiter measurements, medians over runs.
type scaleResults struct {
	n       int
	crowds  []crowdResult // memory and time to free, at n
	small   []crowdResult // the cancelling crowds again at n/10, for the O(n) check
	setWake []crowdResult // Event.Set and its baseline, at n
}

type crowdResult struct {
	name     string
	n        int
	heapPer  float64 // bytes per waiter
	stackPer float64
	free     time.Duration // until all returned
	freeCall time.Duration // the free call itself
}

// perWaiter is the time to free the crowd divided by its size.
func (c crowdResult) perWaiter() time.Duration { return c.free / time.Duration(c.n) }

// runCrowd measures c at size n, cfg.runs times, and keeps medians.
func runCrowd(cfg config, c crowd, n int, logf func(string, ...any)) (crowdResult, error) {
	var heap, stack, free, call []float64
	for run := 1; run <= cfg.runs; run++ {
		s, err := measureCrowd(c, n)
		if err != nil {
			return crowdResult{}, err
		}
		heap = append(heap, s.heapPer)
		stack = append(stack, s.stackPer)
		free = append(free, float64(s.free))
		call = append(call, float64(s.freeCall))
		logf("run %d/%d  %d goroutines  %-40s heap %6.0f B, stack %6.0f B per waiter; freed in %v",
			run, cfg.runs, n, c.name, s.heapPer, s.stackPer, s.free)
	}
	return crowdResult{
		name: c.name, n: n,
		heapPer: stats.Median(heap), stackPer: stats.Median(stack),
		free: time.Duration(stats.Median(free)), freeCall: time.Duration(stats.Median(call)),
	}, nil
}

func measureScale(cfg config, logf func(string, ...any)) (scaleResults, error) {
	n := cfg.scaleN
	res := scaleResults{n: n}
	if err := warmCrowds(n); err != nil {
		return res, err
	}
	cancelling := []crowd{lockCrowd(true), xsyncCrowd, chanMutexCrowd}
	for _, c := range append([]crowd{bareCrowd, lockCrowd(false)}, cancelling...) {
		r, err := runCrowd(cfg, c, n, logf)
		if err != nil {
			return res, err
		}
		res.crowds = append(res.crowds, r)
	}
	for _, c := range cancelling {
		r, err := runCrowd(cfg, c, max(n/10, 1), logf)
		if err != nil {
			return res, err
		}
		res.small = append(res.small, r)
	}
	for _, c := range []crowd{eventCrowd, closeCrowd} {
		r, err := runCrowd(cfg, c, n, logf)
		if err != nil {
			return res, err
		}
		res.setWake = append(res.setWake, r)
	}
	return res, nil
}

// growth is how much the time per waiter to cancel the crowd named name grew
// from n/10 to n waiters: about 1 when the total is O(n), 10 when O(n²).
func (s scaleResults) growth(name string) float64 {
	big, small := s.crowd(name), s.find(s.small, name)
	return float64(big.perWaiter()) / float64(small.perWaiter())
}

// crowd returns the result at n of the crowd named name.
func (s scaleResults) crowd(name string) crowdResult {
	return s.find(append(append([]crowdResult{}, s.crowds...), s.setWake...), name)
}

func (s scaleResults) find(rs []crowdResult, name string) crowdResult {
	for _, c := range rs {
		if c.name == name {
			return c
		}
	}
	panic("no crowd " + name)
}

// latencyResult is one handoff's median p50 and p99 over the runs.
type latencyResult struct {
	name string
	q    quantiles
}

func measureLatency(cfg config, logf func(string, ...any)) []latencyResult {
	p50 := map[string][]float64{}
	p99 := map[string][]float64{}
	for run := 1; run <= cfg.runs; run++ {
		for _, h := range handoffs {
			q := latencyQuantiles(latencies(h, cfg.latSamples))
			p50[h.name] = append(p50[h.name], q.p50)
			p99[h.name] = append(p99[h.name], q.p99)
			logf("run %d/%d  handoff %-10s %v", run, cfg.runs, h.name, q)
		}
	}
	var res []latencyResult
	for _, h := range handoffs {
		res = append(res, latencyResult{h.name, quantiles{stats.Median(p50[h.name]), stats.Median(p99[h.name])}})
	}
	return res
}

// machine describes where and how the numbers were taken.
type machine struct {
	cpu                 string
	cores, procs        int
	goVersion, platform string
	date                time.Time
	loadStart, loadEnd  string // /proc/loadavg, if there is one
	elapsed             time.Duration
}

func machineInfo() machine {
	return machine{
		cpu:       cpuModel(),
		cores:     runtime.NumCPU(),
		procs:     runtime.GOMAXPROCS(0),
		goVersion: runtime.Version(),
		platform:  runtime.GOOS + "/" + runtime.GOARCH,
		date:      time.Now().UTC(),
		loadStart: loadAvg(),
	}
}

// cpuModel reads the CPU's name from /proc/cpuinfo, where there is one.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAvg returns the 1, 5 and 15 minute load averages, or "" if unknown.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// fmtNs formats nanoseconds for a table: 3 significant digits, in ns, µs or ms.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}
