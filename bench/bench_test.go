package main

import "testing"

// Each Benchmark runs ours (impl=chans) beside its baselines as
// sub-benchmarks, so `go test -bench . -count 10 | benchstat -col /impl -`
// compares them. The bodies are shared with `go run .`; see cases.go.

func BenchmarkLockUncontended(b *testing.B) { runBench(b, "LockUncontended") }
func BenchmarkLockContended(b *testing.B)   { runBench(b, "LockContended") }
func BenchmarkEventWaitSet(b *testing.B)    { runBench(b, "EventWaitSet") }
func BenchmarkResultDone(b *testing.B)      { runBench(b, "ResultDone") }
func BenchmarkQueueTry(b *testing.B)        { runBench(b, "QueueTry") }
func BenchmarkQueuePutGet(b *testing.B)     { runBench(b, "QueuePutGet") }
func BenchmarkQueuePutGetCtx(b *testing.B)  { runBench(b, "QueuePutGetCtx") }
func BenchmarkUnbounded(b *testing.B)       { runBench(b, "Unbounded") }
func BenchmarkUnboundedTryGet(b *testing.B) { runBench(b, "UnboundedTryGet") }
func BenchmarkFirstChannels(b *testing.B)   { runBench(b, "FirstChannels") }
func BenchmarkFirstLocks(b *testing.B)      { runBench(b, "FirstLocks") }
