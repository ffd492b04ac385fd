module example.com/user

go 1.25

require (
	github.com/turnstile-go/turnstile v0.0.0
	github.com/turnstile-go/turnstile/dist/testengine v0.0.0
)
