package main

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/turnstile-go/turnstile/chans"
)

// A crawler fetches every page beneath base, at most limit at a time.
type crawler struct {
	client *http.Client
	base   string
	limit  int
	out    io.Writer

	queue chans.Queue[string] // URLs to fetch; unbounded

	mu          sync.Mutex
	seen        map[string]bool // every URL ever queued
	fetches     map[string]int  // how often each URL was fetched
	failed      int             // fetches that failed
	interrupted int             // fetches that ctx's end cut short
	inFlight    int
	maxInFlight int
}

// summary is what a crawl did.
type summary struct {
	fetched, failed, interrupted, maxInFlight, twice int
}

// crawl fetches the base page and everything beneath it that it links to,
// directly or not. It returns when every page is done, or with ctx's error
// once ctx ends, after the fetches in flight have stopped.
func (c *crawler) crawl(ctx context.Context) (summary, error) {
	c.seen = map[string]bool{}
	c.fetches = map[string]int{}
	c.enqueue(ctx, c.base)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var fetches sync.WaitGroup
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		c.dispatch(ctx, &fetches)
	}()

	var err error
	select {
	case <-c.queue.Join():
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Stop the dispatcher, which waits for a permit or a URL that will not
	// come; if ctx ended, this also stops the fetches in flight.
	cancel()
	<-dispatched
	fetches.Wait()
	return c.summarize(), err
}

// dispatch starts a fetch for each queued URL, never more than limit at once.
func (c *crawler) dispatch(ctx context.Context, fetches *sync.WaitGroup) {
	// Bounded, like toro's BoundedSemaphore: a permit given back twice
	// panics instead of silently raising the limit.
	permits := chans.NewBoundedSemaphore(c.limit)
	for {
		// The permit first, then the URL: the other order would take a URL
		// out of the queue and sit on it while every fetch is busy.
		release, ok := <-permits.Acquire(ctx)
		if !ok {
			return
		}
		u, ok := <-c.queue.Get(ctx)
		if !ok {
			release()
			return
		}
		fetches.Go(func() {
			defer release()
			// TaskDone only after visit queued the links it found, or the
			// unfinished count could touch zero while work remains.
			defer c.queue.TaskDone()
			c.visit(ctx, u)
		})
	}
}

// visit fetches u and queues the links it finds beneath base.
func (c *crawler) visit(ctx context.Context, u string) {
	c.mu.Lock()
	c.fetches[u]++
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	c.mu.Unlock()

	links, err := c.fetch(ctx, u)

	interrupted := err != nil && ctx.Err() != nil
	c.mu.Lock()
	c.inFlight--
	switch {
	case interrupted:
		c.interrupted++
	case err != nil:
		c.failed++
	}
	c.mu.Unlock()
	if err != nil {
		if !interrupted {
			fmt.Fprintf(c.out, "failed %s: %v\n", u, err)
		}
		return
	}
	fmt.Fprintf(c.out, "fetched %s (%d links)\n", u, len(links))
	for _, l := range links {
		if strings.HasPrefix(l, c.base) {
			c.enqueue(ctx, l)
		}
	}
}

// enqueue puts u in the queue unless it was queued before.
func (c *crawler) enqueue(ctx context.Context, u string) {
	c.mu.Lock()
	seen := c.seen[u]
	c.seen[u] = true
	c.mu.Unlock()
	if !seen {
		// The queue is unbounded, so this is accepted at once; it fails
		// only if ctx has ended, and then the crawl is over anyway.
		<-c.queue.Put(ctx, u)
	}
}

func (c *crawler) summarize() summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := summary{failed: c.failed, interrupted: c.interrupted, maxInFlight: c.maxInFlight}
	for _, n := range c.fetches {
		s.fetched += n
		if n > 1 {
			s.twice++
		}
	}
	s.fetched -= c.failed + c.interrupted
	return s
}

// maxPage bounds how much of a page is read.
const maxPage = 1 << 20

// fetch downloads u and returns the links in it, made absolute and without
// fragments. A page that is not HTML has no links.
func (c *crawler) fetch(ctx context.Context, u string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/html" {
		return nil, nil
	}
	return links(resp.Request.URL, string(body)), nil
}

// href finds the targets of <a href="..."> in a page. A regular expression
// is no HTML parser, but it is enough for a demo and keeps the module free of
// dependencies.
var href = regexp.MustCompile(`(?is)<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// links returns the http(s) links of page, resolved against the page's URL,
// without fragments, in the order they appear, each once.
func links(page *url.URL, html string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range href.FindAllStringSubmatch(html, -1) {
		ref, err := url.Parse(strings.TrimSpace(m[1] + m[2]))
		if err != nil {
			continue
		}
		abs := page.ResolveReference(ref)
		abs.Fragment, abs.RawFragment = "", ""
		if abs.Scheme != "http" && abs.Scheme != "https" {
			continue
		}
		s := abs.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
