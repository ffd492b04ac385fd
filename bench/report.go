package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"
)

// A row is one checked target (or, with no limit, one comparison shown for
// information) in the ratio table.
type row struct {
	what   string  // the measured operation
	label  string  // short name for the chart
	ours   string  // ours, formatted
	base   string  // the baseline and its value, formatted; "" for an absolute target
	value  float64 // ours/baseline, or ours alone for an absolute target
	ratio  bool    // value is a ratio, printed with ×
	spread string  // lowest and highest ratio of single runs, for micro-benchmarks
	chart  bool    // value is ours ÷ baseline: drawn in the SVG
	limit  float64 // value must be <= limit; NaN: no target
	target string  // the target as the issue states it
	why    string  // the known cause, shown when missed
	bench  string  // micro-benchmark to profile when missed ("" for none)
	metric metric  // what to profile: time or allocations
	allocs float64 // ours' allocations per op, for micro-benchmarks
	prof   string  // the profile excerpt, filled by profileMissed
}

func (r row) hasTarget() bool { return !math.IsNaN(r.limit) }

// met reports whether the target holds. Allocation counts are averages over
// b.N and may carry a stray background allocation, hence the 0.01 slack.
func (r row) met() bool {
	if r.metric == allocsPerOp {
		return r.value <= r.limit+0.01
	}
	return r.value <= r.limit
}

func (r row) status() string {
	switch {
	case !r.hasTarget():
		return "info"
	case r.met():
		return "met"
	}
	return "MISSED"
}

func (r row) valueString() string {
	switch {
	case r.ratio:
		return fmt.Sprintf("%.2f×", r.value)
	case r.metric == bytesPerOp:
		return fmt.Sprintf("%.0f B", r.value)
	}
	return fmt.Sprintf("%.2f", r.value)
}

func microRows(m microResults) []row {
	var rows []row
	for _, t := range targets {
		bn := benchNamed(t.bench)
		ours := m.median(t.bench, "chans", t.metric)
		r := row{
			what: bn.what, label: bn.name, target: t.text, limit: t.limit, why: t.why,
			bench: t.bench, metric: t.metric, value: ours,
			ours:   fmtMetric(ours, t.metric),
			allocs: m.median(t.bench, "chans", allocsPerOp),
		}
		if t.base != "" {
			b := m.median(t.bench, t.base, t.metric)
			r.base = t.base + " " + fmtMetric(b, t.metric)
			r.value, r.ratio, r.chart = ours/b, true, true
			r.spread = m.spread(t.bench, t.base)
			r.label += " ÷ " + t.base
		}
		rows = append(rows, r)
	}
	return rows
}

// spread is the range of ours/base in time over single runs: runs are
// interleaved, so run i of ours and of the baseline ran side by side.
func (m microResults) spread(bench, base string) string {
	ours, b := m[bench]["chans"], m[bench][base]
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range min(len(ours), len(b)) {
		r := ours[i].ns / b[i].ns
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	if lo > hi {
		return ""
	}
	return fmt.Sprintf("%.2f–%.2f×", lo, hi)
}

func fmtMetric(v float64, m metric) string {
	switch m {
	case allocsPerOp:
		return fmt.Sprintf("%.2f allocs", v)
	case bytesPerOp:
		return fmt.Sprintf("%.0f B", v)
	}
	return fmtNs(v)
}

// rows turns the scale measurements into targets: bytes per queued waiter,
// cancel of all waiters in O(n) total, and Event.Set beside close.
func (s scaleResults) rows() []row {
	bare := s.crowd("bare")
	perWaiter := func(c crowdResult, why string) row {
		extra := c.heapPer - bare.heapPer
		xs := s.crowd(xsyncCrowd.name).heapPer - bare.heapPer
		return row{
			base:  fmt.Sprintf("x/sync Weighted %.0f B", xs),
			what:  fmt.Sprintf("%d goroutines queued on one Lock (%s): heap bytes per waiter above a bare parked goroutine", s.n, strings.TrimPrefix(c.name, "chans Lock, ")),
			label: "Lock bytes/waiter, " + strings.TrimPrefix(c.name, "chans Lock, "),
			ours:  fmt.Sprintf("%.0f B", extra),
			value: extra, limit: 256, target: "aim ≤ 256 B", metric: bytesPerOp, why: why,
		}
	}
	bg, cc := s.crowd(lockCrowd(false).name), s.crowd(lockCrowd(true).name)
	small := s.find(s.small, cc.name)
	set, cl := s.crowd(eventCrowd.name), s.crowd(closeCrowd.name)
	return []row{
		perWaiter(bg, whyWaiterBytes),
		perWaiter(cc, whyWaiterBytesCtx),
		{
			what: fmt.Sprintf("cancel all waiters on one Lock (one cancellable ctx): time per waiter at %d (%v) ÷ at %d (%v)",
				cc.n, cc.perWaiter(), small.n, small.perWaiter()),
			label: fmt.Sprintf("cancel-all time per waiter, n=%d ÷ n=%d", cc.n, small.n),
			ours:  fmt.Sprintf("%.2f× growth", s.growth(cc.name)),
			base: fmt.Sprintf("x/sync %.2f×, channel-mutex %.2f×",
				s.growth(xsyncCrowd.name), s.growth(chanMutexCrowd.name)),
			// O(n) total keeps the time per waiter flat (O(n²) would grow it
			// 10×); the baselines show how much the runtime alone adds for
			// 10× more goroutines (caches, scheduling, GC of their stacks).
			value: s.growth(cc.name), ratio: true, limit: 3,
			target: "O(n) total: per-waiter time grows ≤ 3× for 10× the waiters (O(n²) would be 10×)",
			why:    whyCancel,
		},
		{
			what:  fmt.Sprintf("Event.Set with %d goroutines waiting, until all have woken", s.n),
			label: "Event.Set wakes all ÷ close(chan)",
			ours:  fmtNs(float64(set.free)),
			base:  "close(chan) " + fmtNs(float64(cl.free)),
			value: float64(set.free) / float64(cl.free), ratio: true, chart: true, limit: math.NaN(), target: "none (reported)",
		},
	}
}

// report is everything one run found.
type report struct {
	cfg     config
	machine machine
	rows    []row
	micro   microResults
	scale   scaleResults
	lat     []latencyResult
}

// printTable writes the ratio table for the terminal.
func (r report) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tVALUE\tRUNS\tTARGET\tOURS\tBASELINE\tWHAT")
	for _, x := range r.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.status(), x.valueString(), x.spread, x.target, x.ours, x.base, x.what)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDOFF\tP50\tP99")
	for _, l := range r.lat {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.name, fmtNs(l.q.p50), fmtNs(l.q.p99))
	}
	tw.Flush()
}

// markdown renders BENCHMARKS.md.
func (r report) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.machine
	p("# Benchmarks\n\n")
	p("Generated by `%s` in `bench/` (its own module, so the comparison dependencies never reach the root module). Do not edit by hand: run it again.\n\n", r.cfg.command)
	p("| | |\n|---|---|\n")
	p("| date | %s |\n", m.date.Format(time.DateTime+" MST"))
	p("| machine | %s, %d logical CPUs, GOMAXPROCS %d, %s |\n", m.cpu, m.cores, m.procs, m.platform)
	p("| Go | %s |\n", m.goVersion)
	if m.loadStart != "" {
		p("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.loadStart, m.loadEnd)
	}
	p("| runs | %d of each benchmark, interleaved, -benchtime %s each; every number is the median over the runs |\n", r.cfg.runs, r.cfg.benchtime)
	p("| duration | %v |\n", m.elapsed.Round(time.Second))
	if deps := depVersions(); deps != "" {
		p("| modules | %s |\n", deps)
	}
	if r.cfg.note != "" {
		p("| conditions | %s |\n", r.cfg.note)
	}
	p("\nRatios are ours ÷ baseline, measured in the same run: below 1 ours is faster or smaller. ")
	p("They come from one run of the command above; on a loaded machine absolute times move a lot, ")
	p("ratios much less, since load hits both sides of a ratio alike.\n\n")

	p("Baselines, by their `impl=` name: `chanmutex` a channel of capacity 1 used as a mutex; `mutex` sync.Mutex; ")
	p("`xsync` golang.org/x/sync/semaphore.Weighted of size 1; `chan` a native channel (buffered, capacity %d, or closed); ", queueCap)
	p("`chanx` github.com/smallnest/chanx's UnboundedChan (initial capacity %d); `reflect` reflect.Select.\n\n", queueCap)
	p("## Targets\n\n")
	p("`ratio / value` is from the medians; `single runs` is the lowest and highest ratio of run i of ours to run i of the baseline, which ran side by side: ")
	p("where that range straddles the target, the status can flip from one run of the command to the next.\n\n")
	p("| status | ratio / value | single runs | target | ours | baseline | what |\n|---|---|---|---|---|---|---|\n")
	for _, x := range r.rows {
		p("| %s | %s | %s | %s | %s | %s | %s |\n", mdStatus(x), x.valueString(), x.spread, x.target, x.ours, x.base, x.what)
	}
	if link := svgLink(r.cfg.md, r.cfg.svg); link != "" {
		p("\n![ours ÷ baseline, log scale](%s)\n", link)
	}

	p("\n## All micro-benchmarks\n\n")
	p("Sub-benchmarks `impl=chans` (ours) beside the baselines, as `go test -bench` names them; the last column is ours' time divided by this impl's.\n\n")
	p("| benchmark | one op | impl | time/op | B/op | allocs/op | ours ÷ this |\n|---|---|---|---|---|---|---|\n")
	for _, bn := range benches {
		ours := r.micro.median(bn.name, "chans", nsPerOp)
		for _, im := range bn.impls {
			ns := r.micro.median(bn.name, im.name, nsPerOp)
			p("| %s | %s | %s | %s | %.0f | %.2f | %.2f× |\n", bn.name, bn.what, im.name, fmtNs(ns),
				r.micro.median(bn.name, im.name, bytesPerOp), r.micro.median(bn.name, im.name, allocsPerOp), ours/ns)
		}
	}

	p("\n## Many waiters\n\n")
	p("%d goroutines parked at once. Heap and stack are the growth of the live heap (after a GC) and of stack memory, per goroutine, ", r.scale.n)
	p("once all were parked; goroutine structs are reused from an earlier crowd, so the heap shows what the waits cost. ")
	p("\"Freed in\" is from cancelling their ctx (or Set, close, release) until every goroutine has returned.\n\n")
	p("| waiters | heap B/waiter | stack B/waiter | freed in | per waiter | of which the cancel, Set, close or release call |\n|---|---|---|---|---|---|\n")
	all := append(append(append([]crowdResult{}, r.scale.crowds...), r.scale.small...), r.scale.setWake...)
	for _, c := range all {
		p("| %d × %s | %.0f | %.0f | %v | %v | %v |\n", c.n, c.name, c.heapPer, c.stackPer,
			c.free.Round(time.Microsecond), c.perWaiter(), c.freeCall.Round(time.Microsecond))
	}

	p("\n## Handoff wake-up latency\n\n")
	p("A goroutine parks waiting for a held lock; %v later the holder releases it. Latency is from the release call to the waiter running with the lock: ", parkDelay)
	p("%d handoffs per run, p50 and p99 by golang.org/x/exp/stats.Quantiles, median of %d runs.\n\n", r.cfg.latSamples, r.cfg.runs)
	p("| lock | p50 | p99 |\n|---|---|---|\n")
	for _, l := range r.lat {
		p("| %s | %s | %s |\n", l.name, fmtNs(l.q.p50), fmtNs(l.q.p99))
	}

	missed := false
	for _, x := range r.rows {
		if x.hasTarget() && !x.met() {
			if !missed {
				p("\n## Missed targets and why\n")
				missed = true
			}
			p("\n### %s: %s (target %s)\n\n%s\n", x.what, x.valueString(), x.target, x.why)
			if x.prof != "" {
				p("\n```\n%s\n```\n", strings.TrimRight(x.prof, "\n"))
			}
		}
	}

	p("\n## Reproduce\n\n")
	p("```\ncd bench\ngo run .                  # this report: ratio table, ../BENCHMARKS.md, ratios.svg\ngo run . -quick           # seconds, checks the harness only\n")
	p("go test -run '^$' -bench . -count 10 > new.txt && benchstat -col /impl new.txt\n```\n")
	return b.String()
}

// svgLink is the path of the chart relative to the markdown file, for a
// link that works where the markdown is read; "" if there is no chart.
func svgLink(md, svg string) string {
	if md == "" || svg == "" {
		return ""
	}
	// Relative paths (the defaults, ../BENCHMARKS.md and ratios.svg) only
	// relate through the working directory.
	mdAbs, err1 := filepath.Abs(md)
	svgAbs, err2 := filepath.Abs(svg)
	if err1 != nil || err2 != nil {
		return ""
	}
	rel, err := filepath.Rel(filepath.Dir(mdAbs), svgAbs)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

// depVersions lists the versions of the modules measured, from the build.
func depVersions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var v []string
	for _, d := range bi.Deps {
		if d.Replace != nil {
			v = append(v, d.Path+" (local, "+d.Replace.Path+")")
			continue
		}
		v = append(v, d.Path+" "+d.Version)
	}
	return strings.Join(v, ", ")
}

func mdStatus(x row) string {
	switch x.status() {
	case "MISSED":
		return "**missed**"
	case "met":
		return "met"
	}
	return "info"
}

func benchNamed(name string) bench {
	for _, bn := range benches {
		if bn.name == name {
			return bn
		}
	}
	panic("no bench " + name)
}
