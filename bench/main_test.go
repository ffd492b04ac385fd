package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestHarnessQuick runs the whole harness in quick mode: every benchmark
// body, the crowds and the latency runs, then checks the table, the markdown
// and the SVG it wrote. The numbers themselves are not checked: performance
// is measured, never asserted.
func TestHarnessQuick(t *testing.T) {
	is := is.New(t)
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	t.Cleanup(func() { bt.Value.Set(old) })

	dir := t.TempDir()
	var out bytes.Buffer
	cfg := config{
		md: filepath.Join(dir, "BENCHMARKS.md"), svg: filepath.Join(dir, "ratios.svg"),
		command: "go run . -quick", note: "test run", out: &out, log: io.Discard,
	}
	cfg.quick()
	is.NoErr(run(cfg))

	table := out.String()
	for _, tg := range targets {
		is.True(strings.Contains(table, tg.text)) // every target has a row
	}
	is.True(strings.Contains(table, "HANDOFF"))

	md, err := os.ReadFile(cfg.md)
	is.NoErr(err)
	for _, want := range []string{"# Benchmarks", "go run . -quick", "test run", "## Targets",
		"](ratios.svg)", "## Many waiters", "## Handoff wake-up latency", "impl"} {
		is.True(strings.Contains(string(md), want)) // markdown section missing
	}
	for _, bn := range benches {
		for _, im := range bn.impls {
			is.True(strings.Contains(string(md), "| "+bn.name+" | ")) // every bench in the full table
			is.True(strings.Contains(string(md), " | "+im.name+" | "))
		}
	}

	svg, err := os.ReadFile(cfg.svg)
	is.NoErr(err)
	bars := svgBars(t, svg)
	charted := 0
	for _, tg := range targets {
		if tg.base != "" {
			charted++
		}
	}
	is.Equal(bars, charted+1) // one bar per ratio target, and Event.Set ÷ close
}

// svgBars checks that svg is well-formed XML and counts its bars: the rects
// that carry a <title>.
func svgBars(t *testing.T, svg []byte) int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	bars := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return bars
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "title" {
			bars++
		}
	}
}

// TestEveryBenchHasABenchmark keeps bench_test.go in step with benches, so
// that `go test -bench` measures everything `go run .` does.
func TestEveryBenchHasABenchmark(t *testing.T) {
	is := is.New(t)
	src, err := os.ReadFile("bench_test.go")
	is.NoErr(err)
	for _, bn := range benches {
		want := "func Benchmark" + bn.name + "(b *testing.B)"
		is.True(strings.Contains(string(src), want))                           // Benchmark function missing
		is.True(strings.Contains(string(src), `runBench(b, "`+bn.name+`") }`)) // and it runs its bench
	}
}

func TestRowsRatiosAndStatus(t *testing.T) {
	is := is.New(t)
	m := microResults{
		"LockUncontended": {
			"chans":     {{ns: 30, allocs: 1}, {ns: 90, allocs: 1}, {ns: 29, allocs: 1}},
			"chanmutex": {{ns: 10}, {ns: 9}, {ns: 11}},
		},
	}
	var r []row
	for _, x := range microRows(m) {
		if x.bench == "LockUncontended" {
			r = append(r, x)
		}
	}
	is.Equal(len(r), 2)
	is.Equal(r[0].value, 3.0) // median 30 ÷ median 10: the outlier 90 does not count
	is.True(r[0].ratio)
	is.Equal(r[0].status(), "met") // ≤ 3× holds at exactly 3
	is.Equal(r[1].value, 1.0)
	is.Equal(r[1].status(), "met")

	over := row{value: 1.2, limit: 1, metric: nsPerOp}
	is.Equal(over.status(), "MISSED")
	info := row{value: 5, limit: math.NaN()}
	is.Equal(info.status(), "info")
	stray := row{value: 0.004, limit: 0, metric: allocsPerOp} // one background alloc in 250 ops
	is.Equal(stray.status(), "met")
}

func TestSVGLink(t *testing.T) {
	is := is.New(t)
	wd, err := os.Getwd()
	is.NoErr(err)
	want := filepath.Base(wd) + "/ratios.svg"
	is.Equal(svgLink("../BENCHMARKS.md", "ratios.svg"), want) // the defaults, run from bench/
	is.Equal(svgLink("BENCHMARKS.md", "ratios.svg"), "ratios.svg")
	is.Equal(svgLink("BENCHMARKS.md", ""), "")
}

func TestAxisLabel(t *testing.T) {
	is := is.New(t)
	is.Equal(axisLabel(0), "1×")
	is.Equal(axisLabel(2), "4×")
	is.Equal(axisLabel(-3), "1/8×")
}

// TestProfileMissed profiles missed targets for real (it runs `go tool
// pprof`) and checks the excerpts: the allocation profile must name the code
// of the benchmark, the CPU profile must be there.
func TestProfileMissed(t *testing.T) {
	is := is.New(t)
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	t.Cleanup(func() { bt.Value.Set(old) })
	is.NoErr(setBenchtime("100ms")) // enough CPU samples to name the code

	rows := []row{
		{bench: "LockUncontended", metric: allocsPerOp, value: 3, limit: 1},
		{bench: "QueueTry", metric: nsPerOp, value: 2, limit: 1},
		{bench: "EventWaitSet", metric: nsPerOp, value: 1, limit: 2}, // met: not profiled
	}
	profileMissed(rows, t.Logf)
	is.True(strings.Contains(rows[0].prof, "allocations per op"))
	is.True(strings.Contains(rows[0].prof, "chans.(*Lock).Acquire"))
	// Which functions make a CPU profile's top 20 depends on where ~10
	// samples happened to land (under -race, the detector's own functions
	// often crowd the benchmark's out), so only the report is checked here;
	// the allocation profile above names the code deterministically.
	is.True(strings.Contains(rows[1].prof, "-top"))
	is.True(strings.Contains(rows[1].prof, "Type: cpu"))
	is.True(!strings.Contains(rows[1].prof, "allocations per op")) // QueueTry allocates nothing
	is.Equal(rows[2].prof, "")
}
