package main

import (
	"fmt"
	"math"
)

// ours is the impl= name of turnstile's side of every benchmark.
const ours = "chans"

// A target is one line of an issue's targets: ours in bench, in unit, divided
// by the baseline impl base (or alone, if base is ""), must be at most limit.
// A target with a NaN limit is shown for information and checks nothing.
type target struct {
	bench string
	unit  string
	base  string
	limit float64
	text  string // the target as its issue states it
	issue string // where it comes from
	why   string // the known cause, printed only when the target is missed
}

// Units the targets use, as the benchmarks print them.
const (
	nsOp     = "ns/op"
	allocsOp = "allocs/op"
)

var info = math.NaN()

// targets lists every target in report order: issue 12's table, issue 13's
// two, then those kept from the first benchmark report, then the rows shown
// for information.
var targets = []target{
	{"LockUncontended", nsOp, "chanmutex", 4.5, "≤ 4.5× the channel-mutex (the channel floor)", "#12", whyLockChannel},
	{"SemaphoreAcquireN", nsOp, "xsync", 6, "≤ 6× x/sync Acquire(2)+Release(2)", "#12", whySemaphoreChannel},
	{"LockWait", nsOp, "xsync", 1.5, "≤ 1.5× x/sync Weighted(1)", "#12", whyLockWait},
	{"LockWait", allocsOp, "", 1, "≤ 1 alloc", "#12", whyLockWait},
	{"LockGuard", nsOp, "xsync", 1.5, "≤ 1.5× x/sync Weighted(1)", "#12 (measure both)", whyLockGuard},
	{"LockGuard", allocsOp, "", 0, "0 allocs (a value-type hold)", "#12 (measure both)", whyLockGuard},
	{"SemaphoreWait", nsOp, "xsync", 1.5, "≤ 1.5× x/sync", "#12", whySemaphoreWait},
	{"QueueWait", nsOp, "chan", 1, "≤ 1.0× a buffered channel send+receive", "#12", whyQueueWait},
	{"QueueWait", allocsOp, "", 0, "0 allocs", "#12", whyQueueWait},
	{"QueueTry", nsOp, "chan", 1, "≤ 1.0× a buffered channel", "#12", whyQueueTry},
	{"LockWaitContended", nsOp, "xsync", 1, "≤ 1.0× x/sync contended", "#12", whyContended},
	{"FirstLocks", nsOp, "reflect", 2, "≤ 2.0× reflect.Select over four channel-mutex sends", "#12", whyFirstLocks},
	{"FirstLocks", "goroutines/op", "", 0, "0 goroutines started", "#12", whyFirstLocks},
	{"Crowd/ctx=cancel", "B/waiter", "", 256, "≤ 256 B", "#12", whyCrowd},
	{"SelectLoop", nsOp, "", 1000, "≤ 1 µs", "#12", whySelectLoop},
	{"Handoff", nsOp, "chan", 1.5, "≤ 1.5× an unbuffered channel ping-pong (moonshot)", "#12", whyHandoff},

	{"Fanout/work=none", nsOp, "errgroup", 1.2, "≤ 1.2× errgroup with SetLimit", "#13", whyFanout},
	{"Fanout/work=sha256-1KiB", nsOp, "errgroup", 1.2, "≤ 1.2× errgroup with SetLimit", "#13", whyFanout},
	{"Pipeline/work=none", nsOp, "chan", 1.5, "≤ 1.5× plain channels", "#13", whyPipeline},
	{"Pipeline/work=sha256-1KiB", nsOp, "chan", 1.5, "≤ 1.5× plain channels", "#13", whyPipeline},

	{"EventWaitSet", nsOp, "chan", 1.2, "≤ 1.2× a closed-channel receive", "first report", whyLatch},
	{"EventWaitSet", allocsOp, "", 0, "0 allocs", "first report", whyLatch},
	{"ResultDone", nsOp, "chan", 1.2, "≤ 1.2× a closed-channel receive", "first report", whyLatch},
	{"ResultDone", allocsOp, "", 0, "0 allocs", "first report", whyLatch},
	{"LockContended", nsOp, "xsync", 1.1, "≤ 1.1× x/sync contended", "first report", whyContendedChan},
	{"QueuePutGet", nsOp, "chan", 3, "≤ 3× a buffered channel send+receive", "first report", whyQueueChannel},
	{"QueuePutGetCtx", nsOp, "chan", 3, "≤ 3× a buffered channel send+receive", "first report", whyQueueChannel},
	{"Unbounded", nsOp, "chanx", 0.5, "≥ 2× faster than chanx per item", "first report", whyUnbounded},
	{"UnboundedTryGet", nsOp, "chanx", 0.5, "≥ 2× faster than chanx per item", "first report", whyUnbounded},
	{"FirstChannels", nsOp, "reflect", 1, "≤ 1× reflect.Select", "first report", whyFirstChannels},

	{"Crowd/ctx=background", "B/waiter", "", info, "", "", ""},
	{"Crowd/ctx=cancel", "free-goroutines/op", "", info, "", "", ""},
	{"Handoff", "handoffs/op", "", info, "", "", ""},
	{"Wakeup", "p50-ns", "xsync", info, "", "", ""},
	{"Wakeup", "p99-ns", "xsync", info, "", "", ""},
	{"WakeAll", "free-ns/waiter", "chan", info, "", "", ""},
}

// about says what one op of each benchmark is, for the report. Every
// benchmark has a line (TestEveryBenchmarkIsDescribed).
var about = map[string]string{
	"LockUncontended":   "`<-Lock.Acquire(Background)` + Release, nobody else around",
	"LockWait":          "`Lock.AcquireWait(Background)` + Release, uncontended",
	"LockGuard":         "`Lock.AcquireGuard(Background)` + `Guard.Release`, uncontended",
	"LockContended":     "`<-Lock.Acquire` + Release by 4×GOMAXPROCS goroutines at once",
	"LockWaitContended": "`Lock.AcquireWait` + Release by 4×GOMAXPROCS goroutines at once",
	"Handoff":           "2×GOMAXPROCS goroutines take turns with one lock (`AcquireWait`): one op is one acquisition, nearly always a FIFO handoff to a parked waiter (`handoffs/op` says how nearly); `chan` is two goroutines passing a message back and forth on an unbuffered channel, one op per message",
	"Wakeup":            "a goroutine parked on a held lock (`<-Acquire`) is woken by the release: p50/p99 from the release call to the waiter running with the lock",
	"SemaphoreAcquireN": "`<-Semaphore.AcquireN(Background, 2)` + Release, 2 permits of 2, uncontended",
	"SemaphoreWait":     "`Semaphore.AcquireNWait(Background, 2)` + Release, uncontended",
	"EventWaitSet":      "`<-Event.Wait()` on a set Event",
	"ResultDone":        "`<-Result.Done()` on a set Result",
	"QueueTry":          "`TryPut` + `TryGet` on a Queue of capacity 64",
	"QueueWait":         "`PutWait` + `GetWait` on a Queue of capacity 64",
	"QueuePutGet":       "`<-Put(Background)` + `<-Get(Background)` on a Queue of capacity 64",
	"QueuePutGetCtx":    "`<-Put(ctx)` + `<-Get(ctx)` with a cancellable ctx, capacity 64",
	"Unbounded":         "one item through an unbounded Queue: producer `TryPut`, consumer `<-Get`",
	"UnboundedTryGet":   "one item through an unbounded Queue: producer `TryPut`, consumer `TryGet`, `<-Get` only when empty",
	"FirstChannels":     "`selectx.First` over four channels (`selectx.Chan`), one ready",
	"FirstLocks":        "`selectx.First` over `Lock.Acquire` of four Locks, three held, the free one rotating; the winner is held again",
	"SelectLoop":        "one `selectx.Select` over a Mailbox message, a Queue item, a Lock and a Semaphore token, one of them (rotating) ready",
	"Crowd":             "-crowd goroutines (10^5) queued on one held Lock in `<-Acquire`, with one shared cancellable ctx (freed by cancelling it) or with Background (freed by releasing); one op is one crowd",
	"WakeAll":           "-crowd goroutines (10^5) waiting on `Event.Wait`, woken by one `Set`; one op is one crowd",
	"Fanout":            "1,000 tasks, at most 8 at once, results in submission order: `TaskGroup.Go` + `Collect`",
	"Pipeline":          "1,000 items: a source, a stage of 8 workers, one sink, queues of 16 between them: `Source`, `Stage`, `Sink`",
}

// A row is one target checked against a run's results.
type row struct {
	target
	ours, base summary
	value      float64 // ours ÷ base, of the medians; ours alone without a base
	lo, hi     float64 // the lowest and highest ratio of single rounds
	paired     bool    // lo and hi are known
	prof       string  // the profile of a missed target, filled by profileMissed
}

// check evaluates every target against r.
func check(r results) []row {
	rows := make([]row, 0, len(targets))
	for _, t := range targets {
		x := row{target: t, ours: r.summary(series{t.bench, ours, t.unit})}
		x.value = x.ours.center
		if t.base != "" {
			x.base = r.summary(series{t.bench, t.base, t.unit})
			x.value = x.ours.center / x.base.center
			x.lo, x.hi, x.paired = r.roundRatios(series{t.bench, ours, t.unit}, series{t.bench, t.base, t.unit})
		}
		rows = append(rows, x)
	}
	return rows
}

func (x row) hasData() bool   { return x.ours.n > 0 && (x.base.n > 0 || x.target.base == "") }
func (x row) hasTarget() bool { return !math.IsNaN(x.limit) }
func (x row) ratio() bool     { return x.target.base != "" }

// met reports whether the target holds. Counts per op (allocations,
// goroutines) are averages over b.N ops and may carry a stray allocation of
// the runtime's or the testing package's, hence a slack of 0.01.
func (x row) met() bool {
	if counted(x.unit) {
		return x.value <= x.limit+0.01
	}
	return x.value <= x.limit
}

func (x row) missed() bool { return x.hasTarget() && x.hasData() && !x.met() }

func (x row) status() string {
	switch {
	case !x.hasData():
		return "no data"
	case !x.hasTarget():
		return "info"
	case x.met():
		return "met"
	}
	return "MISSED"
}

func counted(unit string) bool { return unit == allocsOp || unit == "goroutines/op" }

// valueString is the checked value: a ratio with ×, or ours in its unit.
func (x row) valueString() string {
	if !x.hasData() {
		return "–"
	}
	if x.ratio() {
		return fmt.Sprintf("%.2f×", x.value)
	}
	return fmtUnit(x.value, x.unit)
}

// straddles reports whether the single rounds of a ratio target lie on both
// sides of its limit: one round met it, another missed it.
func (x row) straddles() bool {
	return x.paired && x.hasTarget() && x.lo <= x.limit && x.hi > x.limit
}

func (x row) spread() string {
	if !x.paired {
		return ""
	}
	return fmt.Sprintf("%.2f–%.2f×", x.lo, x.hi)
}

func (x row) oursString() string {
	if x.ours.n == 0 {
		return "–"
	}
	return fmtUnit(x.ours.center, x.unit)
}

func (x row) baseString() string {
	if !x.ratio() {
		return ""
	}
	if x.base.n == 0 {
		return x.target.base + " –"
	}
	return x.target.base + " " + fmtUnit(x.base.center, x.unit)
}

// label is the row's name in the chart and the terminal table.
func (x row) label() string {
	l := x.bench
	if x.unit != nsOp {
		l += " " + x.unit
	}
	if x.ratio() {
		l += " ÷ " + x.target.base
	}
	return l
}

// fmtUnit formats v in unit for a table: times in ns, µs or ms with 3
// significant digits, counts with two decimals, bytes whole.
func fmtUnit(v float64, unit string) string {
	switch unit {
	case nsOp, "p50-ns", "p99-ns", "free-ns/waiter":
		return fmtNs(v)
	case allocsOp:
		return fmt.Sprintf("%.2f allocs", v)
	case "goroutines/op", "free-goroutines/op":
		return fmt.Sprintf("%.2f goroutines", v)
	case "B/waiter", "B/op":
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}
