module github.com/turnstile-go/turnstile/linearize

go 1.25

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/matryer/is v1.4.1
	github.com/turnstile-go/turnstile v0.0.0
)

replace github.com/turnstile-go/turnstile => ..
