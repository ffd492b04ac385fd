module github.com/turnstile-go/turnstile/analysis

go 1.25.0

require (
	github.com/matryer/is v1.4.1
	go.uber.org/goleak v1.3.0
	golang.org/x/tools v0.49.0
)

require (
	golang.org/x/mod v0.39.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)

replace github.com/turnstile-go/turnstile => ..
