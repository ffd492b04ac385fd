package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// TestRun runs the whole program on real loopback sockets (synctest cannot
// treat network I/O as durably blocked) and checks that its accounts agree.
func TestRun(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	is.NoErr(run(t.Context(), []string{"-after", "200ms", "-work", "10ms", "-clients", "3"}, &out))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	t.Log(out.String())

	is.True(strings.HasPrefix(lines[0], "serving on http://127.0.0.1:"))
	// The poller's lines come in order, and may go on after shutdown began
	// waiting for it, but never after it stopped the poller.
	var rest []string
	polls := 0
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "poller: request") {
			is.True(len(rest) <= 1) // before "poller stopped"
			polls++
			is.Equal(l, fmt.Sprintf("poller: request %d: 200 OK", polls))
		} else {
			rest = append(rest, l)
		}
	}
	lines = rest
	is.True(polls > 0)
	is.Equal(len(lines), 7)
	is.Equal(lines[0], "shutdown: waiting for the poller's request to finish")
	is.Equal(lines[1], "shutdown: poller stopped between requests")
	is.True(strings.HasPrefix(lines[2], "shutdown: refusing new requests; waiting for "))
	is.Equal(lines[3], "shutdown: no request in flight; closing the listener")
	is.Equal(lines[4], fmt.Sprintf("poller: %d requests, all answered", polls))

	var answered, refused, closed, cutOff, served, serverRefused int
	_, err := fmt.Sscanf(lines[5], "clients: %d answered, %d refused during shutdown, %d found the listener closed, %d cut off",
		&answered, &refused, &closed, &cutOff)
	is.NoErr(err)
	_, err = fmt.Sscanf(lines[6], "server: %d answered, %d refused", &served, &serverRefused)
	is.NoErr(err)
	is.Equal(cutOff, 0)
	is.Equal(refused+closed, 3) // each client ends one of these two ways
	is.Equal(served, polls+answered)
	is.Equal(serverRefused, refused)
}

func TestRunBadFlags(t *testing.T) {
	is := is.New(t)
	is.True(run(t.Context(), []string{"-clients", "-1"}, io.Discard) != nil)
	is.True(run(t.Context(), []string{"-after", "never"}, io.Discard) != nil)
}

// blockingServer returns a server whose requests each report on started and
// then wait for a value on proceed.
func blockingServer() (s *server, started, proceed chan struct{}) {
	started, proceed = make(chan struct{}, 100), make(chan struct{})
	s = &server{work: func(ctx context.Context) {
		started <- struct{}{}
		select {
		case <-proceed:
		case <-ctx.Done():
		}
	}}
	return s, started, proceed
}

type result struct {
	status int
	err    error
}

func get(ctx context.Context, url string) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return result{err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{err: err}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return result{status: resp.StatusCode}
}

// TestDrainWaitsForInFlight sends real requests: the drain is granted only
// after the last request in flight is answered, and requests arriving during
// the drain are refused.
func TestDrainWaitsForInFlight(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // safety net
	defer cancel()
	s, started, proceed := blockingServer()
	srv := httptest.NewServer(s)
	defer srv.Close()

	const n = 3
	results := make(chan result, n)
	for range n {
		go func() { results <- get(ctx, srv.URL) }()
	}
	for range n {
		<-started
	}
	drained := s.drain(ctx)

	// Refused at once, without waiting behind the drain.
	is.Equal(get(ctx, srv.URL), result{status: http.StatusServiceUnavailable})

	for i := range n {
		select {
		case <-drained:
			t.Fatalf("drained with %d requests in flight", n-i)
		default:
		}
		proceed <- struct{}{}
		// The request released its read lock before its answer was sent.
		is.Equal(<-results, result{status: http.StatusOK})
	}
	release, ok := <-drained
	is.True(ok)
	is.Equal(s.served.Load(), int64(n))
	is.Equal(s.refused.Load(), int64(1))

	// Giving the write lock back reopens the server.
	release()
	go func() { <-started; proceed <- struct{}{} }()
	is.Equal(get(ctx, srv.URL), result{status: http.StatusOK})
}

// A drain whose ctx ends gives up and leaves the server open (a write
// acquisition is all or nothing).
func TestDrainGivesUp(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // safety net
	defer cancel()
	s, started, proceed := blockingServer()
	srv := httptest.NewServer(s)
	defer srv.Close()

	results := make(chan result, 1)
	go func() { results <- get(ctx, srv.URL) }()
	<-started

	dctx, giveUp := context.WithCancel(ctx)
	drained := s.drain(dctx)
	is.Equal(get(ctx, srv.URL).status, http.StatusServiceUnavailable)
	giveUp()
	_, ok := <-drained
	is.True(!ok)

	proceed <- struct{}{}
	is.Equal((<-results).status, http.StatusOK)
	go func() { <-started; proceed <- struct{}{} }()
	is.Equal(get(ctx, srv.URL).status, http.StatusOK) // open again
}

// handlerTransport serves requests by calling a handler in memory, so the
// poller can run inside a synctest bubble, where every wait is durable.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// TestPollerStopsBetweenRequests: stopping the poller waits for its request
// in flight, and the poller starts no other one afterwards.
func TestPollerStopsBetweenRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s, started, proceed := blockingServer()
		var out bytes.Buffer
		p := &poller{client: &http.Client{Transport: handlerTransport{s}}, url: "http://poller.test/", out: &out}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		polled := make(chan struct{})
		go func() { p.run(ctx); close(polled) }()

		// Let two requests through; the third stays in flight.
		for range 2 {
			<-started
			proceed <- struct{}{}
		}
		<-started

		stopped := make(chan struct{})
		go func() {
			release, err := p.stop(context.Background(), cancel)
			is.NoErr(err)
			release()
			close(stopped)
		}()
		synctest.Wait() // stop is blocked on the poller's lock
		select {
		case <-stopped:
			t.Fatal("stop returned while a request was in flight")
		default:
		}

		proceed <- struct{}{}
		<-stopped
		<-polled
		is.Equal(p.requests, 3)
		is.Equal(out.String(), "poller: request 1: 200 OK\npoller: request 2: 200 OK\npoller: request 3: 200 OK\n")
		is.Equal(len(started), 0) // no fourth request began
	})
}
