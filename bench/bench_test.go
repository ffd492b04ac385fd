package main

import "testing"

// Each Benchmark runs ours (impl=chans) beside its baselines as
// sub-benchmarks, so `go test -bench . -count 10 | benchstat -col /impl -`
// compares them. The bodies are shared with `go run .`; see cases.go.

func BenchmarkLockUncontended(b *testing.B) { runBench(b, "LockUncontended") }
func BenchmarkLockContended(b *testing.B)   { runBench(b, "LockContended") }
func BenchmarkEventWaitSet(b *testing.B)    { runBench(b, "EventWaitSet") }
func BenchmarkResultDone(b *testing.B)      { runBench(b, "ResultDone") }
