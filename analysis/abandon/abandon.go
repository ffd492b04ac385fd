// Package abandon defines an Analyzer that reports turnstile waits and
// grants that are left behind.
//
// # Analyzer abandon
//
// abandon: report turnstile waits abandoned in a select, and grants not released
//
// A turnstile wait (Lock.Acquire, Queue.Get, Mailbox.Receive, a dist engine's
// Acquire: any function or method of a turnstile package, selectx aside, that
// takes a context.Context and returns a receive-only channel) stays queued
// until its ctx ends. When another case of a select wins, the wait is
// abandoned, and whatever it is granted afterwards is held for nobody until
// that ctx ends. The analyzer reports such a wait when:
//
//   - its ctx can never end (context.Background or TODO, or one derived from
//     them only by WithValue, or any WithoutCancel), on any path from another
//     case to a return;
//   - its ctx was made in the function by context.WithCancel, WithTimeout or
//     WithDeadline and the cancel func is not used on some path from another
//     case to a return (the lostcancel pattern, but for the grant);
//   - a loop makes the wait again after another case won, while the
//     abandoned one is still queued on the same ctx;
//   - its channel is dropped (the call is a statement, or assigned to _) or
//     never received.
//
// In _test.go files only abandoned waits in a select are reported, except
// in Example functions, which are documentation and checked in full: tests
// hold grants and queue waiters on purpose. The -strict flag checks tests in
// full too.
//
// A ctx that comes from a parameter, a field or a call is assumed to be
// cancelled by whoever made it; a wait received outside a select, or made
// through selectx, is fine.
//
// It also reports a grant (a chans.Release, a *dist.Grant) obtained from a
// received wait, from a TryAcquire (when its bool is true), from a blocking
// twin such as AcquireWait (when its error is nil) or from selectx.First,
// that is not called, deferred, or passed on (returned, stored, given to a
// function, captured) on every path to a return, or is dropped.
//
// A report that is wrong, or a test that abandons a wait on purpose, is
// silenced by a comment on the line or the line above:
//
//	//abandon:ok the reason
package abandon

import (
	"flag"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/ctrlflow"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// Analyzer reports turnstile waits abandoned in a select on a ctx that is
// not cancelled, waits whose channel is dropped, and grants not released on
// every path. See the package documentation.
var Analyzer = &analysis.Analyzer{
	Name:     "abandon",
	Flags:    flags(),
	Doc:      doc,
	URL:      "https://pkg.go.dev/github.com/turnstile-go/turnstile/analysis/abandon",
	Requires: []*analysis.Analyzer{inspect.Analyzer, ctrlflow.Analyzer},
	Run:      run,
}

const doc = `report turnstile waits abandoned in a select, and grants not released

A turnstile wait (Lock.Acquire, Queue.Get, Mailbox.Receive, a dist engine's
Acquire: a function or method of a turnstile package, selectx aside, that
takes a context.Context and returns a receive-only channel) stays queued
until its ctx ends. abandon reports a wait received in a select with other
cases when its ctx can never end, when the cancel func of its ctx is not used
on a path through another case, or when a loop makes it again while the
abandoned one is still queued; a wait whose channel is dropped or never
received; and a chans.Release or *dist.Grant that is not called, deferred or
passed on along every path.

In _test.go files, only abandoned waits in a select are reported, except in
Example functions, which are checked in full like other code: tests hold
grants and queue waiters on purpose. -strict checks tests in full too.

Silence a report with a comment on its line or the line above:
	//abandon:ok the reason`

// strictTests is the -strict flag.
var strictTests bool

func flags() flag.FlagSet {
	var fs flag.FlagSet
	fs.BoolVar(&strictTests, "strict", false,
		"report dropped waits and unreleased grants in test functions too (by default only Examples and non-test code; tests hold grants and queue waiters on purpose)")
	return fs
}

// directive is the comment that silences a report.
const directive = "//abandon:ok"

func run(pass *analysis.Pass) (any, error) {
	if !usesModule(pass.Pkg, make(map[*types.Package]bool)) {
		return nil, nil
	}
	c := &checker{
		pass:    pass,
		x:       newIndex(pass.TypesInfo, pass.Files),
		cfgs:    pass.ResultOf[ctrlflow.Analyzer].(*ctrlflow.CFGs),
		silence: silenced(pass),
		chans:   make(map[*types.Var]*wait),
	}
	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	insp.Preorder([]ast.Node{(*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)}, func(n ast.Node) {
		c.function(n)
	})
	return nil, nil
}

// usesModule reports whether pkg is a turnstile package or imports one,
// directly or not: only then can it call a wait.
func usesModule(pkg *types.Package, seen map[*types.Package]bool) bool {
	if seen[pkg] {
		return false
	}
	seen[pkg] = true
	if inModule(pkg.Path()) {
		return true
	}
	for _, p := range pkg.Imports() {
		if usesModule(p, seen) {
			return true
		}
	}
	return false
}

type checker struct {
	pass    *analysis.Pass
	x       *index
	cfgs    *ctrlflow.CFGs
	silence map[lineKey]bool
	chans   map[*types.Var]*wait // channel variables holding a wait, nil if not followed
}

type lineKey struct {
	file string
	line int
}

// silenced finds the //abandon:ok comments, and reports those without a
// reason: a silenced report should say why it is wrong.
func silenced(pass *analysis.Pass) map[lineKey]bool {
	m := make(map[lineKey]bool)
	for _, f := range pass.Files {
		for _, g := range f.Comments {
			for _, c := range g.List {
				rest, ok := strings.CutPrefix(c.Text, directive)
				if !ok {
					continue
				}
				rest, _, _ = strings.Cut(rest, "//") // a comment after it is no reason
				if strings.TrimSpace(rest) == "" {
					pass.Reportf(c.Pos(), "%s needs a reason after it", directive)
					continue
				}
				p := pass.Fset.Position(c.Pos())
				m[lineKey{p.Filename, p.Line}] = true
			}
		}
	}
	return m
}

// report reports at node n unless a directive silences it.
func (c *checker) report(n ast.Node, related []analysis.RelatedInformation, format string, args ...any) {
	p := c.pass.Fset.Position(n.Pos())
	if c.silence[lineKey{p.Filename, p.Line}] || c.silence[lineKey{p.Filename, p.Line - 1}] {
		return
	}
	c.pass.Report(analysis.Diagnostic{
		Pos:     n.Pos(),
		End:     n.End(),
		Message: fmt.Sprintf(format, args...),
		Related: related,
	})
}

// line returns the line of pos, for messages.
func (c *checker) line(pos token.Pos) int { return c.pass.Fset.Position(pos).Line }

// related points at n with message msg.
func (c *checker) related(n ast.Node, msg string) []analysis.RelatedInformation {
	pos, end := n.Pos(), n.End()
	if c.pass.Fset.File(pos) != c.pass.Fset.File(end) {
		end = pos // a synthetic return may end past its file (golang/go#64547)
	}
	return []analysis.RelatedInformation{{Pos: pos, End: end, Message: msg}}
}
