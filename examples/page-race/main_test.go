package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// handlerTransport serves requests by calling a handler in memory, so that
// a race can run inside a synctest bubble on its fake clock, where the
// output is exact. It honours the request's ctx as the handler does.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

func TestRaceDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		client := &http.Client{Transport: handlerTransport{siteHandler()}}
		var urls []string
		for _, p := range sitePaths {
			urls = append(urls, "http://race.test"+p)
		}
		var out bytes.Buffer
		start := time.Now()
		is.NoErr(race(t.Context(), client, urls, 400*time.Millisecond, &out))
		is.Equal(time.Since(start), 400*time.Millisecond)
		is.Equal(out.String(), `racing 4 pages for at most 400ms
http://race.test/fast: 200 OK after 50ms
http://race.test/medium: 200 OK after 150ms
http://race.test/slow: 200 OK after 250ms
not done after 400ms: http://race.test/stuck
`)
		// race returned only after the stuck fetch stopped; synctest.Test
		// checks that no goroutine is left.
	})
}

func TestRaceAllDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		client := &http.Client{Transport: handlerTransport{siteHandler()}}
		urls := []string{"http://race.test/medium", "http://race.test/missing", "http://race.test/fast"}
		var out bytes.Buffer
		is.NoErr(race(t.Context(), client, urls, time.Second, &out))
		is.Equal(out.String(), `racing 3 pages for at most 1s
http://race.test/missing: 404 Not Found after 0s
http://race.test/fast: 200 OK after 50ms
http://race.test/medium: 200 OK after 150ms
all done after 150ms
`)
	})
}

func TestRaceInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		client := &http.Client{Transport: handlerTransport{siteHandler()}}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		var out bytes.Buffer
		err := race(ctx, client, []string{"http://race.test/fast", "http://race.test/stuck"}, time.Second, &out)
		is.True(errors.Is(err, context.DeadlineExceeded))
		is.Equal(out.String(), "racing 2 pages for at most 1s\nhttp://race.test/fast: 200 OK after 50ms\n")
	})
}

// TestRun races the built-in site over real loopback sockets, on real time,
// with a deadline far beyond the slowest page that answers.
func TestRun(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	is.NoErr(run(t.Context(), []string{"-deadline", "1s"}, &out))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	is.Equal(len(lines), 5)
	is.Equal(lines[0], "racing 4 pages for at most 1s")
	var done []string
	for _, l := range lines[1:4] {
		u, rest, ok := strings.Cut(l, ": ")
		is.True(ok)
		is.True(strings.HasPrefix(rest, "200 OK after "))
		done = append(done, u[strings.LastIndex(u, "/"):])
	}
	slices.Sort(done)
	is.Equal(done, []string{"/fast", "/medium", "/slow"})
	is.True(strings.HasPrefix(lines[4], "not done after 1s: http://127.0.0.1:"))
	is.True(strings.HasSuffix(lines[4], "/stuck"))
}

func TestRunURLs(t *testing.T) {
	is := is.New(t)
	srv := httptest.NewServer(siteHandler())
	defer srv.Close()
	var out bytes.Buffer
	// Duplicates are raced once.
	is.NoErr(run(t.Context(), []string{"-urls", srv.URL + "/fast, " + srv.URL + "/fast," + srv.URL + "/nope"}, &out))
	is.True(strings.HasPrefix(out.String(), "racing 2 pages for at most 400ms\n"))
	is.True(strings.Contains(out.String(), srv.URL+"/nope: 404 Not Found after "))
	is.True(strings.Contains(out.String(), "all done after "))
}

func TestRunBadFlags(t *testing.T) {
	is := is.New(t)
	is.True(run(t.Context(), []string{"-deadline", "0s"}, io.Discard) != nil)
	is.True(run(t.Context(), []string{"-urls", " , "}, io.Discard) != nil)
}
