package main

import "testing"

// An impl is one implementation measured in a benchmark: ours (package chans
// or selectx, always named "chans") or a baseline.
type impl struct {
	name string // sub-benchmark name after "impl=", as benchstat groups it
	fn   func(b *testing.B)
}

// A bench is one operation measured for ours and its baselines, in the same
// run. The Benchmark functions in bench_test.go and the harness in main.go
// both run these bodies, so `go test -bench` and `go run .` measure the same
// code.
type bench struct {
	name  string // Benchmark function name without the "Benchmark" prefix
	what  string // what one op is, for the report
	impls []impl // impls[0] is ours
}

// A target is one line of the targets, checked against the medians.
type target struct {
	bench  string  // bench name
	base   string  // baseline impl; "" for an absolute limit on ours
	metric metric  // what is compared
	limit  float64 // ours/base (or ours alone) must be <= limit
	text   string  // the target as the issue states it
	why    string  // the known cause, printed only if the target is missed
}

type metric int

const (
	nsPerOp metric = iota
	allocsPerOp
	bytesPerOp
)

// benches lists every micro-benchmark in report order.
var benches = []bench{
	{"LockUncontended", "Lock uncontended: Acquire(Background) + receive + Release", []impl{
		{"chans", lockUncontendedChans},
		{"chanmutex", lockUncontendedChanMutex},
		{"mutex", lockUncontendedMutex},
		{"xsync", lockUncontendedXSync},
	}},
	{"LockContended", "Lock contended: acquire + release by 4×GOMAXPROCS goroutines (FIFO handoff)", []impl{
		{"chans", lockContendedChans},
		{"xsync", lockContendedXSync},
		{"chanmutex", lockContendedChanMutex},
		{"mutex", lockContendedMutex},
	}},
	{"EventWaitSet", "Event.Wait on a set Event + receive", []impl{
		{"chans", eventWaitSetChans},
		{"chan", eventWaitSetChan},
	}},
	{"ResultDone", "Result.Done on a set Result + receive", []impl{
		{"chans", resultDoneChans},
		{"chan", eventWaitSetChan},
	}},
	{"QueueTry", "Queue TryPut + TryGet (cap 64)", []impl{
		{"chans", queueTryChans},
		{"chan", queueTryChan},
	}},
	{"QueuePutGet", "Queue <-Put(Background) + <-Get(Background) (cap 64)", []impl{
		{"chans", queuePutGetChans},
		{"chan", queuePutGetChan},
	}},
	{"QueuePutGetCtx", "Queue <-Put(ctx) + <-Get(ctx), cancellable ctx (cap 64)", []impl{
		{"chans", queuePutGetCtxChans},
		{"chan", queuePutGetCtxChan},
	}},
	{"Unbounded", "unbounded Queue, producer TryPut → consumer <-Get, per item", []impl{
		{"chans", unboundedChans},
		{"chanx", unboundedChanx},
	}},
	{"UnboundedTryGet", "unbounded Queue, producer TryPut → consumer TryGet, <-Get only when empty, per item", []impl{
		{"chans", unboundedTryGetChans},
		{"chanx", unboundedChanx},
	}},
	{"FirstChannels", "selectx.First over 4 channels, one ready", []impl{
		{"chans", firstChannelsChans},
		{"reflect", firstChannelsReflect},
	}},
	{"FirstLocks", "selectx.First over 4 Lock.Acquire, one free, then release", []impl{
		{"chans", firstLocksChans},
		{"reflect", firstLocksReflect},
	}},
}

// targets lists the targets in report order.
var targets = []target{
	{"LockUncontended", "chanmutex", nsPerOp, 3, "≤ 3× the channel-mutex", whyLockTime},
	{"LockUncontended", "", allocsPerOp, 1, "≤ 1 alloc", whyLockAllocs},
	{"LockContended", "xsync", nsPerOp, 1.1, "≤ 1.1× x/sync Weighted contended", whyContended},
	{"EventWaitSet", "chan", nsPerOp, 1.2, "≤ 1.2× a closed-channel receive", whyLatchTime},
	{"EventWaitSet", "", allocsPerOp, 0, "0 allocs", whyLatchAllocs},
	{"ResultDone", "chan", nsPerOp, 1.2, "≤ 1.2× a closed-channel receive", whyLatchTime},
	{"ResultDone", "", allocsPerOp, 0, "0 allocs", whyLatchAllocs},
	{"QueueTry", "chan", nsPerOp, 1, "≤ 1× a buffered channel send + receive", whyQueueTry},
	{"QueuePutGet", "chan", nsPerOp, 3, "≤ 3× a buffered channel send + receive", whyQueuePutGet},
	{"QueuePutGetCtx", "chan", nsPerOp, 3, "≤ 3× a buffered channel send + receive", whyQueuePutGet},
	{"Unbounded", "chanx", nsPerOp, 0.5, "≥ 2× faster than chanx per item (ratio ≤ 0.5)", whyUnbounded},
	{"UnboundedTryGet", "chanx", nsPerOp, 0.5, "≥ 2× faster than chanx per item (ratio ≤ 0.5)", whyUnbounded},
	{"FirstChannels", "reflect", nsPerOp, 1, "≤ 1× reflect.Select over 4 channels", whyFirstChannels},
	{"FirstLocks", "reflect", nsPerOp, 1, "≤ 1× reflect.Select over 4 channels", whyFirst},
}

// runBench runs every impl of the named bench as sub-benchmarks impl=NAME.
func runBench(b *testing.B, name string) {
	for _, bn := range benches {
		if bn.name == name {
			for _, im := range bn.impls {
				b.Run("impl="+im.name, im.fn)
			}
			return
		}
	}
	b.Fatalf("no bench %q", name)
}
