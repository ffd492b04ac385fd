package main

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"
)

// site is the small documentation site the spider crawls by default: each
// path and the links on its page. Links are written as a real site would:
// absolute paths, relative paths, fragments, links out of the site and a
// link to a page that does not exist.
var site = map[string][]string{
	"/": {"guide/", "/api/", "/blog/", "#top", "https://example.com/", "mailto:team@example.com"},

	"/guide/":         {"intro", "queues", "locks", "shutdown", "/"},
	"/guide/intro":    {"/guide/", "queues#example", "/api/"},
	"/guide/queues":   {"/guide/", "/api/queue", "/api/semaphore", "locks"},
	"/guide/locks":    {"/guide/", "/api/lock", "/api/rwlock", "/api/condition"},
	"/guide/shutdown": {"/guide/", "/api/rwlock#drain", "/api/event"},

	"/api/":          {"lock", "rwlock", "semaphore", "condition", "event", "queue", "result", "/"},
	"/api/lock":      {"/api/", "rwlock"},
	"/api/rwlock":    {"/api/", "lock", "/guide/shutdown"},
	"/api/semaphore": {"/api/", "/guide/queues"},
	"/api/condition": {"/api/", "event"},
	"/api/event":     {"/api/", "condition"},
	"/api/queue":     {"/api/", "/guide/queues#joinable"},
	"/api/result":    {"/api/", "https://pkg.go.dev/context"},

	"/blog/":                   {"2025/fifo-fairness", "2025/cancellation", "2026/release", "/"},
	"/blog/2025/fifo-fairness": {"/blog/", "../2026/release"},
	"/blog/2025/cancellation":  {"/blog/", "fifo-fairness", "/api/queue"},
	"/blog/2026/release":       {"/blog/", "/blog/2026/errata"}, // errata does not exist
}

// siteHandler serves site, answering each page after latency, so that the
// spider's fetches overlap as they would on a real network.
func siteHandler(latency time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		links, ok := site[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<title>%s</title>\n<ul>\n", html.EscapeString(r.URL.Path))
		for _, l := range links {
			fmt.Fprintf(w, "  <li><a class=\"link\" href=\"%s\">%s</a>\n", html.EscapeString(l), html.EscapeString(strings.TrimPrefix(l, "/")))
		}
		fmt.Fprintf(w, "</ul>\n")
	})
}
