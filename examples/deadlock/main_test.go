package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestRun deadlocks the two workers and checks the dump: both locks, and for
// each the stacks of both workers, the one holding it and the one waiting.
func TestRun(t *testing.T) {
	is := is.New(t)
	var out, errOut bytes.Buffer
	is.NoErr(run(t.Context(), nil, &out, &errOut))
	dump := out.String()
	t.Log(dump)

	is.True(strings.HasPrefix(dump, "debug page: http://127.0.0.1:"))
	is.True(strings.Contains(dump, "turnstile: 2 tracked primitive(s) at "))
	for _, lock := range []string{`Lock "accounts-lock" (#`, `Lock "ledger-lock" (#`} {
		i := strings.Index(dump, lock)
		is.True(i >= 0) // the lock is in the dump
		section := dump[i+1:]
		if j := strings.Index(section, "\nLock "); j >= 0 {
			section = section[:j]
		}
		is.True(strings.Contains(section, "locked, 1 waiting"))
		is.True(strings.Contains(section, "  holder: lock, held "))
		is.True(strings.Contains(section, "  waiter: lock, waiting "))
		is.True(strings.Contains(section, ".payroll\n")) // both workers' stacks
		is.True(strings.Contains(section, ".audit\n"))
		is.True(strings.Contains(section, "examples/deadlock/main.go:"))
	}
	is.True(strings.Contains(dump, "found a cycle:\n"+
		"  accounts-lock is held by payroll and waited for by audit\n"+
		"  ledger-lock is held by audit and waited for by payroll\n"))

	progress := errOut.String()
	is.True(strings.Contains(progress, "deadlock: both workers stuck after "))
	is.True(strings.HasSuffix(progress, "deadlock: workers stopped, page closed\n"))
}

// TestServe keeps the page up (-serve), fetches it over loopback while the
// workers are stuck, and then interrupts the program.
func TestServe(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-serve"}, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	r := bufio.NewReader(pr)
	first, err := r.ReadString('\n')
	is.NoErr(err)
	url, ok := strings.CutPrefix(strings.TrimSpace(first), "debug page: ")
	is.True(ok)
	go io.Copy(io.Discard, r) // the rest of the dump

	for _, q := range []string{"", "?format=json"} {
		resp, err := http.Get(url + q)
		is.NoErr(err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		is.NoErr(err)
		is.Equal(resp.StatusCode, http.StatusOK)
		is.True(strings.Contains(string(body), "accounts-lock"))
		is.True(strings.Contains(string(body), "ledger-lock"))
		is.True(strings.Contains(string(body), ".payroll"))
		is.True(strings.Contains(string(body), ".audit"))
	}
	http.DefaultClient.CloseIdleConnections()
	cancel() // Ctrl-C
	is.NoErr(<-done)
}

func TestRunBadFlag(t *testing.T) {
	is := is.New(t)
	err := run(context.Background(), []string{"-wait", "soon"}, io.Discard, io.Discard)
	is.True(err != nil)
}
