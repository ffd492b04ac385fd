package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
)

// These tests use real loopback sockets, which synctest cannot treat as
// durably blocked, so they run on real time. Every wait is on an event
// (a channel, a hook); the ctx timeouts are only a safety net.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRunDemo(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	is.NoErr(run(testContext(t), []string{"-clients", "20"}, &out))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	is.Equal(len(lines), 4)
	is.True(strings.HasPrefix(lines[0], "upstream on http://127.0.0.1:"))
	is.Equal(lines[1:], []string{
		"20 clients asked for /page at once: 1 fetched it upstream, 19 waited for that fetch, 0 found it cached",
		"upstream served /page 1 time(s)",
		"one more client: X-Cache HIT; upstream served /page 1 time(s)",
	})
}

func TestRunBadFlags(t *testing.T) {
	is := is.New(t)
	is.True(run(t.Context(), []string{"-clients", "0"}, io.Discard) != nil)
	is.True(run(t.Context(), []string{"-nope"}, io.Discard) != nil)
}

// upstream is a test origin server that counts requests per path and holds
// every response until release is closed.
type upstream struct {
	*httptest.Server
	release chan struct{}
	arrived chan string // each request's path, as it arrives
	mu      sync.Mutex
	count   map[string]int
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{release: make(chan struct{}), arrived: make(chan string, 100), count: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.count[r.URL.Path]++
		u.mu.Unlock()
		u.arrived <- r.URL.Path
		select {
		case <-u.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "page "+r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) served(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count[path]
}

// startProxy serves a new proxy on loopback and returns it, a client that
// uses it, and a channel that receives the URL of every request that starts
// waiting for another one's fetch.
func startProxy(t *testing.T) (*proxy, *http.Client, chan string) {
	p := newProxy(30 * time.Second)
	waits := make(chan string, 100)
	p.onWait = func(url string) { waits <- url }
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	proxyURL, _ := url.Parse(srv.URL)
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
	t.Cleanup(tr.CloseIdleConnections)
	return p, &http.Client{Transport: tr}, waits
}

type response struct {
	status int
	cache  string
	body   string
	err    error
}

func fetch(ctx context.Context, c *http.Client, target string) response {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return response{err: err}
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header.Get("X-Cache"), string(body), err}
}

func TestConcurrentRequestsMakeOneFetch(t *testing.T) {
	is := is.New(t)
	ctx := testContext(t)
	up := newUpstream(t)
	p, client, waits := startProxy(t)

	const n = 16
	results := make(chan response, n)
	for range n {
		go func() { results <- fetch(ctx, client, up.URL+"/a") }()
	}
	// One request reaches the upstream; the other n-1 wait for it.
	is.Equal(<-up.arrived, "/a")
	for range n - 1 {
		is.Equal(<-waits, up.URL+"/a")
	}
	close(up.release)

	count := map[string]int{}
	for range n {
		r := <-results
		is.NoErr(r.err)
		is.Equal(r.status, http.StatusOK)
		is.Equal(r.body, "page /a")
		count[r.cache]++
	}
	is.Equal(count, map[string]int{cacheFetched: 1, cacheWaited: n - 1})
	is.Equal(up.served("/a"), 1)

	// Later requests are served from the cache; another page is fetched.
	r := fetch(ctx, client, up.URL+"/a")
	is.Equal(r.cache, cacheHit)
	is.Equal(r.body, "page /a")
	r = fetch(ctx, client, up.URL+"/b")
	is.Equal(r.cache, cacheFetched)
	is.Equal(r.body, "page /b")
	is.Equal(up.served("/a"), 1)
	is.Equal(up.served("/b"), 1)
	is.Equal(p.fetched.Load(), int64(2))
	is.Equal(p.waited.Load(), int64(n-1))
	is.Equal(p.hits.Load(), int64(1))
}

// When the client whose request is fetching hangs up, the fetch goes on for
// those waiting for it; a waiter that hangs up leaves the others alone.
func TestClientsHangingUp(t *testing.T) {
	is := is.New(t)
	ctx := testContext(t)
	up := newUpstream(t)
	_, client, waits := startProxy(t)

	firstCtx, hangUpFirst := context.WithCancel(ctx)
	first := make(chan response, 1)
	go func() { first <- fetch(firstCtx, client, up.URL+"/x") }()
	<-up.arrived

	quitterCtx, hangUpQuitter := context.WithCancel(ctx)
	quitter := make(chan response, 1)
	go func() { quitter <- fetch(quitterCtx, client, up.URL+"/x") }()
	<-waits
	const n = 3
	results := make(chan response, n)
	for range n {
		go func() { results <- fetch(ctx, client, up.URL+"/x") }()
		<-waits
	}

	hangUpFirst()
	is.True(errors.Is((<-first).err, context.Canceled))
	hangUpQuitter()
	is.True(errors.Is((<-quitter).err, context.Canceled))

	close(up.release)
	for range n {
		r := <-results
		is.NoErr(r.err)
		is.Equal(r.status, http.StatusOK)
		is.Equal(r.body, "page /x")
		is.Equal(r.cache, cacheWaited)
	}
	is.Equal(up.served("/x"), 1)
}

// A failed fetch is reported to everyone waiting for it and not cached.
func TestUpstreamFailureIsNotCached(t *testing.T) {
	is := is.New(t)
	ctx := testContext(t)
	var calls atomic.Int64
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-release
			// Drop the connection without an answer.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, "second try")
	}))
	defer up.Close()
	_, client, waits := startProxy(t)

	results := make(chan response, 2)
	go func() { results <- fetch(ctx, client, up.URL+"/f") }()
	go func() { results <- fetch(ctx, client, up.URL+"/f") }()
	<-waits // one fetches, one waits
	close(release)
	for range 2 {
		r := <-results
		is.NoErr(r.err)
		is.Equal(r.status, http.StatusBadGateway)
	}

	r := fetch(ctx, client, up.URL+"/f")
	is.Equal(r.status, http.StatusOK)
	is.Equal(r.body, "second try")
	is.Equal(r.cache, cacheFetched)
	is.Equal(calls.Load(), int64(2))
}

func TestNotAProxyRequest(t *testing.T) {
	is := is.New(t)
	p, client, _ := startProxy(t)
	srv := httptest.NewServer(p)
	defer srv.Close()

	// Sent to the proxy as if it were the origin server.
	resp, err := http.Get(srv.URL + "/page")
	is.NoErr(err)
	resp.Body.Close()
	is.Equal(resp.StatusCode, http.StatusBadRequest)

	resp, err = client.Post("http://127.0.0.1:1/x", "text/plain", strings.NewReader("hi"))
	is.NoErr(err)
	resp.Body.Close()
	is.Equal(resp.StatusCode, http.StatusMethodNotAllowed)
}

func TestRunListen(t *testing.T) {
	is := is.New(t)
	ctx, stop := context.WithCancel(testContext(t))
	defer stop()
	up := newUpstream(t)
	close(up.release)

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-listen", "127.0.0.1:0"}, pw)
		pw.Close()
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	is.True(lines.Scan())
	addr, ok := strings.CutPrefix(lines.Text(), "listening on ")
	is.True(ok)
	is.True(lines.Scan()) // the usage hint

	tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	is.Equal(fetch(ctx, client, up.URL+"/l").cache, cacheFetched)
	is.Equal(fetch(ctx, client, up.URL+"/l").cache, cacheHit)
	tr.CloseIdleConnections()

	stop()
	is.True(lines.Scan())
	is.Equal(lines.Text(), "stopped: 1 fetched upstream, 0 waited for a fetch, 1 from the cache")
	is.NoErr(<-done)
	is.Equal(up.served("/l"), 1)
}
