package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// A series is one quantity of one implementation in one benchmark, over the
// rounds: bench is the benchmark's name without "Benchmark", the impl= part
// and the GOMAXPROCS suffix ("LockWait", "Fanout/work=none"); impl is the
// value of impl=; unit is the unit as the benchmark printed it ("ns/op",
// "allocs/op", "B/waiter").
type series struct{ bench, impl, unit string }

// results holds the values of every series in the order they were read. The
// harness runs every benchmark once per round, so the k'th value of a series
// is from round k.
type results map[series][]float64

// parse reads benchmark results in the standard format (go test -bench
// output, what benchstat reads) with benchfmt. Lines that are not results
// (PASS, ok, logs) are skipped, as benchstat skips them; a malformed result
// line is an error.
func parse(r io.Reader, name string) (results, error) {
	res := results{}
	rd := benchfmt.NewReader(r, name)
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			bench, impl := splitName(rec.Name)
			for _, v := range rec.Values {
				unit, val := v.Unit, v.Value
				if v.OrigUnit != "" {
					unit, val = v.OrigUnit, v.OrigValue // as printed: ns/op, not sec/op
				}
				s := series{bench, impl, unit}
				res[s] = append(res[s], val)
			}
		}
	}
	return res, rd.Err()
}

// splitName takes a full benchmark name apart: the name without "Benchmark",
// its impl= part and the GOMAXPROCS suffix, and the impl.
func splitName(n benchfmt.Name) (bench, impl string) {
	base, parts := n.Parts()
	var b strings.Builder
	b.Write(bytes.TrimPrefix(base, []byte("Benchmark")))
	for _, p := range parts {
		switch {
		case bytes.HasPrefix(p, []byte("/impl=")):
			impl = string(p[len("/impl="):])
		case bytes.HasPrefix(p, []byte("-")):
			// GOMAXPROCS: the same for every result of one run
		default:
			b.Write(p)
		}
	}
	return b.String(), impl
}

// summary is a series' median and its 95% confidence interval, as
// benchstat computes them (benchmath.AssumeNothing).
type summary struct {
	n            int
	center       float64
	lo, hi       float64
	undetermined bool // too few values for an interval
}

func (r results) summary(s series) summary {
	vals := r[s]
	if len(vals) == 0 {
		return summary{}
	}
	// NewSample sorts the values it is given, in place: a copy keeps the
	// series in round order for roundRatios.
	sm := benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(vals), &benchmath.DefaultThresholds), 0.95)
	return summary{
		n: len(vals), center: sm.Center, lo: sm.Lo, hi: sm.Hi,
		undetermined: math.IsInf(sm.Lo, 0) || math.IsInf(sm.Hi, 0),
	}
}

// roundRatios returns the lowest and highest ratio of round k of a to round
// k of b over the rounds both have: a and b ran side by side in each round,
// so this is the spread of ratios one run of the harness could have shown.
func (r results) roundRatios(a, b series) (lo, hi float64, ok bool) {
	va, vb := r[a], r[b]
	if len(va) != len(vb) || len(va) == 0 {
		return 0, 0, false // not from the same rounds: no pairing
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for k := range va {
		x := va[k] / vb[k]
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi, true
}

func (s series) String() string { return fmt.Sprintf("%s/impl=%s %s", s.bench, s.impl, s.unit) }
