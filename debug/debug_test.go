package debug

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
)

// lineHere returns the line it is called on.
func lineHere() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

// scene tracks a held Lock with a waiter and a Queue with a getter, all
// undone when the test ends. It returns the lines of the calls that asked.
func scene(t *testing.T) (holdLine, waitLine, getLine int) {
	var l chans.Lock
	q := chans.NewQueue[int](0)
	chans.Track(&l, "orders-lock")
	chans.Track(q, "jobs <&>") // a name the page must escape
	ctx, cancel := context.WithCancel(context.Background())
	holdLine = lineHere() + 1
	rel := <-l.Acquire(context.Background())
	waitLine = lineHere() + 1
	w := l.Acquire(ctx)
	getLine = lineHere() + 1
	q.Get(ctx)
	t.Cleanup(func() {
		cancel()
		rel()
		<-w
		chans.Untrack(&l)
		chans.Untrack(q)
	})
	return holdLine, waitLine, getLine
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestHandlerHTML(t *testing.T) {
	is := is.New(t)
	_, waitLine, _ := scene(t)
	h := Handler()
	for _, target := range []string{"/debug/turnstile/", "/debug/turnstile/?format=fragment"} {
		rec := get(t, h, target)
		is.Equal(rec.Code, http.StatusOK)
		is.Equal(rec.Header().Get("Content-Type"), "text/html; charset=utf-8")
		is.Equal(rec.Header().Get("Cache-Control"), "no-store")
		body := rec.Body.String()
		is.True(strings.Contains(body, "2 tracked primitives"))
		is.True(strings.Contains(body, `<span class="kind">Lock</span>orders-lock`))
		is.True(strings.Contains(body, "jobs &lt;&amp;&gt;")) // escaped
		is.True(!strings.Contains(body, "jobs <&>"))
		is.True(strings.Contains(body, `<td class="role">holder</td>`))
		is.True(strings.Contains(body, `<td class="role">waiter</td>`))
		is.True(strings.Contains(body, "1 waiting · oldest"))
		is.True(strings.Contains(body, "debug.scene (debug_test.go:"+strconv.Itoa(waitLine)+")"))  // the waiter's summary line
		is.True(strings.Contains(body, "github.com/turnstile-go/turnstile/chans.(*Lock).Acquire")) // its stack
		if target == "/debug/turnstile/" {
			is.True(strings.Contains(body, "<!doctype html>"))
			is.True(strings.Contains(body, `q.set("format", "fragment")`))
		} else {
			is.True(!strings.Contains(body, "<html")) // the fragment alone
		}
	}
}

func TestHandlerJSON(t *testing.T) {
	is := is.New(t)
	holdLine, waitLine, getLine := scene(t)
	rec := get(t, Handler(), "/?format=json")
	is.Equal(rec.Code, http.StatusOK)
	is.Equal(rec.Header().Get("Content-Type"), "application/json")
	var snap jsonSnapshot
	is.NoErr(json.Unmarshal(rec.Body.Bytes(), &snap))
	is.Equal(len(snap.Primitives), 2)
	byName := map[string]jsonPrimitive{}
	for _, p := range snap.Primitives {
		byName[p.Name] = p
	}
	l := byName["orders-lock"]
	is.Equal(l.Kind, "Lock")
	is.Equal(l.State, "locked")
	is.True(l.Held)
	is.Equal(l.Waiting, 1)
	is.Equal(len(l.Holders), 1)
	is.True(l.Holders[0].AgeSeconds != nil && *l.Holders[0].AgeSeconds >= 0)
	is.True(!l.Holders[0].CanEnd)
	is.Equal(l.Holders[0].Stack[1], jsonFrame{Function: "github.com/turnstile-go/turnstile/debug.scene", File: l.Holders[0].Stack[1].File, Line: holdLine})
	is.Equal(len(l.Waiters), 1)
	is.True(l.Waiters[0].CanEnd)
	is.Equal(l.Waiters[0].Stack[1].Line, waitLine)
	q := byName["jobs <&>"]
	is.Equal(q.Kind, "Queue")
	is.Equal(q.Waiters[0].Ask, "item")
	is.Equal(q.Waiters[0].Stack[1].Line, getLine)
	is.Equal(len(q.Holders), 0)
	is.True(q.GrantsExact)
}

func TestHandlerText(t *testing.T) {
	is := is.New(t)
	_, waitLine, _ := scene(t)
	rec := get(t, Handler(), "/?format=text")
	is.Equal(rec.Code, http.StatusOK)
	is.Equal(rec.Header().Get("Content-Type"), "text/plain; charset=utf-8")
	text := rec.Body.String()
	is.True(strings.HasPrefix(text, "turnstile: 2 tracked primitive(s) at "))
	is.True(strings.Contains(text, `Lock "orders-lock" (#`))
	is.True(strings.Contains(text, "): locked, 1 waiting (oldest "))
	is.True(strings.Contains(text, "  holder: lock, held "))
	is.True(strings.Contains(text, "  waiter: lock, waiting "))
	is.True(strings.Contains(text, "debug_test.go:"+strconv.Itoa(waitLine)+"\n"))
	is.True(strings.Contains(text, `Queue "jobs <&>" (#`))

	var b strings.Builder
	is.NoErr(WriteText(&b))
	is.True(strings.Contains(b.String(), `Lock "orders-lock"`))
}

func TestHandlerErrors(t *testing.T) {
	is := is.New(t)
	h := Handler()
	rec := get(t, h, "/?format=yaml")
	is.Equal(rec.Code, http.StatusBadRequest)
	is.True(strings.Contains(rec.Body.String(), `debug: unknown format "yaml"`))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	is.Equal(rec.Code, http.StatusMethodNotAllowed)
	is.Equal(rec.Header().Get("Allow"), "GET, HEAD")
}

func TestHandlerNothingTracked(t *testing.T) {
	is := is.New(t)
	if len(chans.Tracked()) > 0 {
		t.Skip("something is tracked (TURNSTILE_TRACK?)")
	}
	body := get(t, Handler(), "/").Body.String()
	is.True(strings.Contains(body, "Nothing is tracked."))
	var snap jsonSnapshot
	is.NoErr(json.Unmarshal(get(t, Handler(), "/?format=json").Body.Bytes(), &snap))
	is.Equal(len(snap.Primitives), 0)
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTextReportsErrors(t *testing.T) {
	is := is.New(t)
	scene(t)
	err := WriteText(failWriter{})
	is.True(err != nil && err.Error() == "disk full")
}

// TestStrandedOnThePage runs the detector on synctest's clock: a grant
// abandoned in a select is reported, and the page, the JSON and the text say
// so.
func TestStrandedOnThePage(t *testing.T) {
	if len(chans.Tracked()) > 0 || os.Getenv("TURNSTILE_TRACK") != "" {
		t.Skip("tracking is on for the whole run (TURNSTILE_TRACK): its detector runs outside the test's bubble, on the real clock")
	}
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		defer chans.SetStrandedLogger(chans.SetStrandedLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		defer chans.SetStrandedAfter(chans.SetStrandedAfter(time.Second))
		var l chans.Lock
		chans.Track(&l, "stuck") // the detector starts here, in the bubble
		defer chans.Untrack(&l)
		rel := <-l.Acquire(context.Background())
		go func() {
			select {
			case <-l.Acquire(context.Background()): //abandon:ok stranded on purpose, for the detector to report
			case <-time.After(time.Second):
			}
		}()
		time.Sleep(2 * time.Second)
		rel()
		time.Sleep(5 * time.Second)
		h := Handler()
		is.True(strings.Contains(get(t, h, "/").Body.String(), `<span class="badge stranded">1 stranded</span>`))
		is.True(strings.Contains(get(t, h, "/?format=text").Body.String(), "sent 5s ago, not received, ctx cannot end, STRANDED"))
		var snap jsonSnapshot
		is.NoErr(json.Unmarshal(get(t, h, "/?format=json").Body.Bytes(), &snap))
		is.Equal(snap.Primitives[0].Stranded, 1)
		is.True(snap.Primitives[0].Holders[0].Stranded)
	})
}

func TestAge(t *testing.T) {
	is := is.New(t)
	for d, want := range map[time.Duration]string{
		chans.Unknown:                       "?",
		1500 * time.Nanosecond:              "2µs",
		250*time.Millisecond + 400_000:      "250ms",
		1500 * time.Millisecond:             "1.5s",
		3*time.Minute + 20*time.Second + 40: "3m20s",
	} {
		is.Equal(Age(d), want)
	}
}
