// Command spider is a parallel web spider, the example toro and Tornado use
// to show a joinable queue: it downloads a page, follows every link beneath
// its base URL, and stops when no page is left to fetch.
//
// It shows two primitives working together:
//
//   - chans.Queue is the work queue. It starts with the base URL, and every
//     newly discovered URL is put in it. Each accepted URL counts as an
//     unfinished task until TaskDone, which a fetch calls only after it has
//     queued the links it found, so the count reaches zero exactly when the
//     crawl is complete: Join's channel is closed then, and the crawl ends.
//   - chans.Semaphore, bounded by -concurrency, limits how many pages are
//     fetched at once: the dispatcher takes a permit before it takes a URL
//     and starts a fetch, and the fetch gives the permit back when it is done.
//
// Run it with:
//
//	go run ./examples/spider [-concurrency 4] [-url http://host/docs/]
//
// Without -url it crawls a small site it serves itself on 127.0.0.1, so it
// needs no network. With -url it crawls every page beneath that URL, as fast
// as -concurrency allows: mind whose site it is. It prints each page as it
// is fetched, then a summary: pages fetched and failed, the most fetches it
// saw in flight at once (never above -concurrency), and how many URLs were
// fetched twice (always 0).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "spider:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("spider", flag.ContinueOnError)
	base := fs.String("url", "", "crawl the pages beneath this URL (default: a site served on 127.0.0.1)")
	concurrency := fs.Int("concurrency", 4, "most pages fetched at once")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	latency := fs.Duration("latency", 20*time.Millisecond, "how slowly the built-in site answers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *concurrency < 1 {
		return fmt.Errorf("-concurrency must be at least 1, not %d", *concurrency)
	}

	if *base == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: siteHandler(*latency)}
		go srv.Serve(ln)
		defer srv.Close()
		*base = "http://" + ln.Addr().String() + "/"
	}

	// Only links beneath base are followed, by prefix: "http://host" would
	// let "http://host.example/" in, so the base gets its path "/".
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want an absolute http:// or https:// URL", *base)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	u.Fragment, u.RawFragment = "", ""
	*base = u.String()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: *concurrency}
	defer tr.CloseIdleConnections()
	c := &crawler{
		client: &http.Client{Transport: tr},
		base:   *base,
		limit:  *concurrency,
		out:    &syncWriter{w: stdout},
	}

	fmt.Fprintf(stdout, "crawling %s with at most %d fetches at once\n", c.base, c.limit)
	start := time.Now()
	s, err := c.crawl(ctx)
	how := "done"
	if err != nil {
		how = fmt.Sprintf("stopped early (%d fetches interrupted)", s.interrupted)
		err = fmt.Errorf("crawl stopped early: %w", err)
	}
	fmt.Fprintf(stdout, "%s in %v: %d pages fetched, %d failed, at most %d in flight (limit %d), %d fetched twice\n",
		how, time.Since(start).Round(time.Millisecond), s.fetched, s.failed, s.maxInFlight, c.limit, s.twice)
	return err
}

// A syncWriter serializes writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
