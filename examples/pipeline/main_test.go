package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// The example works on real files in a tree each test makes; only opening
// a file can be made to fail (openFile), since the tests run as root.

// makeTree writes files (path relative to a new temp dir → content) and
// returns the dir.
func makeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// failOpen makes openFile fail for paths that end with suffix.
func failOpen(t *testing.T, suffix string, err error) {
	orig := openFile
	t.Cleanup(func() { openFile = orig })
	openFile = func(ctx context.Context, p string) (io.ReadCloser, error) {
		if strings.HasSuffix(p, suffix) {
			return nil, err
		}
		return orig(ctx, p)
	}
}

var summaryRe = regexp.MustCompile(`^(.+) in [^:]+: hashed (\d+) files \((.+)\) in (\d+) trees with (\d+) workers$`)

type output struct {
	how                   string
	files, trees, workers int
	bytes                 string
	groupsLine            string
	groups                []string // "n × size: paths" with paths relative to the tree
	unreadable            []string
}

func parse(t *testing.T, out, root string) output {
	t.Helper()
	rel := func(s string) string {
		if root == "" {
			return s
		}
		return strings.ReplaceAll(s, root+string(filepath.Separator), "")
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	m := summaryRe.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("summary %q", lines[0])
	}
	var o output
	o.how, o.bytes = m[1], m[3]
	fmt.Sscan(m[2], &o.files)
	fmt.Sscan(m[4], &o.trees)
	fmt.Sscan(m[5], &o.workers)
	o.groupsLine = lines[1]
	i := 2
	for ; i < len(lines) && strings.HasPrefix(lines[i], "  "); i++ {
		_, rest, _ := strings.Cut(strings.TrimSpace(lines[i]), "  ")
		o.groups = append(o.groups, rel(rest))
	}
	for i++; i < len(lines); i++ {
		o.unreadable = append(o.unreadable, rel(strings.TrimSpace(lines[i])))
	}
	return o
}

func TestRunFindsDuplicates(t *testing.T) {
	is := is.New(t)
	root := makeTree(t, map[string]string{
		"a.txt":           "hello",
		"b/copy-of-a.txt": "hello",
		"b/c/again-a.txt": "hello",
		"b/unique.txt":    "only me",
		"d/big1.bin":      strings.Repeat("x", 5000),
		"d/e/f/big2.bin":  strings.Repeat("x", 5000),
		"empty1":          "",
		"g/empty2":        "",
	})
	var out, errOut bytes.Buffer
	is.NoErr(run(t.Context(), []string{"-workers", "3", root}, &out, &errOut))
	o := parse(t, out.String(), root)
	is.Equal(o.how, "done")
	is.Equal(o.files, 8)
	is.Equal(o.trees, 1)
	is.Equal(o.workers, 3)
	is.Equal(o.bytes, "9.8 KiB") // 3×5 + 7 + 2×5000
	is.Equal(o.groupsLine, "3 groups of duplicates, 4.9 KiB to reclaim")
	is.Equal(o.groups, []string{
		"2 × 4.9 KiB: d/big1.bin, d/e/f/big2.bin",
		"3 × 5 B: a.txt, b/c/again-a.txt, b/copy-of-a.txt",
		"2 × 0 B: empty1, g/empty2",
	})
	is.Equal(o.unreadable, nil)
	// The progress line, redrawn in place, ends with the final counts.
	is.True(strings.HasSuffix(errOut.String(), "\rfound 8 files, hashed 8 (9.8 KiB)\n"))
}

// Several trees fan in to one queue of paths.
func TestRunSeveralTrees(t *testing.T) {
	is := is.New(t)
	t1 := makeTree(t, map[string]string{"x": "same", "y": "other"})
	t2 := makeTree(t, map[string]string{"z": "same"})
	t3 := makeTree(t, map[string]string{"w/v": "same"})
	var out bytes.Buffer
	is.NoErr(run(t.Context(), []string{"-workers", "2", t1, t2, t3}, &out, io.Discard))
	o := parse(t, out.String(), "")
	is.Equal(o.files, 4)
	is.Equal(o.trees, 3)
	is.Equal(o.groupsLine, "1 groups of duplicates, 8 B to reclaim")
	is.Equal(o.groups, []string{fmt.Sprintf("3 × 4 B: %s, %s, %s",
		filepath.Join(t1, "x"), filepath.Join(t2, "z"), filepath.Join(t3, "w/v"))})
}

// Many files, few workers and small queues: backpressure keeps the walk
// waiting on the hashers, and everything still arrives.
func TestRunManyFiles(t *testing.T) {
	is := is.New(t)
	files := map[string]string{}
	for i := range 300 {
		files[fmt.Sprintf("d%d/f%d", i%7, i)] = fmt.Sprint(i % 100) // 100 distinct contents
	}
	root := makeTree(t, files)
	var out bytes.Buffer
	is.NoErr(run(t.Context(), []string{"-workers", "1", root}, &out, io.Discard))
	o := parse(t, out.String(), root)
	is.Equal(o.files, 300)
	is.Equal(len(o.groups), 100)
}

var errDenied = errors.New("permission denied")

func TestRunUnreadableReported(t *testing.T) {
	is := is.New(t)
	root := makeTree(t, map[string]string{"ok1": "a", "secret": "b", "sub/ok2": "a"})
	failOpen(t, "secret", errDenied)
	var out bytes.Buffer
	is.NoErr(run(t.Context(), []string{root}, &out, io.Discard))
	o := parse(t, out.String(), root)
	is.Equal(o.how, "done")
	is.Equal(o.files, 2)
	is.Equal(o.unreadable, []string{"permission denied"})
	is.Equal(o.groups, []string{"2 × 1 B: ok1, sub/ok2"})
}

// With -strict the first unreadable file is a failure: it cancels the
// pipeline and is the error run returns.
func TestRunStrictStopsAtFirstFailure(t *testing.T) {
	is := is.New(t)
	files := map[string]string{"bad": "x"}
	for i := range 50 {
		files[fmt.Sprintf("f%02d", i)] = fmt.Sprint(i)
	}
	root := makeTree(t, files)
	failOpen(t, "bad", errDenied)
	var out bytes.Buffer
	err := run(t.Context(), []string{"-strict", "-workers", "2", root}, &out, io.Discard)
	is.True(errors.Is(err, errDenied))
	o := parse(t, out.String(), root)
	is.Equal(o.how, "stopped at the first failure")
	is.True(o.files < 51)
}

// Interrupting stops the walks and the hashers promptly; the summary says how
// far it got.
func TestRunInterrupted(t *testing.T) {
	is := is.New(t)
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("f%03d", i)] = fmt.Sprint(i)
	}
	root := makeTree(t, files)
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	reached := make(chan struct{})
	orig := openFile
	t.Cleanup(func() { openFile = orig })
	openFile = func(sctx context.Context, p string) (io.ReadCloser, error) {
		if strings.HasSuffix(p, "f010") {
			close(reached)
			// Hangs until interrupted, as the stage sees it: the test's ctx
			// closes its Done before it cancels the contexts derived from
			// it, so a wait on ctx could return while the stage's ctx is
			// still live, and the worker would go on hashing.
			<-sctx.Done()
			return nil, sctx.Err()
		}
		return orig(sctx, p)
	}
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- run(ctx, []string{"-workers", "1", root}, &out, io.Discard) }()
	<-reached
	interrupt()
	select {
	case err := <-done:
		is.True(errors.Is(err, context.Canceled))
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after the interrupt")
	}
	o := parse(t, out.String(), root)
	is.Equal(o.how, "interrupted")
	is.True(o.files <= 10)
}

func TestRunBadArgs(t *testing.T) {
	is := is.New(t)
	is.True(run(t.Context(), []string{"-workers", "0"}, io.Discard, io.Discard) != nil)
	is.True(run(t.Context(), []string{filepath.Join(t.TempDir(), "none")}, io.Discard, io.Discard) != nil)
	f := filepath.Join(t.TempDir(), "file")
	is.NoErr(os.WriteFile(f, nil, 0o644))
	is.True(run(t.Context(), []string{f}, io.Discard, io.Discard) != nil)
}
