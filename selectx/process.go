package selectx

import "os/exec"

// Process returns a channel that delivers cmd.Wait()'s result once the
// process has exited (kiwi's WaitForProcess), then is closed. cmd must have
// been started, and nothing else may call cmd.Wait: Process does, once, in a
// goroutine of its own, because waiting for a process can only be done by
// blocking. The goroutine ends when the process does.
//
// The channel is buffered (capacity 1), so the goroutine never waits for a
// receiver: if the caller never receives, the result stays in the buffer and
// nothing leaks beyond the channel. Process takes no ctx because it takes
// nothing back: when ctx ends, stop receiving (and kill the process if that
// is what you want); a later receive still yields the result. To wait on it
// with First or Select, use Chan(Process(cmd)).
//
// Process panics if cmd is nil or has not been started.
func Process(cmd *exec.Cmd) <-chan error {
	if cmd == nil || cmd.Process == nil {
		panic("selectx: Process needs a started command")
	}
	c := make(chan error, 1)
	go func() {
		c <- cmd.Wait()
		close(c)
	}()
	return c
}
