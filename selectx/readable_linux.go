package selectx

import (
	"syscall"
	"unsafe"
)

// pollReadable asks the kernel, without waiting, whether a read on fd would
// not block. Hang-ups and errors count as readable: the read reports them.
func pollReadable(fd uintptr) (bool, error) {
	const (
		pollIn   = 0x1
		pollErr  = 0x8
		pollHup  = 0x10
		pollNval = 0x20
	)
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{fd: int32(fd), events: pollIn}
	var zero syscall.Timespec // do not wait
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_PPOLL,
			uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return false, errno
		}
		return n > 0 && pfd.revents&(pollIn|pollErr|pollHup|pollNval) != 0, nil
	}
}
