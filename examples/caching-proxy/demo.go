package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

const page = `<!doctype html>
<title>upstream</title>
<p>This page came from the upstream server, through the caching proxy.
`

// demo starts an upstream server and the proxy on 127.0.0.1, sends n
// concurrent requests for one page through the proxy, then one more, and
// reports how often the upstream served the page.
func demo(ctx context.Context, stdout io.Writer, p *proxy, n int) error {
	// A safety net only: nothing below waits on time.
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	// The upstream holds the page back until every other client is waiting
	// for the fetch in flight, so that all n requests overlap it. Without
	// that, a fast upstream could answer before the last clients arrive,
	// and they would be served from the cache: also one fetch, but it would
	// not show the waiting. The proxy reports each waiter through onWait;
	// allWaiting is set by the last one.
	var allWaiting chans.Event
	var waiting atomic.Int64
	p.onWait = func(string) {
		if waiting.Add(1) == int64(n-1) {
			allWaiting.Set()
		}
	}
	if n == 1 {
		allWaiting.Set()
	}
	var served atomic.Int64
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		select {
		case <-allWaiting.Wait():
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})

	upURL, stopUpstream, err := start(upstream)
	if err != nil {
		return err
	}
	defer stopUpstream()
	proxyURL, stopProxy, err := start(p)
	if err != nil {
		return err
	}
	defer stopProxy()
	fmt.Fprintf(stdout, "upstream on %s, proxy on %s\n", upURL, proxyURL)

	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	defer client.CloseIdleConnections()
	target := upURL.String() + "/page"

	results := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = get(ctx, client, target) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	count := map[string]int{}
	for _, how := range results {
		count[how]++
	}
	fmt.Fprintf(stdout, "%d clients asked for %s at once: %d fetched it upstream, %d waited for that fetch, %d found it cached\n",
		n, "/page", count[cacheFetched], count[cacheWaited], count[cacheHit])
	fmt.Fprintf(stdout, "upstream served /page %d time(s)\n", served.Load())

	how, err := get(ctx, client, target)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "one more client: X-Cache %s; upstream served /page %d time(s)\n", how, served.Load())
	return nil
}

// get fetches target through the client and returns the response's X-Cache
// header; anything but the upstream's page is an error.
func get(ctx context.Context, client *http.Client, target string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || string(body) != page {
		return "", fmt.Errorf("GET %s: %s: %q", target, resp.Status, body)
	}
	return resp.Header.Get("X-Cache"), nil
}

// start serves h on a free port of 127.0.0.1.
func start(h http.Handler) (*url.URL, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}, func() { srv.Close() }, nil
}
