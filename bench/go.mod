module github.com/turnstile-go/turnstile/bench

go 1.26.0

require (
	github.com/destel/rill v0.8.1
	github.com/matryer/is v1.4.1
	github.com/smallnest/chanx v1.2.0
	github.com/sourcegraph/conc v0.3.0
	github.com/turnstile-go/turnstile v0.0.0
	golang.org/x/exp v0.0.0-20261014143641-f0251eb4aa3e
	golang.org/x/perf v0.0.0-20260908200009-22c9c6c9d4da
	golang.org/x/sync v0.24.0
)

require (
	github.com/aclements/go-moremath v0.0.0-20210112150236-f10218a38794 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.9.0 // indirect
)

replace github.com/turnstile-go/turnstile => ../

tool golang.org/x/perf/cmd/benchstat
