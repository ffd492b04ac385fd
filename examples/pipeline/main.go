// Command pipeline finds duplicate files: it walks one or more directory
// trees, hashes every regular file with bounded parallelism, groups the files
// by content, and prints a summary. It is a fan-out/fan-in pipeline built
// from chans' pipeline stages:
//
//	walk(tree 1) ─┐
//	walk(tree 2) ─┼─▶ paths ──▶ hash ×N ──▶ sums ──▶ aggregate
//	walk(tree …) ─┘  (Queue)   (Stage)     (Queue)    (Sink)
//
// The parts:
//   - One chans.Source per tree walks it and puts the paths of its files
//     into one bounded queue (fan-in); the queue is shut down when the last
//     walk is done.
//   - A chans.Stage with -workers workers takes paths, hashes the files and
//     puts their sums into a second bounded queue (fan-out). The bounds are
//     the backpressure: when hashing lags, the walks wait, and memory stays
//     flat however large the trees.
//   - A chans.Sink aggregates the sums. When it has drained the last one,
//     the pipeline is done.
//
// A file that cannot be read is reported in the summary and skipped; with
// -strict it is a failure instead, which cancels the whole pipeline at once.
// Interrupting (Ctrl-C) stops it too; the summary then says how far it got.
// While it runs, a progress line on stderr counts the files found and
// hashed.
//
// Run it with:
//
//	go run ./examples/pipeline [-workers 4] [-strict] [dir ...]
//
// Without a dir it hashes the current directory.
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

// openFile opens a file to hash; a variable so that tests can make a file
// unreadable (the tests run as root, whom permissions do not stop) or make
// its open hang until ctx, the stage's, has ended.
var openFile = func(_ context.Context, path string) (io.ReadCloser, error) { return os.Open(path) }

// sum is one hashed file, or the reason it could not be.
type sum struct {
	path string
	size int64
	hash string
	err  error
}

// counts are what the progress line shows.
type counts struct {
	found, hashed, bytes atomic.Int64
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workers := fs.Int("workers", 4, "files hashed at once")
	strict := fs.Bool("strict", false, "stop at the first file that cannot be read")
	every := fs.Duration("progress", 200*time.Millisecond, "how often the progress line is redrawn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 {
		return fmt.Errorf("-workers must be at least 1, not %d", *workers)
	}
	roots := fs.Args()
	if len(roots) == 0 {
		roots = []string{"."}
	}
	for _, r := range roots {
		if st, err := os.Stat(r); err != nil {
			return err
		} else if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", r)
		}
	}

	var c counts
	p := chans.NewPipeline(ctx)
	paths := chans.NewQueue[string](4 * *workers)
	sums := chans.NewQueue[sum](4 * *workers)
	for _, root := range roots {
		chans.Source(p, paths, walk(p.Context(), root, &c))
	}
	chans.Stage(p, paths, sums, *workers, func(ctx context.Context, path string) (sum, error) {
		s := hashFile(ctx, path)
		if s.err != nil && *strict && ctx.Err() == nil {
			return s, s.err
		}
		if s.err == nil {
			c.hashed.Add(1)
			c.bytes.Add(s.size)
		}
		return s, nil
	})
	var agg aggregate
	chans.Sink(p, sums, 1, func(_ context.Context, s sum) error {
		agg.add(s)
		return nil
	})

	start := time.Now()
	stopProgress := progress(stderr, &c, *every)
	err := p.Run()
	stopProgress()
	took := time.Since(start)

	how := "done"
	switch {
	case err != nil:
		how = "stopped at the first failure"
		err = fmt.Errorf("stopped: %w", err)
	case ctx.Err() != nil:
		how = "interrupted"
		err = ctx.Err()
	}
	agg.print(stdout, how, len(roots), *workers, took)
	return err
}

// walk returns the paths of the regular files beneath root, in lexical
// order, counting them; it stops when ctx ends or the pipeline stops taking
// them. An error reading a directory is reported as a path whose hashing
// fails, so that it shows in the summary like any unreadable file.
func walk(ctx context.Context, root string, c *counts) iter.Seq[string] {
	return func(yield func(string) bool) {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return filepath.SkipAll
			}
			if err != nil || d.Type().IsRegular() {
				c.found.Add(1)
				if !yield(path) {
					return filepath.SkipAll
				}
			}
			if err != nil && d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		})
	}
}

// hashFile returns the SHA-256 of the file at path; a cancelled ctx stops a
// large file between blocks.
func hashFile(ctx context.Context, path string) sum {
	f, err := openFile(ctx, path)
	if err != nil {
		return sum{path: path, err: err}
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return sum{path: path, err: fmt.Errorf("%s: %w", path, err)}
	}
	return sum{path: path, size: n, hash: hex.EncodeToString(h.Sum(nil))}
}

// ctxReader stops reading once ctx has ended.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// progress redraws a line on w every interval until the returned function
// is called, which draws it a last time and ends it with a newline.
func progress(w io.Writer, c *counts, every time.Duration) (stop func()) {
	draw := func() {
		fmt.Fprintf(w, "\rfound %d files, hashed %d (%s)", c.found.Load(), c.hashed.Load(), size(c.bytes.Load()))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw()
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		draw()
		fmt.Fprintln(w)
	}
}

// aggregate groups the files by content. Only the sink touches it.
type aggregate struct {
	files, bytes int64
	byHash       map[string][]sum
	failed       []sum
}

func (a *aggregate) add(s sum) {
	if s.err != nil {
		a.failed = append(a.failed, s)
		return
	}
	if a.byHash == nil {
		a.byHash = map[string][]sum{}
	}
	a.files++
	a.bytes += s.size
	a.byHash[s.hash] = append(a.byHash[s.hash], s)
}

// print writes the summary: a line of totals, the groups of duplicates
// (largest waste first), and the files that could not be read.
func (a *aggregate) print(w io.Writer, how string, trees, workers int, took time.Duration) {
	var groups [][]sum
	var wasted int64
	for _, g := range a.byHash {
		if len(g) > 1 {
			slices.SortFunc(g, func(x, y sum) int { return strings.Compare(x.path, y.path) })
			groups = append(groups, g)
			wasted += int64(len(g)-1) * g[0].size
		}
	}
	slices.SortFunc(groups, func(x, y []sum) int {
		return cmp.Or(
			cmp.Compare(int64(len(y)-1)*y[0].size, int64(len(x)-1)*x[0].size),
			strings.Compare(x[0].path, y[0].path))
	})
	fmt.Fprintf(w, "%s in %v: hashed %d files (%s) in %d trees with %d workers\n",
		how, took.Round(time.Millisecond), a.files, size(a.bytes), trees, workers)
	fmt.Fprintf(w, "%d groups of duplicates, %s to reclaim\n", len(groups), size(wasted))
	for _, g := range groups {
		names := make([]string, len(g))
		for i, s := range g {
			names[i] = s.path
		}
		fmt.Fprintf(w, "  %s  %d × %s: %s\n", g[0].hash[:12], len(g), size(g[0].size), strings.Join(names, ", "))
	}
	slices.SortFunc(a.failed, func(x, y sum) int { return strings.Compare(x.path, y.path) })
	fmt.Fprintf(w, "%d unreadable\n", len(a.failed))
	for _, s := range a.failed {
		fmt.Fprintf(w, "  %v\n", s.err)
	}
}

// size formats a byte count: "512 B", "1.5 KiB", "3.2 MiB".
func size(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
