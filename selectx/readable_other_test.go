//go:build !linux

package selectx

import (
	"errors"
	"testing"
)

// Readable is implemented on Linux only; elsewhere it says so at once.
func TestReadableUnsupported(t *testing.T) {
	r, _ := pipe(t)
	err, ok := recvWithin(t, Readable(t.Context(), r))
	if !ok || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Readable delivered %v, %v; want errors.ErrUnsupported", err, ok)
	}
}
