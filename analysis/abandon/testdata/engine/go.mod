module github.com/turnstile-go/turnstile/dist/testengine

go 1.25

require github.com/turnstile-go/turnstile v0.0.0
