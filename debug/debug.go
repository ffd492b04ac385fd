// Package debug serves what the tracked primitives of package chans know
// about themselves: who holds each one, since when, who waits for it, and
// the stacks of the calls that asked, in the manner of net/http/pprof and
// expvar. It is the page to open when everything waits.
//
// Track the primitives you care about (or all of them) first, since only
// tracked primitives are listed, and only tracking records stacks:
//
//	chans.Track(&ordersLock, "orders-lock") // one, by name
//	chans.TrackAll(true)                    // or every primitive, from its first use
//
// or run the program with TURNSTILE_TRACK=1. Then mount the handler:
//
//	http.Handle("/debug/turnstile/", debug.Handler())
//
// It serves, at whatever path it is mounted on:
//
//   - an HTML page listing every tracked primitive, its holders and waiters
//     with their ages and stacks, grants sent but not received, and the
//     stranded grants the detector found; it refreshes itself every two
//     seconds (its script fetches the list again; pause it with the
//     checkbox), and reads as well without scripts;
//   - ?format=json: the same as JSON, for scripts and dashboards (ages in
//     seconds; a null age is unknown);
//   - ?format=text: a plain text dump, the one [WriteText] writes.
//
// The page folds each stack under a line naming the call it came from;
// ?stacks=open unfolds them all.
//
// For a SIGQUIT-style dump, write the text on a signal of your choice:
//
//	sig := make(chan os.Signal, 1)
//	signal.Notify(sig, syscall.SIGUSR1)
//	go func() {
//		for range sig {
//			debug.WriteText(os.Stderr)
//		}
//	}()
//
// Reading the list takes each tracked primitive's mutex once, as its String
// method does, one primitive after the other: the page is a series of
// snapshots, not one instant of the whole program. The handler exposes
// stacks (function names and file paths): serve it only where you would
// serve net/http/pprof.
package debug

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

// Handler returns the handler that serves the page, its JSON and its text
// dump (see the package documentation). It takes no state of its own: every
// request reads chans.Tracked afresh.
func Handler() http.Handler { return http.HandlerFunc(serve) }

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "debug: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	snap := take()
	snap.Open = r.URL.Query().Get("stacks") == "open"
	switch f := r.URL.Query().Get("format"); f {
	case "", "html":
		h.Set("Content-Type", "text/html; charset=utf-8")
		render(w, "page", snap)
	case "fragment": // what the page's script fetches
		h.Set("Content-Type", "text/html; charset=utf-8")
		render(w, "primitives", snap)
	case "json":
		h.Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(snap.json())
	case "text":
		h.Set("Content-Type", "text/plain; charset=utf-8")
		_ = snap.writeText(w)
	default:
		http.Error(w, fmt.Sprintf("debug: unknown format %q (want html, json or text)", f), http.StatusBadRequest)
	}
}

// WriteText writes every tracked primitive, its holders and waiters with
// their stacks, as plain text: the dump to print on a signal or when a test
// times out. It returns the first error from w.
func WriteText(w io.Writer) error { return take().writeText(w) }

// A snapshot is the list of tracked primitives at one request.
type snapshot struct {
	At    time.Time
	Prims []chans.Stats
	Open  bool // ?stacks=open: the page shows every stack unfolded
}

func take() snapshot { return snapshot{At: time.Now(), Prims: chans.Tracked()} }

// Totals for the page's summary line.
func (s snapshot) Waiting() (n int) {
	for _, p := range s.Prims {
		n += p.Waiting
	}
	return n
}

func (s snapshot) Stranded() (n int) {
	for _, p := range s.Prims {
		n += p.Stranded
	}
	return n
}

// ---- Text

func (s snapshot) writeText(w io.Writer) error {
	tw := &textWriter{w: w}
	tw.printf("turnstile: %d tracked primitive(s) at %s", len(s.Prims), s.At.Format(time.RFC3339))
	if n := s.Stranded(); n > 0 {
		tw.printf(", %d stranded grant(s)", n)
	}
	tw.printf("\n")
	for _, p := range s.Prims {
		tw.printf("\n%s %q (#%d): %s\n", p.Kind, p.Name, p.ID, summary(p))
		for _, h := range p.Holders {
			tw.printf("  holder: %s, %s\n", h.Ask, holderText(h))
			tw.stack(h.Stack)
		}
		for _, wt := range p.Waiters {
			tw.printf("  waiter: %s, waiting %s%s\n", wt.Ask, Age(wt.Age), ctxText(wt.CanEnd))
			tw.stack(wt.Stack)
		}
		if more := p.Waiting - len(p.Waiters); more > 0 {
			tw.printf("  ... and %d more waiter(s)\n", more)
		}
	}
	return tw.err
}

// textWriter keeps the first error.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *textWriter) stack(st chans.Stack) {
	for _, f := range st.Frames() {
		t.printf("      %s\n          %s:%d\n", f.Function, f.File, f.Line)
	}
}

// summary is a primitive's one line: state, counts and totals.
func summary(p chans.Stats) string {
	var parts []string
	if p.State != "" {
		parts = append(parts, p.State)
	}
	switch {
	case p.Limit > 0:
		parts = append(parts, fmt.Sprintf("value %d/%d", p.Value, p.Limit))
	case p.Value > 0:
		parts = append(parts, fmt.Sprintf("value %d", p.Value))
	}
	if p.Waiting > 0 {
		parts = append(parts, fmt.Sprintf("%d waiting (oldest %s)", p.Waiting, Age(p.OldestWait)))
	}
	if p.Unreceived > 0 {
		parts = append(parts, fmt.Sprintf("%d unreceived", p.Unreceived))
	}
	if p.Stranded > 0 {
		parts = append(parts, fmt.Sprintf("%d STRANDED", p.Stranded))
	}
	exact := ""
	if !p.GrantsExact {
		exact = "+"
	}
	parts = append(parts, fmt.Sprintf("grants=%d%s cancels=%d take-backs=%d", p.Grants, exact, p.Cancels, p.TakeBacks))
	return strings.Join(parts, ", ")
}

func holderText(h chans.Holder) string {
	var b strings.Builder
	if h.Unreceived {
		fmt.Fprintf(&b, "sent %s ago, not received%s", Age(h.Age), ctxText(h.CanEnd))
	} else {
		fmt.Fprintf(&b, "held %s", Age(h.Age))
	}
	if h.Stranded {
		b.WriteString(", STRANDED")
	}
	return b.String()
}

func ctxText(canEnd bool) string {
	if canEnd {
		return ""
	}
	return ", ctx cannot end"
}

// Age formats an age for people: "1.5s", "250ms", "3m20s", and "?" for
// chans.Unknown.
func Age(d time.Duration) string {
	switch {
	case d < 0:
		return "?"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Minute:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// ---- JSON

// The JSON form: names in snake case, ages in seconds (null: unknown).
type (
	jsonSnapshot struct {
		Time       time.Time       `json:"time"`
		Primitives []jsonPrimitive `json:"primitives"`
	}
	jsonPrimitive struct {
		ID                      uint64       `json:"id"`
		Name                    string       `json:"name"`
		Kind                    string       `json:"kind"`
		State                   string       `json:"state"`
		Held                    bool         `json:"held"`
		Value                   int          `json:"value"`
		Limit                   int          `json:"limit"`
		Waiting                 int          `json:"waiting"`
		OldestWaitSeconds       float64      `json:"oldest_wait_seconds"`
		Unreceived              int          `json:"unreceived"`
		OldestUnreceivedSeconds float64      `json:"oldest_unreceived_seconds"`
		Stranded                int          `json:"stranded"`
		Grants                  uint64       `json:"grants"`
		GrantsExact             bool         `json:"grants_exact"`
		Cancels                 uint64       `json:"cancels"`
		TakeBacks               uint64       `json:"take_backs"`
		Holders                 []jsonHolder `json:"holders"`
		Waiters                 []jsonWaiter `json:"waiters"`
	}
	jsonHolder struct {
		AgeSeconds *float64    `json:"age_seconds"`
		Ask        string      `json:"ask"`
		Unreceived bool        `json:"unreceived"`
		CanEnd     bool        `json:"ctx_can_end"`
		Stranded   bool        `json:"stranded"`
		Stack      []jsonFrame `json:"stack"`
	}
	jsonWaiter struct {
		AgeSeconds *float64    `json:"age_seconds"`
		Ask        string      `json:"ask"`
		CanEnd     bool        `json:"ctx_can_end"`
		Stack      []jsonFrame `json:"stack"`
	}
	jsonFrame struct {
		Function string `json:"function"`
		File     string `json:"file"`
		Line     int    `json:"line"`
	}
)

func (s snapshot) json() jsonSnapshot {
	out := jsonSnapshot{Time: s.At, Primitives: make([]jsonPrimitive, 0, len(s.Prims))}
	for _, p := range s.Prims {
		jp := jsonPrimitive{ID: p.ID, Name: p.Name, Kind: p.Kind, State: p.State, Held: p.Held,
			Value: p.Value, Limit: p.Limit, Waiting: p.Waiting, OldestWaitSeconds: p.OldestWait.Seconds(),
			Unreceived: p.Unreceived, OldestUnreceivedSeconds: p.OldestUnreceived.Seconds(), Stranded: p.Stranded,
			Grants: p.Grants, GrantsExact: p.GrantsExact, Cancels: p.Cancels, TakeBacks: p.TakeBacks,
			Holders: []jsonHolder{}, Waiters: []jsonWaiter{}}
		for _, h := range p.Holders {
			jp.Holders = append(jp.Holders, jsonHolder{AgeSeconds: seconds(h.Age), Ask: h.Ask, Unreceived: h.Unreceived,
				CanEnd: h.CanEnd, Stranded: h.Stranded, Stack: frames(h.Stack)})
		}
		for _, w := range p.Waiters {
			jp.Waiters = append(jp.Waiters, jsonWaiter{AgeSeconds: seconds(w.Age), Ask: w.Ask, CanEnd: w.CanEnd, Stack: frames(w.Stack)})
		}
		out.Primitives = append(out.Primitives, jp)
	}
	return out
}

func seconds(d time.Duration) *float64 {
	if d < 0 {
		return nil
	}
	s := d.Seconds()
	return &s
}

func frames(st chans.Stack) []jsonFrame {
	out := []jsonFrame{}
	for _, f := range st.Frames() {
		out = append(out, jsonFrame{Function: f.Function, File: f.File, Line: f.Line})
	}
	return out
}

// caller names where a stack entered the program's own code: its first
// frame outside package chans, as "function (file.go:41)", for the page's
// one-line summary of a stack.
func caller(st chans.Stack) string {
	fs := st.Frames()
	for _, f := range fs {
		if !strings.HasPrefix(f.Function, "github.com/turnstile-go/turnstile/chans.") {
			return fmt.Sprintf("%s (%s:%d)", shortFunc(f.Function), filepath.Base(f.File), f.Line)
		}
	}
	if len(fs) > 0 {
		return shortFunc(fs[0].Function)
	}
	return ""
}

// shortFunc drops the package path, keeping its last element:
// "example.com/app/orders.(*Store).Lock" reads "orders.(*Store).Lock".
func shortFunc(fn string) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		return fn[i+1:]
	}
	return fn
}
