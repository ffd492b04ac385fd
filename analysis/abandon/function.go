package abandon

import (
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/cfg"
)

// fn is one function (declared or literal) being checked, with its
// control-flow graph.
type fn struct {
	c     *checker
	node  ast.Node // *ast.FuncDecl or *ast.FuncLit
	sig   *types.Signature
	g     *cfg.CFG
	main  bool              // main.main: returning ends the process
	own   map[ast.Node]bool // nodes of this function, not of nested literals
	where map[ast.Node]loc  // CFG node to its place
	kind  map[blockKey]*cfg.Block
}

// loc is a node's place in the CFG: block b, b.Nodes[i].
type loc struct {
	b *cfg.Block
	i int
}

type blockKey struct {
	kind cfg.BlockKind
	stmt ast.Stmt
}

func (c *checker) function(n ast.Node) {
	f := &fn{c: c, node: n, own: make(map[ast.Node]bool)}
	var body *ast.BlockStmt
	switch n := n.(type) {
	case *ast.FuncDecl:
		if n.Body == nil {
			return
		}
		body = n.Body
		f.sig, _ = c.pass.TypesInfo.Defs[n.Name].Type().(*types.Signature)
		f.main = n.Name.Name == "main" && n.Recv == nil && c.pass.Pkg.Name() == "main"
		f.g = c.cfgs.FuncDecl(n)
	case *ast.FuncLit:
		body = n.Body
		f.sig, _ = c.pass.TypesInfo.TypeOf(n).(*types.Signature)
		f.g = c.cfgs.FuncLit(n)
	}
	if f.g == nil || f.sig == nil {
		return
	}
	var selects []*ast.SelectStmt
	var stmts []ast.Node
	ast.Inspect(body, func(m ast.Node) bool {
		if _, ok := m.(*ast.FuncLit); ok {
			return false // checked on its own
		}
		if m == nil {
			return false
		}
		f.own[m] = true
		switch m := m.(type) {
		case *ast.SelectStmt:
			selects = append(selects, m)
		case *ast.ExprStmt, *ast.GoStmt, *ast.DeferStmt, *ast.AssignStmt, *ast.ValueSpec:
			stmts = append(stmts, m)
		}
		return true
	})
	if len(selects) == 0 && len(stmts) == 0 {
		return
	}
	f.where = make(map[ast.Node]loc)
	f.kind = make(map[blockKey]*cfg.Block)
	for _, b := range f.g.Blocks {
		for i, n := range b.Nodes {
			f.where[n] = loc{b, i}
		}
		f.kind[blockKey{b.Kind, b.Stmt}] = b
	}
	if strictTests || !f.c.inTest(n) {
		for _, s := range stmts {
			f.dropped(s)
			f.grant(s)
		}
	}
	for _, s := range selects {
		f.selectStmt(s)
	}
}

// inTest reports whether n is test code that is not an Example: a function
// of a _test.go file (or a literal in one) whose name does not start with
// Example.
func (c *checker) inTest(n ast.Node) bool {
	if !strings.HasSuffix(c.pass.Fset.File(n.Pos()).Name(), "_test.go") {
		return false
	}
	for _, f := range c.pass.Files {
		if f.Pos() <= n.Pos() && n.Pos() < f.End() {
			for _, d := range f.Decls {
				if d, ok := d.(*ast.FuncDecl); ok && d.Pos() <= n.Pos() && n.Pos() < d.End() {
					return !strings.HasPrefix(d.Name.Name, "Example")
				}
			}
		}
	}
	return true
}

// declaredIn reports whether v is declared in this function (a parameter,
// a result or a local), not captured from an enclosing one.
func (f *fn) declaredIn(v *types.Var) bool {
	return f.node.Pos() <= v.Pos() && v.Pos() < f.node.End()
}

// isNamedResult reports whether v is one of the function's named results.
func (f *fn) isNamedResult(v *types.Var) bool {
	for r := range f.sig.Results().Variables() {
		if r == v {
			return true
		}
	}
	return false
}

// caseBody returns the block a select clause starts in when it is chosen.
// A default clause's statements follow the last "after case" block.
func (f *fn) caseBody(s *ast.SelectStmt, c *ast.CommClause) *cfg.Block {
	if c.Comm != nil {
		return f.kind[blockKey{cfg.KindSelectCaseBody, c}]
	}
	var last *ast.CommClause
	for _, cc := range s.Body.List {
		if cc := cc.(*ast.CommClause); cc.Comm != nil {
			last = cc
		}
	}
	if last == nil {
		return nil
	}
	return f.kind[blockKey{cfg.KindSelectAfterCase, last}]
}

// cond returns the condition a block branches on, or nil: its last node
// when that is an if, for or tagless-switch condition and the block has
// two successors (then, else).
func (f *fn) cond(b *cfg.Block) ast.Expr {
	if len(b.Succs) != 2 || len(b.Nodes) == 0 {
		return nil
	}
	e, ok := b.Nodes[len(b.Nodes)-1].(ast.Expr)
	if !ok || !f.c.x.conds[e] {
		return nil
	}
	return e
}
