// Command caching-proxy is a small caching HTTP proxy that shows chans.Event:
// when several clients ask for the same page at once, only one request goes
// upstream, and the others wait for it (toro's Event example).
//
// The first request for a URL puts a cache entry holding an unset Event in
// the cache and fetches the page. A request that finds the entry waits for
// the Event, together with its own request context, in a select; once the
// fetch is done, the Event is set, waking every waiter at once, and later
// requests find it set and are answered from the cache without waiting. An
// inefficient proxy would send one upstream request per client until the
// first one came back.
//
// Run it with:
//
//	go run ./examples/caching-proxy [-clients 10]
//
// By default it demonstrates itself on 127.0.0.1 without any other network:
// it starts a local upstream server and the proxy, sends -clients concurrent
// requests for one page through the proxy, and reports that the upstream
// served it once. To use it as a real proxy:
//
//	go run ./examples/caching-proxy -listen 127.0.0.1:8888
//
// and configure a browser (or curl -x 127.0.0.1:8888) to use it as its HTTP
// proxy. Like toro's original it is deliberately simple: GET only, plain
// http:// only (no CONNECT, so no https), no cookies, and it caches every
// response forever, ignoring Cache-Control. A failed fetch is not cached: the
// clients waiting for it get 502 Bad Gateway and the next request tries again.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "caching-proxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("caching-proxy", flag.ContinueOnError)
	listen := fs.String("listen", "", "serve as a proxy on this address until interrupted, instead of the demo")
	clients := fs.Int("clients", 10, "how many concurrent clients the demo sends")
	timeout := fs.Duration("fetch-timeout", 30*time.Second, "limit on each upstream fetch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 {
		return fmt.Errorf("-clients must be at least 1, not %d", *clients)
	}
	p := newProxy(*timeout)
	if *listen != "" {
		return serve(ctx, stdout, p, *listen)
	}
	return demo(ctx, stdout, p, *clients)
}

// X-Cache tells a client how the proxy answered it.
const (
	cacheFetched = "FETCHED" // this request fetched the page upstream
	cacheWaited  = "WAITED"  // it waited for another request's fetch
	cacheHit     = "HIT"     // it found the page in the cache
)

// A proxy is a caching forward proxy for GET requests of http:// URLs.
type proxy struct {
	client  *http.Client
	timeout time.Duration

	// onWait, if not nil, is called by a request just before it starts
	// waiting for another request's fetch of url.
	onWait func(url string)

	mu    sync.Mutex
	cache map[string]*entry

	fetched, waited, hits atomic.Int64
}

// An entry is one cached page. The request that creates it fills in the page
// and then sets ready; everyone else reads the page only after ready is set.
// Set happens before the wake-up of every waiter (chans.Event's memory-model
// guarantee), which is what makes reading the fields without a lock safe.
type entry struct {
	ready  chans.Event
	status int
	header http.Header
	body   []byte
	err    error
}

func newProxy(timeout time.Duration) *proxy {
	return &proxy{
		// The proxy's own client must not go through a proxy itself.
		client:  &http.Client{Transport: &http.Transport{Proxy: nil}},
		timeout: timeout,
		cache:   make(map[string]*entry),
	}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "this proxy only does GET", http.StatusMethodNotAllowed)
		return
	}
	// A proxied request names the whole URL ("GET http://host/path").
	if !r.URL.IsAbs() || r.URL.Scheme != "http" {
		http.Error(w, "not a proxy request for an http:// URL: configure this address as your HTTP proxy", http.StatusBadRequest)
		return
	}
	url := r.URL.String()

	p.mu.Lock()
	e, found := p.cache[url]
	if !found {
		e = new(entry)
		p.cache[url] = e
	}
	p.mu.Unlock()

	how := cacheHit
	switch {
	case !found:
		how = cacheFetched
		p.fetched.Add(1)
		p.fetch(r.Context(), url, e)
	case !e.ready.IsSet():
		how = cacheWaited
		p.waited.Add(1)
		if p.onWait != nil {
			p.onWait(url)
		}
		select {
		case <-e.ready.Wait():
		case <-r.Context().Done():
			return // the client went away; the fetch goes on for the others
		}
	default:
		p.hits.Add(1)
	}

	if e.err != nil {
		http.Error(w, "upstream: "+e.err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range e.header {
		w.Header()[k] = slices.Clone(vs)
	}
	w.Header().Set("X-Cache", how)
	w.WriteHeader(e.status)
	w.Write(e.body)
}

// fetch fills in e from upstream and sets its Event, waking every request
// that waits for it. On failure it also takes e out of the cache, so that the
// requests waiting now get the error but the next one tries again.
func (p *proxy) fetch(ctx context.Context, url string, e *entry) {
	defer e.ready.Set()

	// Other clients may be waiting for this fetch, so it must not end when
	// the client that happened to come first hangs up: keep ctx's values but
	// not its cancellation, and bound it by our own timeout instead.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()

	e.status, e.header, e.body, e.err = p.get(ctx, url)
	if e.err != nil {
		p.mu.Lock()
		delete(p.cache, url)
		p.mu.Unlock()
	}
}

func (p *proxy) get(ctx context.Context, url string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	header := make(http.Header)
	for _, k := range []string{"Content-Type", "Last-Modified", "Etag"} {
		if v := resp.Header.Values(k); len(v) > 0 {
			header[k] = v
		}
	}
	return resp.StatusCode, header, body, nil
}

// serve runs the proxy on addr until ctx ends.
func serve(ctx context.Context, stdout io.Writer, p *proxy, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	fmt.Fprintf(stdout, "use it as your browser's HTTP proxy (or: curl -x %s http://example.com/)\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stopped: %d fetched upstream, %d waited for a fetch, %d from the cache\n",
		p.fetched.Load(), p.waited.Load(), p.hits.Load())
	return nil
}
