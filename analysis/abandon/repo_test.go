package abandon_test

import (
	"bufio"
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"
	"go.uber.org/goleak"
)

// repoRoot is the repository's root, the root module's directory.
var repoRoot = filepath.Join("..", "..")

var toolDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "turnstilevet")
	if err != nil {
		panic(err)
	}
	toolDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

var buildTool = sync.OnceValues(func() (string, error) {
	exe := filepath.Join(toolDir, "turnstilevet")
	out, err := exec.Command("go", "build", "-o", exe, "../cmd/turnstilevet").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return exe, nil
})

// tool builds cmd/turnstilevet once and returns its path.
func tool(t *testing.T) string {
	t.Helper()
	exe, err := buildTool()
	if err != nil {
		t.Fatalf("building turnstilevet: %v", err)
	}
	return exe
}

// run runs name with args in dir and returns its combined output and exit
// code.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out), 0
}

// testdataEnv loads the testdata workspace as analysistest does.
var testdataEnv = []string{"GOPROXY=off"}

// go vet -vettool runs the analyzer through the unitchecker protocol.
func TestVettool(t *testing.T) {
	is := is.New(t)
	out, code := run(t, "testdata", testdataEnv, "go", "vet", "-vettool="+tool(t), "./drops", "./waits")
	is.Equal(code, 1) // go vet fails when the tool reports
	is.True(strings.Contains(out, "drops/drops.go:22:2: the channel l.Acquire returns is dropped"))
	is.True(strings.Contains(out, "waits/waits.go:38:14: l.Acquire is abandoned when the case at line 42 wins, and its ctx never ends (context.Background())"))

	out, code = run(t, "testdata", testdataEnv, "go", "vet", "-vettool="+tool(t), "./readme/...")
	is.Equal(out, "")
	is.Equal(code, 0)
}

// turnstilevet on its own loads the packages itself, and takes the
// analyzer's flags: -strict checks tests in full (TestAnalyzer checks the
// default).
func TestStandalone(t *testing.T) {
	is := is.New(t)
	out, code := run(t, "testdata", testdataEnv, tool(t), "-strict", "./grants", "./tests")
	is.Equal(code, 3) // the checker's code for "reported something"
	is.True(strings.Contains(out, "grants/grants.go:29:2: the Release release from l.Acquire is not released on every path: the return at line 34 is reached"))
	is.True(strings.Contains(out, "tests_test.go:24:14: L.Acquire is abandoned"))
	is.True(strings.Contains(out, "tests_test.go:12:2: the Release from L.Acquire is dropped")) // TestHold's, with -strict
}

// modules returns the directories of the repository's modules that the
// analyzer checks: the root and every nested one (dist/etcd, dist/pg,
// bench, ...), but not this one.
func modules(t *testing.T) []string {
	t.Helper()
	analysis, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(path)
		switch {
		case d.IsDir() && (abs == analysis || d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".")) && path != repoRoot:
			return filepath.SkipDir
		case !d.IsDir() && d.Name() == "go.mod":
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// The repository's own code passes clean: every module, with its tests and
// Examples (where the README's snippets live), as CI runs it.
func TestRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("vets every module of the repository")
	}
	for _, dir := range modules(t) {
		name, _ := filepath.Rel(repoRoot, dir)
		t.Run(name, func(t *testing.T) {
			out, code := run(t, dir, []string{"GOWORK=off"}, "go", "vet", "-vettool="+tool(t), "./...")
			if code != 0 || out != "" {
				t.Errorf("go vet -vettool=turnstilevet ./... in %s: exit %d\n%s", dir, code, out)
			}
		})
	}
}

// Every Go snippet of the README is checked: it appears, line for line, in
// code the analyzer checks in full (a non-test file or an Example of one of
// the repository's modules, or the verbatim copies in testdata/readme), so
// TestRepository and TestAnalyzer cover it. A snippet that is in neither
// fails here with its line in the README. The examples of this module's
// README must match testdata/docs, where TestAnalyzer checks what is said
// about each.
func TestREADME(t *testing.T) {
	var repo []source
	for _, dir := range append(modules(t), filepath.Join("testdata", "readme")) {
		repo = append(repo, checkedSources(t, dir)...)
	}
	for _, c := range []struct {
		readme  string
		sources []source
	}{
		{filepath.Join(repoRoot, "README.md"), repo},
		{filepath.Join("..", "README.md"), checkedSources(t, filepath.Join("testdata", "docs"))},
	} {
		md, err := os.ReadFile(c.readme)
		if err != nil {
			t.Fatal(err)
		}
		snippets := goSnippets(md)
		if len(snippets) == 0 {
			t.Fatalf("no ```go snippets in %s", c.readme)
		}
		for _, s := range snippets {
			if !found(s.lines, c.sources) {
				t.Errorf("%s:%d: snippet not found in code the analyzer checks in full:\n%s",
					c.readme, s.line, strings.Join(s.lines, "\n"))
			}
		}
	}
}

type snippet struct {
	line  int
	lines []string // normalised, see norm
}

// goSnippets returns the ```go blocks of a Markdown file.
func goSnippets(md []byte) []snippet {
	var out []snippet
	var cur *snippet
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case cur == nil && l == "```go":
			cur = &snippet{line: n + 1}
		case cur != nil && l == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			if l := norm(l); l != "" {
				cur.lines = append(cur.lines, l)
			}
		}
	}
	return out
}

// norm reduces a line to what must match: no indentation, no comment, no
// import (a snippet's import line is an import block in code).
func norm(l string) string {
	l = strings.TrimSpace(l)
	if strings.HasPrefix(l, "import ") || strings.HasPrefix(l, "//") {
		return ""
	}
	for i := 0; ; i += 2 {
		j := strings.Index(l[i:], "//")
		if j < 0 {
			return l
		}
		i += j
		if before := l[:i]; strings.Count(before, `"`)%2 == 0 && !strings.Contains(before, "`") {
			return strings.TrimSpace(before) // a trailing comment, not a // in a string
		}
	}
}

// A source is the checked code of one file: its normalised lines.
type source struct {
	name  string
	lines []string
}

// checkedSources returns the code the analyzer checks in full under dir:
// whole non-test files, and the Example functions of test files.
func checkedSources(t *testing.T, dir string) []source {
	t.Helper()
	var out []source
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && (d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if path != dir && fileExists(filepath.Join(path, "go.mod")) {
				return filepath.SkipDir // a nested module, walked on its own
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.HasSuffix(path, "_test.go") {
			out = append(out, source{path, normLines(string(src))})
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && strings.HasPrefix(fd.Name.Name, "Example") {
				body := src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset]
				out = append(out, source{path + ":" + fd.Name.Name, normLines(string(body))})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func normLines(src string) []string {
	var out []string
	for l := range strings.Lines(src) {
		if l := norm(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// found reports whether want appears as consecutive lines of one source.
func found(want []string, sources []source) bool {
	for _, s := range sources {
		for i := 0; i+len(want) <= len(s.lines); i++ {
			match := true
			for j, w := range want {
				if s.lines[i+j] != w {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
	}
	return false
}
