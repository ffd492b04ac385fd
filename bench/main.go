// Command bench measures turnstile's primitives beside the Go baselines they
// replace, in the same run, and checks them against the project's targets.
//
// From this folder:
//
//	go run .            # full run: ≥5 runs per benchmark, medians, writes ../BENCHMARKS.md and ratios.svg
//	go run . -quick     # seconds: checks the harness, numbers mean little
//
// It prints the ratio table, and writes BENCHMARKS.md (machine, Go version,
// command, tables, and for each missed target the profile that shows why)
// and an SVG chart of the ratios. The same benchmark bodies run under
// `go test -bench . -count 10` for benchstat; see bench_test.go.
//
// This folder is its own module so that the comparison dependencies
// (x/sync, chanx, x/exp) never reach users of the root module.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"testing"
	"time"
)

// config is what one run of the harness does.
type config struct {
	runs       int    // runs of every benchmark; medians are taken over them
	benchtime  string // -test.benchtime for each run: "500ms", or "200x" in quick mode
	scaleN     int    // goroutines in the scale measurements
	latSamples int    // handoffs per latency run
	profile    bool   // profile the missed targets (needs `go tool pprof`)
	md, svg    string // output paths; "" writes nothing
	note       string // free text about the conditions of the run
	command    string // the command line, for the report
	out, log   io.Writer
}

func main() {
	testing.Init() // registers -test.benchtime, which testing.Benchmark reads
	var (
		cfg   config
		quick bool
	)
	flag.BoolVar(&quick, "quick", false, "a few seconds: 2 runs, tiny sizes, no profiles (checks the harness, not the numbers)")
	flag.IntVar(&cfg.runs, "runs", 5, "runs of each benchmark; the report quotes medians")
	flag.StringVar(&cfg.benchtime, "benchtime", "500ms", "time (or Nx iterations) per benchmark run")
	flag.IntVar(&cfg.scaleN, "n", 100_000, "goroutines in the scale measurements")
	flag.IntVar(&cfg.latSamples, "samples", 2000, "handoffs per latency run")
	flag.BoolVar(&cfg.profile, "profile", true, "profile the benchmarks of missed targets")
	flag.StringVar(&cfg.md, "md", "../BENCHMARKS.md", "markdown report to write (\"\" for none)")
	flag.StringVar(&cfg.svg, "svg", "ratios.svg", "SVG chart of the ratios to write (\"\" for none)")
	flag.StringVar(&cfg.note, "note", "", "conditions of the run, quoted in the report (e.g. a shared machine)")
	flag.Parse()
	if quick {
		cfg.quick()
	}
	cfg.command = commandLine()
	cfg.out, cfg.log = os.Stdout, os.Stderr
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

// quick shrinks cfg to a run of seconds.
func (c *config) quick() {
	c.runs = 2
	c.benchtime = "200x"
	c.scaleN = 2000
	c.latSamples = 50
	c.profile = false
}

// commandLine is how this run was started, as a user would type it.
func commandLine() string {
	args := []string{"go run ."}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// run measures everything, prints the table and writes the report.
func run(cfg config) error {
	if cfg.runs < 1 {
		return fmt.Errorf("runs must be at least 1, not %d", cfg.runs)
	}
	if err := setBenchtime(cfg.benchtime); err != nil {
		return err
	}
	start := time.Now()
	m := machineInfo()
	logf := func(format string, a ...any) { fmt.Fprintf(cfg.log, format+"\n", a...) }

	micro, err := measureMicro(cfg, logf)
	if err != nil {
		return err
	}
	scale, err := measureScale(cfg, logf)
	if err != nil {
		return err
	}
	lat := measureLatency(cfg, logf)

	rows := append(microRows(micro), scale.rows()...)
	if cfg.profile {
		profileMissed(rows, logf)
	}
	m.loadEnd = loadAvg()
	m.elapsed = time.Since(start)

	r := report{cfg: cfg, machine: m, rows: rows, micro: micro, scale: scale, lat: lat}
	r.printTable(cfg.out)
	if cfg.svg != "" {
		if err := os.WriteFile(cfg.svg, []byte(chart(rows)), 0o644); err != nil {
			return err
		}
	}
	if cfg.md != "" {
		if err := os.WriteFile(cfg.md, []byte(r.markdown()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// setBenchtime sets the benchtime testing.Benchmark uses.
func setBenchtime(d string) error {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return fmt.Errorf("testing flags not registered: call testing.Init first")
	}
	return f.Value.Set(d)
}
