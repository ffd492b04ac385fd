package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
)

// The spider talks to real loopback servers, which synctest cannot treat as
// durably blocked, so these tests run on real time; every wait is on an
// event, and the timeouts are only a safety net.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// crawlOutput is the parsed output of run.
type crawlOutput struct {
	base     string
	fetched  []string // paths, sorted
	failed   []string // "path: error", sorted
	summary  string
	counts   summary
	limit    int
	stopped  bool
	unparsed []string
}

func parse(t *testing.T, out string) crawlOutput {
	t.Helper()
	var o crawlOutput
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if _, err := fmt.Sscanf(lines[0], "crawling %s with at most %d fetches at once", &o.base, &o.limit); err != nil {
		t.Fatalf("first line %q: %v", lines[0], err)
	}
	o.summary = lines[len(lines)-1]
	for _, l := range lines[1 : len(lines)-1] {
		if rest, ok := strings.CutPrefix(l, "fetched "+o.base); ok {
			path, _, _ := strings.Cut(rest, " (")
			o.fetched = append(o.fetched, "/"+path)
		} else if rest, ok := strings.CutPrefix(l, "failed "+o.base); ok {
			o.failed = append(o.failed, "/"+rest)
		} else {
			o.unparsed = append(o.unparsed, l)
		}
	}
	slices.Sort(o.fetched)
	slices.Sort(o.failed)
	_, how, ok := strings.Cut(o.summary, " in ")
	if !ok {
		t.Fatalf("summary %q", o.summary)
	}
	o.stopped = strings.HasPrefix(o.summary, "stopped early")
	_, counts, _ := strings.Cut(how, ": ")
	var limit int
	if _, err := fmt.Sscanf(counts, "%d pages fetched, %d failed, at most %d in flight (limit %d), %d fetched twice",
		&o.counts.fetched, &o.counts.failed, &o.counts.maxInFlight, &limit, &o.counts.twice); err != nil {
		t.Fatalf("summary %q: %v", o.summary, err)
	}
	if limit != o.limit {
		t.Fatalf("summary says limit %d, first line %d", limit, o.limit)
	}
	return o
}

// TestRunBuiltInSite crawls the site the spider serves itself, as
// `go run ./examples/spider` does.
func TestRunBuiltInSite(t *testing.T) {
	is := is.New(t)
	var out bytes.Buffer
	is.NoErr(run(testContext(t), []string{"-latency", "2ms", "-concurrency", "3"}, &out))
	o := parse(t, out.String())
	t.Log(out.String())

	is.True(strings.HasPrefix(o.base, "http://127.0.0.1:"))
	is.Equal(o.limit, 3)
	is.Equal(o.unparsed, nil)
	var pages []string
	for p := range site {
		pages = append(pages, p)
	}
	slices.Sort(pages)
	is.Equal(o.fetched, pages) // every page once; nothing outside the site
	is.Equal(o.failed, []string{"/blog/2026/errata: 404 Not Found"})
	is.True(!o.stopped)
	is.Equal(o.counts.fetched, len(site))
	is.Equal(o.counts.failed, 1)
	is.Equal(o.counts.twice, 0)
	is.True(o.counts.maxInFlight >= 1 && o.counts.maxInFlight <= 3)
}

// gatedSite is a site of a root page linking to n leaves, each linking to
// the root, to the other leaves and to a page outside the crawl's base. It
// counts requests per path and how many are in flight at once, and holds
// the leaves back until limit of them are in flight together, which proves
// the spider reaches its limit; if the spider exceeded it, the count would
// show more.
type gatedSite struct {
	n, limit int
	open     chan struct{}
	arrived  chan string // the path of each request, as it arrives

	mu          sync.Mutex
	requests    map[string]int
	inFlight    int
	maxInFlight int
}

func newGatedSite(n, limit int) *gatedSite {
	return &gatedSite{n: n, limit: limit, open: make(chan struct{}), arrived: make(chan string, 1000), requests: map[string]int{}}
}

func (s *gatedSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	if s.inFlight == s.limit && s.requests["/docs/"] > 0 {
		select {
		case <-s.open:
		default:
			close(s.open)
		}
	}
	s.mu.Unlock()
	s.arrived <- r.URL.Path
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	var page strings.Builder
	page.WriteString("<html><body>")
	switch {
	case r.URL.Path == "/docs/":
		for i := range s.n {
			fmt.Fprintf(&page, `<a href="leaf%d">leaf %d</a> `, i, i)
		}
	case strings.HasPrefix(r.URL.Path, "/docs/leaf"):
		select {
		case <-s.open:
		case <-r.Context().Done():
			return
		}
		page.WriteString(`<a href="/docs/">up</a> <a href='/outside'>out</a> `)
		for i := range s.n {
			fmt.Fprintf(&page, `<A HREF="/docs/leaf%d#section">leaf %d</A> `, i, i)
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	io.WriteString(w, page.String())
}

func TestRunReachesLimitNeverExceedsIt(t *testing.T) {
	for _, limit := range []int{1, 3, 8} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			is := is.New(t)
			const n = 12
			s := newGatedSite(n, limit)
			srv := httptest.NewServer(s)
			defer srv.Close()

			var out bytes.Buffer
			is.NoErr(run(testContext(t), []string{"-url", srv.URL + "/docs/", "-concurrency", fmt.Sprint(limit)}, &out))
			o := parse(t, out.String())

			is.Equal(s.maxInFlight, limit)        // reached, never exceeded
			is.Equal(o.counts.maxInFlight, limit) // and the spider saw it too
			is.Equal(len(s.requests), n+1)        // /docs/ and the leaves; never /outside
			for path, k := range s.requests {
				if k != 1 {
					t.Errorf("%s fetched %d times", path, k)
				}
			}
			is.Equal(o.counts.fetched, n+1)
			is.Equal(o.counts.failed, 0)
			is.Equal(o.counts.twice, 0)
			is.Equal(len(o.fetched), n+1)
		})
	}
}

// Interrupting a crawl stops the fetches in flight and returns promptly.
func TestRunInterrupted(t *testing.T) {
	is := is.New(t)
	ctx, interrupt := context.WithCancel(testContext(t))
	defer interrupt()
	s := newGatedSite(10, 1000) // the leaves are never let through
	srv := httptest.NewServer(s)
	defer srv.Close()

	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-url", srv.URL + "/docs/", "-concurrency", "4"}, &out) }()
	is.Equal(<-s.arrived, "/docs/")
	for range 4 {
		is.True(strings.HasPrefix(<-s.arrived, "/docs/leaf"))
	}
	interrupt()
	err := <-done
	is.True(errors.Is(err, context.Canceled))
	o := parse(t, out.String())
	is.True(o.stopped)
	is.True(strings.HasPrefix(o.summary, "stopped early (4 fetches interrupted)"))
	is.Equal(o.counts.fetched, 1)
	is.Equal(o.counts.failed, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	is.Equal(s.requests["/docs/"], 1)
}

func TestRunBadFlags(t *testing.T) {
	is := is.New(t)
	is.True(run(t.Context(), []string{"-concurrency", "0"}, io.Discard) != nil)
	is.True(run(t.Context(), []string{"-url"}, io.Discard) != nil)
	is.True(run(t.Context(), []string{"-url", "/docs/"}, io.Discard) != nil)
	is.True(run(t.Context(), []string{"-url", "ftp://host/"}, io.Discard) != nil)
}

func TestLinks(t *testing.T) {
	is := is.New(t)
	page, err := url.Parse("http://site.test/guide/intro?x=1")
	is.NoErr(err)
	html := `<p><a href="queues">q</a> <a class="x" href='/api/#top'>api</a>
		<a
		   href="queues#example">again</a> <a href="https://other.test/p">out</a>
		<a href="mailto:me@site.test">mail</a> <a name="n">no href</a>
		<link href="/style.css"> <a href="?page=2">next</a> <A HREF="../">up</A>`
	is.Equal(links(page, html), []string{
		"http://site.test/guide/queues",
		"http://site.test/api/",
		"https://other.test/p",
		"http://site.test/guide/intro?page=2",
		"http://site.test/",
	})
}

// A base URL without a path crawls from "/" and only beneath it.
func TestRunBaseWithoutPath(t *testing.T) {
	is := is.New(t)
	srv := httptest.NewServer(siteHandler(0))
	defer srv.Close()
	var out bytes.Buffer
	is.NoErr(run(testContext(t), []string{"-url", srv.URL}, &out))
	o := parse(t, out.String())
	is.Equal(o.base, srv.URL+"/")
	is.Equal(o.counts.fetched, len(site))
}
