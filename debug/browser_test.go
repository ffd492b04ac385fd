//go:build unix

package debug

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
)

var screenshot = flag.String("screenshot", "", "write the browser test's screenshot of the page to this file as well (../docs/debug-page.png)")

// findChromium returns the path of a Chromium or Chrome, or skips the test.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (Debian: apt-get install -y chromium): the page is not tested in a browser")
	return ""
}

// runChromium runs a headless browser with args on its own profile and
// returns what it wrote to stdout. The browser is a process group of its
// own, killed whole if it outlives its minute.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever of its group is left
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// deadlock is what the page shows in the browser: two workers, each holding
// one Lock and waiting for the other's; a getter waiting on a Queue; a grant
// stranded by a select that walked away. It returns once the detector has
// reported the stranded grant; the cleanup undoes it all.
func deadlock(t *testing.T) {
	oldLog := chans.SetStrandedLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	oldAfter := chans.SetStrandedAfter(100 * time.Millisecond)
	accounts, ledger, cache := new(chans.Lock), new(chans.Lock), new(chans.Lock)
	jobs := chans.NewQueue[string](0)
	chans.Track(accounts, "accounts-lock")
	chans.Track(ledger, "ledger-lock")
	chans.Track(cache, "cache-lock")
	chans.Track(jobs, "jobs")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var holding sync.WaitGroup
	holding.Add(2)
	wg.Go(func() { worker(ctx, &holding, accounts, ledger) })
	wg.Go(func() { worker(ctx, &holding, ledger, accounts) })
	jobs.Get(ctx)

	rel := <-cache.Acquire(context.Background())
	lookup(cache)
	rel() // to the lookup that walked away

	t.Cleanup(func() {
		cancel()
		wg.Wait()
		chans.Untrack(accounts)
		chans.Untrack(ledger)
		chans.Untrack(cache)
		chans.Untrack(jobs)
		chans.SetStrandedLogger(oldLog)
		chans.SetStrandedAfter(oldAfter)
	})
	// The detector looks every 25ms here; wait for its report (no channel
	// tells of it).
	for deadline := time.Now().Add(10 * time.Second); cache.Stats().Stranded == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the stranded grant was not reported within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// worker holds first, then waits for second, until ctx ends.
func worker(ctx context.Context, holding *sync.WaitGroup, first, second *chans.Lock) {
	rel, err := first.AcquireWait(ctx)
	if err != nil {
		return
	}
	defer rel()
	holding.Done()
	holding.Wait()
	if rel2, err := second.AcquireWait(ctx); err == nil {
		rel2()
	}
}

// lookup waits for the cache lock (held) beside a timeout, which wins, and
// walks away: once released, the lock is granted to nobody who will ever
// receive it.
func lookup(cache *chans.Lock) {
	select {
	case rel := <-cache.Acquire(context.Background()): //abandon:ok stranded on purpose, for the detector and the page to show
		rel()
	case <-time.After(20 * time.Millisecond):
	}
}

// TestPageInBrowser loads the page in a headless Chromium against a live
// program (a server on 127.0.0.1 over real primitives, deadlocked) and
// checks what the page shows once its scripts ran: the two locks with their
// holders and waiters and where they were called from, the stranded grant,
// and a primitive tracked after the page loaded, which only the page's own
// refresh can show. It also takes a screenshot (see -screenshot).
func TestPageInBrowser(t *testing.T) {
	bin := findChromium(t)
	is := is.New(t)
	deadlock(t)

	var late sync.Once
	lateSem := chans.NewSemaphore(1)
	defer chans.Untrack(lateSem)
	page := Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") == "fragment" {
			late.Do(func() { chans.Track(lateSem, "tracked-after-load") })
		}
		page.ServeHTTP(w, r)
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server at %s, want loopback", srv.URL)
	}
	url := srv.URL + "/debug/turnstile/"

	// Five seconds of the page's virtual time: two refreshes at least
	// (virtual time stands still while a fetch is under way).
	dom := string(runChromium(t, bin, "--virtual-time-budget=5000", "--dump-dom", url))
	m := regexp.MustCompile(`<body data-refreshes="(\d+)">`).FindStringSubmatch(dom)
	is.True(m != nil) // the body with its refresh count
	n, _ := strconv.Atoi(m[1])
	is.True(n >= 1)                                      // the script refreshed the list
	is.True(strings.Contains(dom, "tracked-after-load")) // which only a refresh can show
	for _, want := range []string{
		`<span class="kind">Lock</span>accounts-lock`,
		`<span class="kind">Lock</span>ledger-lock`,
		`<span class="kind">Queue</span>jobs`,
		`<td class="role">holder</td>`,
		`<td class="role">waiter</td>`,
		"debug.worker (browser_test.go:",
		"debug.lookup (browser_test.go:",
		`<span class="badge stranded">1 stranded</span>`,
		"STRANDED",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page in the browser lacks %q", want)
		}
	}
	is.True(strings.Contains(dom, `<span id="status"></span>`)) // no refresh failed

	// Each deadlocked lock: one holder and one waiter, both worker calls.
	for _, name := range []string{"accounts-lock", "ledger-lock"} {
		i := strings.Index(dom, "</span>"+name)
		is.True(i >= 0)
		sec := dom[i:]
		sec = sec[:strings.Index(sec, "</section>")]
		is.Equal(strings.Count(sec, `<td class="role">holder</td>`), 1)
		is.Equal(strings.Count(sec, `<td class="role">waiter</td>`), 1)
		is.Equal(strings.Count(sec, "debug.worker (browser_test.go:"), 2)
	}

	png := t.TempDir() + "/page.png"
	runChromium(t, bin, "--virtual-time-budget=2500", "--window-size=1280,1500", "--screenshot="+png, url+"?stacks=open")
	img, err := os.ReadFile(png)
	is.NoErr(err)
	is.True(bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")))
	is.True(len(img) > 20_000) // a page, not a blank
	if *screenshot != "" {
		is.NoErr(os.WriteFile(*screenshot, img, 0o644))
	}
}
