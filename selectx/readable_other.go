//go:build !linux

package selectx

import (
	"errors"
	"fmt"
	"runtime"
)

func pollReadable(uintptr) (bool, error) {
	return false, fmt.Errorf("selectx: Readable on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
