// Command turnstilevet runs the abandon analyzer, which reports turnstile
// waits abandoned in a select on a ctx that is not cancelled, waits whose
// channel is dropped, and grants not released on every path.
//
// Run it on its own:
//
//	go install github.com/turnstile-go/turnstile/analysis/cmd/turnstilevet@latest
//	turnstilevet ./...
//
// or through go vet, which then runs it instead of vet's own analyzers, per
// package and cached like a build:
//
//	go vet -vettool=$(go env GOPATH)/bin/turnstilevet ./...
//
// See package github.com/turnstile-go/turnstile/analysis/abandon for what it
// reports and how to silence a report.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/turnstile-go/turnstile/analysis/abandon"
)

func main() { singlechecker.Main(abandon.Analyzer) }
