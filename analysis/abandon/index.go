package abandon

import (
	"go/ast"
	"go/token"
	"go/types"
)

// An index knows, for the package being checked, every assignment to each
// variable, every use of it, and the parent of every node: enough to follow
// a ctx back to where it was made and a channel to where it is received.
type index struct {
	info    *types.Info
	parent  map[ast.Node]ast.Node
	assigns map[*types.Var][]assignment
	uses    map[*types.Var][]*ast.Ident
	addrOf  map[*types.Var]bool // &v taken: anything may assign it
	conds   map[ast.Expr]bool   // if, for and tagless-switch conditions
	comms   map[ast.Stmt]*ast.CommClause
}

// An assignment gives a variable a value: the single expression rhs, or
// result i of the multi-value call (nil for anything else: a range, a zero
// value, an op-assignment).
type assignment struct {
	stmt ast.Node
	lhs  []ast.Expr
	rhs  ast.Expr
	call *ast.CallExpr
	i    int
}

func newIndex(info *types.Info, files []*ast.File) *index {
	x := &index{
		info:    info,
		parent:  make(map[ast.Node]ast.Node),
		assigns: make(map[*types.Var][]assignment),
		uses:    make(map[*types.Var][]*ast.Ident),
		addrOf:  make(map[*types.Var]bool),
		conds:   make(map[ast.Expr]bool),
		comms:   make(map[ast.Stmt]*ast.CommClause),
	}
	for _, f := range files {
		ast.PreorderStack(f, nil, func(n ast.Node, stack []ast.Node) bool {
			if len(stack) > 0 {
				x.parent[n] = stack[len(stack)-1]
			}
			x.add(n)
			return true
		})
	}
	return x
}

func (x *index) add(n ast.Node) {
	switch n := n.(type) {
	case *ast.Ident:
		if v, ok := x.info.Uses[n].(*types.Var); ok {
			x.uses[v] = append(x.uses[v], n)
		}
	case *ast.AssignStmt:
		x.assign(n, n.Lhs, n.Rhs, n.Tok != token.ASSIGN && n.Tok != token.DEFINE)
	case *ast.ValueSpec:
		lhs := make([]ast.Expr, len(n.Names))
		for i, id := range n.Names {
			lhs[i] = id
		}
		x.assign(n, lhs, n.Values, false)
	case *ast.RangeStmt:
		for _, e := range []ast.Expr{n.Key, n.Value} {
			if v := x.localVar(e); v != nil {
				x.assigns[v] = append(x.assigns[v], assignment{stmt: n})
			}
		}
	case *ast.UnaryExpr:
		if n.Op == token.AND {
			if v := x.localVar(n.X); v != nil {
				x.addrOf[v] = true
			}
		}
	case *ast.IfStmt:
		x.conds[n.Cond] = true
	case *ast.ForStmt:
		if n.Cond != nil {
			x.conds[n.Cond] = true
		}
	case *ast.SwitchStmt:
		if n.Tag == nil {
			for _, c := range n.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					x.conds[e] = true
				}
			}
		}
	case *ast.CommClause:
		if n.Comm != nil {
			x.comms[n.Comm] = n
		}
	}
}

func (x *index) assign(stmt ast.Node, lhs, rhs []ast.Expr, opAssign bool) {
	for i, l := range lhs {
		v := x.localVar(l)
		if v == nil {
			continue
		}
		a := assignment{stmt: stmt, lhs: lhs}
		switch {
		case opAssign:
		case len(rhs) == len(lhs):
			a.rhs = rhs[i]
		case len(rhs) == 1:
			if call, ok := ast.Unparen(rhs[0]).(*ast.CallExpr); ok {
				a.call, a.i = call, i
			}
		}
		x.assigns[v] = append(x.assigns[v], a)
	}
}

// localVar returns the variable e names if it is a variable declared in a
// function (not a package-level one, nor a field), else nil.
func (x *index) localVar(e ast.Expr) *types.Var {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok || id.Name == "_" {
		return nil
	}
	obj := x.info.Defs[id]
	if obj == nil {
		obj = x.info.Uses[id]
	}
	v, ok := obj.(*types.Var)
	if !ok || v.IsField() || v.Pkg() == nil || v.Parent() == v.Pkg().Scope() {
		return nil
	}
	return v
}

// only returns the single assignment of v, if v is assigned exactly once
// and its address is never taken.
func (x *index) only(v *types.Var) (assignment, bool) {
	if v == nil || x.addrOf[v] || len(x.assigns[v]) != 1 {
		return assignment{}, false
	}
	return x.assigns[v][0], true
}

// refs reports whether n mentions v anywhere, including in nested function
// literals.
func (x *index) refs(n ast.Node, v *types.Var) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && x.info.Uses[id] == v {
			found = true
		}
		return !found
	})
	return found
}

// contains reports whether node m is n or lies within it.
func contains(n, m ast.Node) bool {
	return n.Pos() <= m.Pos() && m.End() <= n.End()
}
