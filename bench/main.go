// Command bench runs turnstile's benchmarks beside the baselines they
// replace, interleaved, checks them against the project's targets and writes
// the report.
//
// The benchmarks are ordinary Benchmark functions in this folder's _test.go
// files, with ours as the sub-benchmark impl=chans and each baseline beside
// it, so benchstat reads them as they are:
//
//	go test -run '^$' -bench . -count 6 > new.txt
//	go tool benchstat -table .name -col /impl new.txt
//
// What benchstat does not do is done here: from this folder,
//
//	go run .            # the full report: ../BENCHMARKS.md, ratios.svg, results.txt
//	go run . -quick     # a minute: checks the harness, numbers mean little
//
// builds the test binary once, runs every benchmark once per round with
// -test.count 1 for at least 5 rounds (so ours and its baselines alternate
// within each round instead of running one block after the other, as
// -count would), reads the output with golang.org/x/perf/benchfmt, takes
// medians with benchmath, checks each target (targets.go) with the range of
// its single-round ratios, profiles ours in every missed target, and writes
// BENCHMARKS.md (machine, Go version, load, the command, the targets,
// benchstat's tables of everything, the profiles), an SVG chart of the
// ratios and the raw results.
//
// This folder is its own module so that the comparison dependencies never
// reach users of the root module.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"
)

// config is what one run of the harness does.
type config struct {
	rounds    int    // rounds of every benchmark; medians are taken over them
	benchtime string // -test.benchtime of each benchmark in each round
	bench     string // regexp of the Benchmark functions to run
	crowd     int    // goroutines in the crowd benchmarks
	profile   bool   // profile ours in the missed targets
	md, svg   string // output paths; "" writes nothing
	raw       string // the results file, benchstat's input; "" writes none
	note      string // free text about the conditions of the run
	command   string // the command line, for the report
	out, log  io.Writer
}

func main() {
	var (
		cfg   config
		quick bool
	)
	flag.BoolVar(&quick, "quick", false, "a minute: 2 rounds of 1 op each, small crowds, no profiles (checks the harness, not the numbers)")
	flag.IntVar(&cfg.rounds, "rounds", 6, "rounds of each benchmark; the report quotes medians (benchstat needs 6 for a 95% interval)")
	flag.StringVar(&cfg.benchtime, "benchtime", "400ms", "-test.benchtime of each benchmark in each round")
	flag.StringVar(&cfg.bench, "bench", ".", "regexp of the Benchmark functions to run")
	flag.IntVar(&cfg.crowd, "crowd", 100_000, "goroutines in the crowd benchmarks")
	flag.BoolVar(&cfg.profile, "profile", true, "profile ours in the benchmarks of missed targets")
	flag.StringVar(&cfg.md, "md", "../BENCHMARKS.md", "markdown report to write (\"\" for none)")
	flag.StringVar(&cfg.svg, "svg", "ratios.svg", "SVG chart of the ratios to write (\"\" for none)")
	flag.StringVar(&cfg.raw, "raw", "results.txt", "raw benchmark output to write, benchstat's input (\"\" for none)")
	flag.StringVar(&cfg.note, "note", "", "conditions of the run, quoted in the report (e.g. a shared machine)")
	flag.Parse()
	if quick {
		cfg.quick()
	}
	cfg.command = commandLine()
	cfg.out, cfg.log = os.Stdout, os.Stderr
	if _, err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

// quick shrinks cfg to a run of a minute or so.
func (c *config) quick() {
	c.rounds = 2
	c.benchtime = "1x"
	c.crowd = 1000
	c.profile = false
}

// commandLine is how this run was started, as a user would type it.
func commandLine() string {
	args := []string{"go run ."}
	for _, a := range os.Args[1:] {
		switch {
		case strings.Contains(a, "'"):
			a = fmt.Sprintf("%q", a)
		case a == "" || strings.ContainsAny(a, " \t\"|*$"):
			a = "'" + a + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// run measures everything, prints the targets table and writes the report,
// which it returns.
func run(cfg config) (report, error) {
	if cfg.rounds < 1 {
		return report{}, fmt.Errorf("-rounds must be at least 1, not %d", cfg.rounds)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(cfg.log, format+"\n", a...) }
	start := time.Now()
	m := machineInfo()
	dir, err := os.MkdirTemp("", "turnstile-bench")
	if err != nil {
		return report{}, err
	}
	defer os.RemoveAll(dir)

	r, err := build(dir, cfg.crowd, logf)
	if err != nil {
		return report{}, err
	}
	m.modules, m.commit = modules(), commit()
	names, err := r.list(cfg.bench)
	if err != nil {
		return report{}, err
	}
	raw, err := r.rounds(names, cfg.rounds, cfg.benchtime)
	if err != nil {
		return report{}, err
	}
	res, err := parse(bytes.NewReader(raw), "results.txt")
	if err != nil {
		return report{}, err
	}
	rows := check(res)
	if cfg.profile {
		profileMissed(rows, res, r)
	}

	rawPath := cfg.raw
	if rawPath == "" {
		rawPath = dir + "/results.txt"
	}
	if err := writeFile(rawPath, raw); err != nil {
		return report{}, err
	}
	tables, err := benchstat(rawPath)
	if err != nil {
		return report{}, err
	}
	m.loadEnd = loadAvg()
	m.elapsed = time.Since(start)

	rep := report{cfg: cfg, machine: m, rows: rows, benchstat: tables}
	rep.printTable(cfg.out)
	if cfg.svg != "" {
		if err := writeFile(cfg.svg, []byte(chart(rows))); err != nil {
			return report{}, err
		}
	}
	if cfg.md != "" {
		if err := writeFile(cfg.md, []byte(rep.markdown())); err != nil {
			return report{}, err
		}
	}
	return rep, nil
}
