// Command page-race is yieldpoints' larger example, a "page race": it starts
// downloading several pages at once, reports each as it completes, and stops
// waiting when a deadline passes, with selectx.Group.
//
// Each download reports through a Group callback keyed by its URL, and the
// deadline is one more key, registered with After (yieldpoints' WithTimeout).
// One WaitAny over the pending URLs and the deadline returns whichever
// completes first. When the deadline wins, CancelAll drops the keys still
// pending, so nothing is left registered (Close would report it, as
// yieldpoints raised LeakedCallbackError), and, what Tornado's callbacks could
// not do, cancelling the downloads' ctx stops the requests themselves.
//
// Run it with:
//
//	go run ./examples/page-race [-deadline 400ms] [-urls http://a/,http://b/]
//
// Without -urls it races four pages of a site it serves itself on 127.0.0.1,
// answering after 50ms, 150ms, 250ms and never.
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
	"strings"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/selectx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "page-race:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("page-race", flag.ContinueOnError)
	deadline := fs.Duration("deadline", 400*time.Millisecond, "stop waiting after this long")
	list := fs.String("urls", "", "comma-separated URLs to race (default: pages served on 127.0.0.1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *deadline <= 0 {
		return errors.New("-deadline must be positive")
	}

	var urls []string
	if *list != "" {
		for u := range strings.SplitSeq(*list, ",") {
			if u = strings.TrimSpace(u); u != "" && !slices.Contains(urls, u) {
				urls = append(urls, u)
			}
		}
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: siteHandler()}
		go srv.Serve(ln)
		defer srv.Close()
		for _, p := range sitePaths {
			urls = append(urls, "http://"+ln.Addr().String()+p)
		}
	}
	if len(urls) == 0 {
		return errors.New("no URLs to race")
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	return race(ctx, &http.Client{Transport: tr}, urls, *deadline, stdout)
}

// timeout is the Group key of the deadline; no URL is empty.
const timeout = ""

// race fetches every URL at once and prints each as it completes, in that
// order, until all have or the deadline passes. It returns once every fetch
// has stopped.
func race(ctx context.Context, client *http.Client, urls []string, deadline time.Duration, out io.Writer) error {
	var g selectx.Group[string, string]
	fetchCtx, stopFetches := context.WithCancel(ctx)
	var fetches sync.WaitGroup
	defer fetches.Wait() // runs last: the fetches stop once stopFetches ran
	defer stopFetches()

	fmt.Fprintf(out, "racing %d pages for at most %v\n", len(urls), deadline)
	start := time.Now()
	if err := g.After(timeout, deadline); err != nil {
		return err
	}
	for _, u := range urls {
		done, err := g.Callback(u)
		if err != nil {
			g.CancelAll()
			return err
		}
		fetches.Go(func() { done(fetch(fetchCtx, client, u)) })
	}

	pending := slices.Clone(urls)
	for len(pending) > 0 {
		// The deadline last: if a page and the deadline are both done, the
		// page counts (WaitAny prefers the earliest key in its arguments).
		key, result, err := g.WaitAny(ctx, slices.Concat(pending, []string{timeout})...)
		if err != nil {
			g.CancelAll()
			return err
		}
		if key == timeout {
			fmt.Fprintf(out, "not done after %v: %s\n", deadline, strings.Join(pending, ", "))
			// Drop the pending keys; a download that finishes now finds
			// its key gone and its result is discarded.
			g.CancelAll()
			return g.Close()
		}
		fmt.Fprintf(out, "%s: %s after %v\n", key, result, time.Since(start).Round(time.Millisecond))
		pending = slices.DeleteFunc(pending, func(u string) bool { return u == key })
	}
	fmt.Fprintf(out, "all done after %v\n", time.Since(start).Round(time.Millisecond))
	if err := g.Cancel(timeout); err != nil { // stop its timer
		return err
	}
	return g.Close()
}

// fetch downloads u and describes the outcome: the HTTP status, or the error.
func fetch(ctx context.Context, client *http.Client, u string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err.Error()
	}
	return resp.Status
}

// sitePaths are the pages of the built-in site, and siteDelay how long each
// takes to answer; /stuck never answers.
var (
	sitePaths = []string{"/slow", "/stuck", "/fast", "/medium"}
	siteDelay = map[string]time.Duration{"/fast": 50 * time.Millisecond, "/medium": 150 * time.Millisecond, "/slow": 250 * time.Millisecond}
)

func siteHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := siteDelay[r.URL.Path]
		if !ok && r.URL.Path != "/stuck" {
			http.NotFound(w, r)
			return
		}
		var after <-chan time.Time
		if ok {
			t := time.NewTimer(d)
			defer t.Stop()
			after = t.C
		}
		select {
		case <-after:
			fmt.Fprintf(w, "page %s\n", r.URL.Path)
		case <-r.Context().Done():
		}
	})
}
