//go:build !linux

package selectx

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

// watcher would wait for readiness; there is none outside Linux.
type watcher struct{}

func watch(syscall.RawConn) (*watcher, error) {
	return nil, fmt.Errorf("selectx: Readable on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func (*watcher) wait(context.Context) error { panic("unreachable") }
