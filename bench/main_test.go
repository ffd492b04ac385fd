package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"
	"golang.org/x/perf/benchfmt"
)

// The harness's tests. Performance itself is never asserted: these check
// that the harness reads benchmark output as benchstat does, checks targets
// right (a planted miss is caught), draws the chart, and runs end to end.

// twoRounds is benchmark output as the harness collects it: two rounds of
// `-test.count 1` runs, headers and all.
const twoRounds = `goos: linux
goarch: amd64
pkg: github.com/turnstile-go/turnstile/bench
cpu: AMD EPYC
BenchmarkLockWait/impl=chans-2         	 1000	       300.0 ns/op	      24 B/op	       1 allocs/op
BenchmarkLockWait/impl=xsync-2         	 1000	       100.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkFanout/work=none/impl=chans-2 	   10	    1000 ns/op	 1.000 ns/task	 4034 allocs/op
BenchmarkFanout/work=none/impl=errgroup-2	   10	     900 ns/op	 0.900 ns/task	 2005 allocs/op
BenchmarkQueueTry/impl=chans-2         	 1000	        50 ns/op
BenchmarkQueueTry/impl=chan-2          	 1000	        60 ns/op
BenchmarkSelectLoop/impl=chans-2       	 1000	      1500 ns/op	         0 goroutines/op
BenchmarkFirstLocks/impl=chans-2       	 1000	      1000 ns/op	     0.004 goroutines/op
BenchmarkFirstLocks/impl=reflect-2     	 1000	       600 ns/op	         0 goroutines/op
BenchmarkCrowd/ctx=cancel/impl=chans-2 	    1	 100000000 ns/op	       300.0 B/waiter
PASS
ok  	github.com/turnstile-go/turnstile/bench	1.0s
goos: linux
goarch: amd64
pkg: github.com/turnstile-go/turnstile/bench
cpu: AMD EPYC
BenchmarkLockWait/impl=chans-2         	 1000	       330.0 ns/op	      24 B/op	       1 allocs/op
BenchmarkLockWait/impl=xsync-2         	 1000	       150.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkFanout/work=none/impl=chans-2 	   10	    1100 ns/op	 1.100 ns/task	 4034 allocs/op
BenchmarkFanout/work=none/impl=errgroup-2	   10	    1000 ns/op	 1.000 ns/task	 2005 allocs/op
BenchmarkQueueTry/impl=chans-2         	 1000	        52 ns/op
BenchmarkQueueTry/impl=chan-2          	 1000	        58 ns/op
BenchmarkSelectLoop/impl=chans-2       	 1000	      1700 ns/op	         0 goroutines/op
BenchmarkFirstLocks/impl=chans-2       	 1000	      1100 ns/op	     0.004 goroutines/op
BenchmarkFirstLocks/impl=reflect-2     	 1000	       500 ns/op	         0 goroutines/op
BenchmarkCrowd/ctx=cancel/impl=chans-2 	    1	 100000000 ns/op	       200.0 B/waiter
PASS
`

func parsed(t *testing.T) results {
	t.Helper()
	res, err := parse(strings.NewReader(twoRounds), "twoRounds")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestParse(t *testing.T) {
	is := is.New(t)
	res := parsed(t)
	is.Equal(res[series{"LockWait", "chans", "ns/op"}], []float64{300, 330})            // in round order, as printed
	is.Equal(res[series{"LockWait", "chans", "allocs/op"}], []float64{1, 1})            // -benchmem's units
	is.Equal(res[series{"Fanout/work=none", "errgroup", "ns/task"}], []float64{0.9, 1}) // nested names, custom units
	is.Equal(res[series{"Crowd/ctx=cancel", "chans", "B/waiter"}], []float64{300, 200})
	is.Equal(res.summary(series{"Crowd/ctx=cancel", "chans", "B/waiter"}).center, 250.0)
	is.Equal(res[series{"Crowd/ctx=cancel", "chans", "B/waiter"}], []float64{300, 200}) // still in round order
	is.Equal(len(res[series{"LockWait", "chans", "sec/op"}]), 0)                        // units stay as printed, not benchstat's tidied ones

	s := res.summary(series{"LockWait", "xsync", "ns/op"})
	is.Equal(s.n, 2)
	is.Equal(s.center, 125.0) // the median of 100 and 150
	is.True(s.undetermined)   // two values give no 95% interval
	lo, hi, ok := res.roundRatios(series{"LockWait", "chans", "ns/op"}, series{"LockWait", "xsync", "ns/op"})
	is.True(ok)
	is.Equal(lo, 2.2) // 330/150, round 2
	is.Equal(hi, 3.0) // 300/100, round 1
	_, _, ok = res.roundRatios(series{"LockWait", "chans", "ns/op"}, series{"Crowd/ctx=cancel", "chans", "B/waiter"})
	is.True(ok)
	_, _, ok = res.roundRatios(series{"LockWait", "chans", "ns/op"}, series{"Nothing", "chans", "ns/op"})
	is.True(!ok) // nothing to pair with

	_, err := parse(strings.NewReader("BenchmarkX/impl=chans-2 \t 10 \t fast ns/op\n"), "bad")
	var se *benchfmt.SyntaxError
	is.True(errors.As(err, &se)) // a malformed result line is an error, not skipped
}

func TestSplitName(t *testing.T) {
	is := is.New(t)
	for _, c := range []struct{ in, bench, impl string }{
		{"BenchmarkLockWait/impl=chans-2", "LockWait", "chans"},
		{"BenchmarkFanout/work=sha256-1KiB/impl=errgroup-8", "Fanout/work=sha256-1KiB", "errgroup"},
		{"BenchmarkCrowd/ctx=cancel/impl=chanmutex", "Crowd/ctx=cancel", "chanmutex"},
		{"BenchmarkPlain-2", "Plain", ""},
	} {
		bench, impl := splitName([]byte(c.in))
		is.Equal(bench, c.bench)
		is.Equal(impl, c.impl)
	}
}

// rowOf returns the row of bench in unit.
func rowOf(t *testing.T, rows []row, bench, unit string) row {
	t.Helper()
	for _, x := range rows {
		if x.bench == bench && x.unit == unit {
			return x
		}
	}
	t.Fatalf("no row %s %s", bench, unit)
	return row{}
}

// TestCheckPlantedMiss checks targets against results with planted misses:
// each must be reported missed with its measured ratio, and the met ones met.
func TestCheckPlantedMiss(t *testing.T) {
	is := is.New(t)
	rows := check(parsed(t))

	lw := rowOf(t, rows, "LockWait", nsOp)
	is.Equal(lw.status(), "MISSED") // 2.52× against ≤ 1.5×: planted
	is.Equal(lw.valueString(), "2.52×")
	is.Equal(lw.value, 315.0/125.0) // of the medians, not a median of ratios
	is.Equal(lw.spread(), "2.20–3.00×")
	is.True(strings.Contains(lw.baseString(), "xsync"))
	is.Equal(rowOf(t, rows, "LockWait", allocsOp).status(), "met") // 1 ≤ 1

	is.Equal(rowOf(t, rows, "QueueTry", nsOp).status(), "met") // 51 ÷ 59
	is.Equal(rowOf(t, rows, "Fanout/work=none", nsOp).valueString(), "1.11×")
	is.Equal(rowOf(t, rows, "Fanout/work=none", nsOp).status(), "met") // ≤ 1.2×

	sl := rowOf(t, rows, "SelectLoop", nsOp)
	is.Equal(sl.status(), "MISSED") // 1.6 µs against an absolute 1 µs
	is.Equal(sl.valueString(), "1.6 µs")
	is.Equal(sl.spread(), "") // no baseline, no ratio

	is.Equal(rowOf(t, rows, "FirstLocks", "goroutines/op").status(), "met")  // 0.004: a stray one, within the slack
	is.Equal(rowOf(t, rows, "FirstLocks", nsOp).status(), "met")             // 1050 ÷ 550 ≤ 2
	is.Equal(rowOf(t, rows, "Crowd/ctx=cancel", "B/waiter").status(), "met") // median 250 B ≤ 256 B
	is.Equal(rowOf(t, rows, "Handoff", nsOp).status(), "no data")
	is.True(!rowOf(t, rows, "Handoff", nsOp).missed()) // nothing to profile

	rep := report{cfg: config{command: "go run . -test", rounds: 2, benchtime: "1x", crowd: 10}, rows: rows, benchstat: "TABLES\n"}
	md := rep.markdown()
	is.True(strings.Contains(md, "| **missed** | 2.52× | 2.20–3.00× | ≤ 1.5× x/sync Weighted(1) |"))
	is.True(strings.Contains(md, "### LockWait ÷ xsync: 2.52× (target ≤ 1.5× x/sync Weighted(1))\n\n"+whyLockWait))
	is.True(strings.Contains(md, "### SelectLoop: 1.6 µs (target ≤ 1 µs)"))
	is.True(!strings.Contains(md, "### QueueTry")) // met: no explanation
	is.True(strings.Contains(md, "| no data | – |"))
	is.True(strings.Contains(md, "```\nTABLES\n```"))
	is.True(strings.Contains(md, "go run . -test"))
	// FirstLocks' rounds (1.67× and 2.20×) lie on both sides of ≤ 2×; LockWait's (2.20–3.00×) do not.
	is.True(rowOf(t, rows, "FirstLocks", nsOp).straddles())
	is.True(!lw.straddles())
	is.True(strings.Contains(md, "The single rounds of 1 rows lie on both sides of the target, so their status can flip from one run of the command to the next: `FirstLocks ÷ reflect`."))

	var out bytes.Buffer
	rep.printTable(&out)
	is.True(regexp.MustCompile(`(?m)^MISSED +2.52× +2.20–3.00× +≤ 1.5× x/sync Weighted\(1\) +315 ns +xsync 125 ns +LockWait ÷ xsync$`).MatchString(out.String()))
}

func TestChart(t *testing.T) {
	is := is.New(t)
	rows := check(parsed(t))
	bars := svgBars(t, chart(rows))
	var want []string
	for _, x := range rows {
		if x.ratio() && x.hasData() {
			want = append(want, x.label())
		}
	}
	is.Equal(len(bars), len(want)) // one bar per ratio with data, no more
	for i, b := range bars {
		is.True(strings.HasPrefix(b.title, want[i]+": "))
		switch rowOf(t, rows, strings.SplitN(want[i], " ", 2)[0], nsOp).status() {
		case "MISSED":
			is.Equal(b.fill, "#c62828")
		case "met":
			is.Equal(b.fill, "#2e7d32")
		}
	}
	is.True(slices.ContainsFunc(bars, func(b bar) bool { return b.fill == "#c62828" })) // the planted miss is red
	is.Equal(axisLabel(0), "1×")
	is.Equal(axisLabel(2), "4×")
	is.Equal(axisLabel(-3), "1/8×")
}

type bar struct{ fill, title string }

// svgBars checks that svg is well-formed XML and returns its bars: the
// rects that carry a <title>.
func svgBars(t *testing.T, svg string) []bar {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var (
		bars []bar
		fill string
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return bars
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "rect" {
				fill = ""
				for _, a := range e.Attr {
					if a.Name.Local == "fill" {
						fill = a.Value
					}
				}
			}
			if e.Name.Local == "title" {
				var title string
				if err := d.DecodeElement(&title, &e); err != nil {
					t.Fatal(err)
				}
				bars = append(bars, bar{fill, title})
			}
		}
	}
}

func TestSubPattern(t *testing.T) {
	is := is.New(t)
	is.Equal(subPattern("LockWait", "chans"), "^BenchmarkLockWait$/^impl=chans$")
	is.Equal(subPattern("Fanout/work=sha256-1KiB", "chans"), `^BenchmarkFanout$/^work=sha256-1KiB$/^impl=chans$`)
}

func TestRelLink(t *testing.T) {
	is := is.New(t)
	wd, err := os.Getwd()
	is.NoErr(err)
	is.Equal(relLink("../BENCHMARKS.md", "ratios.svg"), filepath.Base(wd)+"/ratios.svg") // the defaults, run from bench/
	is.Equal(relLink("BENCHMARKS.md", "ratios.svg"), "ratios.svg")
	is.Equal(relLink("BENCHMARKS.md", ""), "")
}

// TestHarnessQuick runs the whole harness in quick mode: it builds the test
// binary, runs every benchmark in two interleaved rounds of one op, reads
// the output, checks the targets, runs benchstat and writes the report, the
// chart and the results file. The numbers are not checked, only that every
// target found its benchmark and every part of the report is there.
func TestHarnessQuick(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	cfg := config{
		md: filepath.Join(dir, "BENCHMARKS.md"), svg: filepath.Join(dir, "ratios.svg"), raw: filepath.Join(dir, "results.txt"),
		bench: ".", command: "go run . -quick", note: "test run", out: io.Discard, log: io.Discard,
	}
	cfg.quick()
	rep, err := run(cfg)
	is.NoErr(err)

	for _, x := range rep.rows {
		if !x.hasData() {
			t.Errorf("target %s %s: no results (is the benchmark or its impl=%s or %s gone?)", x.bench, x.unit, ours, x.target.base)
		}
	}
	md, err := os.ReadFile(cfg.md)
	is.NoErr(err)
	for _, want := range []string{"# Benchmarks", "go run . -quick", "test run", "| load average", "| Go | go1.",
		"## Targets", "](ratios.svg)", "## All benchmarks", ".name: LockWait", "## Reproduce"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md has no %q", want)
		}
	}
	raw, err := os.ReadFile(cfg.raw)
	is.NoErr(err)
	res, err := parse(bytes.NewReader(raw), cfg.raw)
	is.NoErr(err)
	is.Equal(len(res[series{"QueueTry", ours, nsOp}]), 2) // one value per round
	svg, err := os.ReadFile(cfg.svg)
	is.NoErr(err)
	is.True(len(svgBars(t, string(svg))) > 10)
}

// TestEveryBenchmarkIsDescribed keeps the report's descriptions in step with
// the Benchmark functions, and checks that the profiles of a missed target
// come out of a real test binary: a CPU profile, and an allocation profile
// read as allocations per op.
func TestEveryBenchmarkIsDescribed(t *testing.T) {
	is := is.New(t)
	r, err := build(t.TempDir(), 100, t.Logf)
	is.NoErr(err)
	names, err := r.list(".")
	is.NoErr(err)
	for _, n := range names {
		if _, ok := about[n]; !ok {
			t.Errorf("Benchmark%s has no line in about", n)
		}
	}
	for n := range about {
		if !slices.Contains(names, n) {
			t.Errorf("about describes %s, which is no benchmark", n)
		}
	}

	res := results{
		{"LockWait", ours, nsOp}:     {100},
		{"LockWait", ours, allocsOp}: {1},
	}
	rows := []row{{target: target{bench: "LockWait", unit: nsOp, limit: 0.5}, ours: summary{n: 1, center: 100}, value: 100}}
	is.True(rows[0].missed())
	profileMissed(rows, res, r)
	is.True(strings.Contains(rows[0].prof, "Type: cpu"))
	is.True(strings.Contains(rows[0].prof, "alloc_objects"))
	is.True(strings.Contains(rows[0].prof, "allocations per op"))
	is.True(strings.Contains(rows[0].prof, "chans.(*Lock).releaser")) // AcquireWait's one allocation, found per op
}
