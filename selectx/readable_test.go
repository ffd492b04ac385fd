package selectx

import (
	"context"
	"testing"
)

func TestReadablePanicsOnBadInput(t *testing.T) {
	r, _ := pipe(t)
	var nilCtx context.Context
	mustPanic(t, "selectx: Readable of a nil conn", func() { Readable(t.Context(), nil) })
	mustPanic(t, "selectx: Readable with a nil Context", func() { Readable(nilCtx, r) })
}
