package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"
)

// The errgroup side of the README's fan-out pair ("Pipelines and task
// groups"), shown there as this function's body; the turnstile side is the body of chans.ExampleTaskGroup. Both
// fetch the same pages from the same stand-in for the network.

var site = map[string]string{
	"/":      "home",
	"/docs":  "documentation",
	"/blog":  "posts",
	"/about": "about us",
}

var errNotFound = errors.New("404 not found")

func fetch(ctx context.Context, url string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	page, ok := site[url]
	if !ok {
		return "", fmt.Errorf("%s: %w", url, errNotFound)
	}
	return page, nil
}

func Example_fanoutErrgroup() {
	ctx := context.Background()
	urls := []string{"/", "/docs", "/blog", "/about"}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	pages := make([]string, len(urls))
	for i, url := range urls {
		g.Go(func() error {
			page, err := fetch(gctx, url)
			pages[i] = page
			return err
		})
	}
	err := g.Wait()

	fmt.Println(pages, err)
	// Output: [home documentation posts about us] <nil>
}

// TestReadmeFanoutPair checks that the README's fan-out pair is exactly the
// bodies of Example_fanoutErrgroup and chans.ExampleTaskGroup, so the code
// shown is the code that compiles and runs.
func TestReadmeFanoutPair(t *testing.T) {
	readme := read(t, "../README.md")
	for _, ex := range []struct{ file, fn string }{
		{"readme_test.go", "func Example_fanoutErrgroup() {\n"},
		{"../chans/example_taskgroup_test.go", "func ExampleTaskGroup() {\n"},
	} {
		src := read(t, ex.file)
		_, body, ok := strings.Cut(src, ex.fn)
		if !ok {
			t.Fatalf("%s: no %q", ex.file, ex.fn)
		}
		body, _, _ = strings.Cut(body, "\n}\n")
		var lines []string
		for l := range strings.SplitSeq(body, "\n") {
			lines = append(lines, strings.TrimPrefix(l, "\t"))
		}
		block := "```go\n" + strings.Join(lines, "\n") + "\n```"
		if !strings.Contains(readme, block) {
			t.Errorf("README.md does not show the body of %s as it is:\n%s", strings.TrimSuffix(ex.fn, " {\n"), block)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
