package selectx

import "context"

// checkCtx panics if ctx is nil, naming the function that was given it. Every
// function here that takes a ctx calls it first, before it touches any
// state, so that a nil ctx is a clear misuse panic (as context.WithCancel's
// "cannot create context from nil parent") rather than a nil dereference
// somewhere inside, possibly with a lock held or half the ops started.
func checkCtx(fn string, ctx context.Context) {
	if ctx == nil {
		panic("selectx: " + fn + ": nil Context")
	}
}
