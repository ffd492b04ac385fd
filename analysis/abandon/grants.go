package abandon

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/cfg"
)

// A grantDef is a statement that puts a grant in a variable (or drops it).
type grantDef struct {
	stmt   ast.Node   // the assignment or value spec
	target ast.Expr   // where the grant goes
	oks    []ast.Expr // the bools that say it took effect, if any
	err    ast.Expr   // the error that says it did not, if any
	from   string     // for messages: "l.Acquire", "l.TryAcquire"
	what   string     // "Release" or "Grant"
}

// grant checks a statement that obtains a grant.
func (f *fn) grant(s ast.Node) {
	var lhs, rhs []ast.Expr
	switch s := s.(type) {
	case *ast.ExprStmt:
		// <-l.Acquire(ctx), or l.TryAcquire(), as a statement.
		if o, ok := f.obtains(s.X, -1); ok {
			f.c.report(s.X, nil, "the %s from %s is dropped, so it is never released", o.what, o.from)
		}
		return
	case *ast.AssignStmt:
		if s.Tok != token.DEFINE && s.Tok != token.ASSIGN {
			return
		}
		lhs, rhs = s.Lhs, s.Rhs
	case *ast.ValueSpec:
		for _, id := range s.Names {
			lhs = append(lhs, id)
		}
		rhs = s.Values
	default:
		return
	}
	if len(rhs) != 1 {
		return
	}
	o, ok := f.obtains(rhs[0], len(lhs))
	if !ok {
		return
	}
	d := grantDef{stmt: s, target: lhs[o.grant], from: o.from, what: o.what}
	for _, i := range o.oks {
		d.oks = append(d.oks, lhs[i])
	}
	if o.err >= 0 {
		d.err = lhs[o.err]
	}
	if isBlank(d.target) {
		f.c.report(d.target, nil, "the %s from %s is dropped, so it is never released", d.what, d.from)
		return
	}
	v := f.c.x.localVar(d.target)
	if v == nil || !f.declaredIn(v) {
		return // stored in a field, an element or an outer variable: passed on
	}
	f.released(d, v)
}

// obtained says where, among the values of an expression, a grant is, and
// which values tell whether it was obtained.
type obtained struct {
	grant int   // the grant's index
	oks   []int // the bools' indexes: any false, nothing obtained
	err   int   // the error's index, or -1: non-nil, nothing obtained
	from  string
	what  string
}

// obtains reports whether e, assigned to n variables (-1: e is a
// statement), yields a grant: a receive from a wait whose element is a
// grant, or a call that returns one.
func (f *fn) obtains(e ast.Expr, n int) (obtained, bool) {
	info := f.c.pass.TypesInfo
	if x := recvOperand(e); x != nil {
		w := f.waitOf(x)
		if w == nil || !isRelease(w.elem) || n > 2 {
			return obtained{}, false
		}
		o := obtained{grant: 0, err: -1, from: w.name, what: grantName(w.elem)}
		if n == 2 {
			o.oks = []int{1}
		}
		return o, true
	}
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return obtained{}, false
	}
	src, ok := asGrantSource(info, call)
	if !ok || n >= 0 && len(results(info, call)) != n {
		return obtained{}, false
	}
	return obtained{grant: src.grant, oks: src.oks, err: src.err,
		from: calleeName(call), what: grantName(results(info, call)[src.grant])}, true
}

func grantName(t types.Type) string {
	if _, ok := types.Unalias(t).(*types.Pointer); ok {
		return "Grant"
	}
	return "Release"
}

// released searches the paths from the definition d of grant variable v
// for one that reaches a return, or comes back to d, without using v, and
// reports the first. A path where the grant's bool is false, its error is
// non-nil, or the grant is nil, holds nothing and is not followed.
func (f *fn) released(d grantDef, v *types.Var) {
	// Where the paths start: after the statement, or, for a select clause
	// (case r := <-l.Acquire(ctx):), after its first left-hand side, which
	// is all the CFG keeps of the comm in the clause's block.
	def := d.stmt
	var start loc
	stmt, _ := d.stmt.(ast.Stmt)
	if cc := f.c.x.comms[stmt]; cc != nil {
		def = d.target
		b := f.kind[blockKey{cfg.KindSelectCaseBody, cc}]
		if b == nil {
			return
		}
		start = loc{b, -1}
		for i, n := range b.Nodes {
			if n == def {
				start.i = i
			}
		}
		if start.i < 0 {
			return
		}
	} else {
		l, ok := f.where[def]
		if !ok {
			return // unreachable code
		}
		start = l
	}
	g := guards{x: f.c.x, grant: v, err: f.c.x.localVar(d.err)}
	for _, e := range d.oks {
		if ok := f.c.x.localVar(e); ok != nil {
			g.oks = append(g.oks, ok)
		}
	}
	named := f.isNamedResult(v)

	seen := make(map[*cfg.Block]bool)
	type item struct {
		b    *cfg.Block
		from int
	}
	stack := []item{{start.b, start.i + 1}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.from == 0 {
			if seen[it.b] {
				continue
			}
			seen[it.b] = true
		}
		used := false
		for _, n := range it.b.Nodes[it.from:] {
			if n == def {
				f.c.report(d.target, f.c.related(def, "obtained again here"),
					"the %s %s from %s is not released on every path: the loop comes back to line %d without calling, deferring or passing it on",
					d.what, v.Name(), d.from, f.c.line(def.Pos()))
				return
			}
			if g.used(n, named) {
				used = true
				break
			}
		}
		if used {
			continue
		}
		if ret := it.b.Return(); ret != nil {
			f.c.report(d.target, f.c.related(ret, "returns here"),
				"the %s %s from %s is not released on every path: the return at line %d is reached without calling, deferring or passing it on",
				d.what, v.Name(), d.from, f.c.line(ret.Pos()))
			return
		}
		cond := f.cond(it.b)
		for i, b := range it.b.Succs {
			if cond != nil && g.notHeld(cond, i == 0) {
				continue // that branch holds nothing
			}
			stack = append(stack, item{b, 0})
		}
	}
}

// guards are the variables that tell whether a grant was obtained.
type guards struct {
	x     *index
	grant *types.Var
	oks   []*types.Var // all true: obtained
	err   *types.Var   // nil: obtained
}

// used reports whether n uses the grant: any mention counts (a call, a
// defer, passing it, returning it, storing it, capturing it), except
// comparing it with nil and calling its other methods (Token, Lost). A
// naked return uses a named result.
func (g guards) used(n ast.Node, named bool) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if found {
			return false
		}
		switch m := m.(type) {
		case *ast.Ident:
			if g.x.info.Uses[m] == g.grant {
				found = true
			}
		case *ast.BinaryExpr:
			if (m.Op == token.EQL || m.Op == token.NEQ) && (g.is(m.X, g.grant) && isNil(g.x.info, m.Y) || g.is(m.Y, g.grant) && isNil(g.x.info, m.X)) {
				return false
			}
		case *ast.SelectorExpr:
			if g.is(m.X, g.grant) && m.Sel.Name != "Release" {
				return false
			}
		case *ast.ReturnStmt:
			if named && m.Results == nil {
				found = true
			}
		}
		return !found
	})
	return found
}

// is reports whether e names v.
func (g guards) is(e ast.Expr, v *types.Var) bool {
	id := identOf(e)
	return v != nil && id != nil && g.x.info.Uses[id] == v
}

func isNil(info *types.Info, e ast.Expr) bool {
	id := identOf(e)
	if id == nil {
		return false
	}
	_, ok := info.Uses[id].(*types.Nil)
	return ok
}

// notHeld reports whether cond having the value branch implies that the
// grant was not obtained: !ok, err != nil, errors.Is(err, ...), r == nil,
// and those joined by && and ||.
func (g guards) notHeld(cond ast.Expr, branch bool) bool {
	switch e := ast.Unparen(cond).(type) {
	case *ast.Ident:
		if branch {
			return false
		}
		for _, ok := range g.oks {
			if g.is(e, ok) {
				return true
			}
		}
	case *ast.UnaryExpr:
		if e.Op == token.NOT {
			return g.notHeld(e.X, !branch)
		}
	case *ast.BinaryExpr:
		switch e.Op {
		case token.LAND:
			if branch {
				return g.notHeld(e.X, true) || g.notHeld(e.Y, true)
			}
			return g.notHeld(e.X, false) && g.notHeld(e.Y, false)
		case token.LOR:
			if branch {
				return g.notHeld(e.X, true) && g.notHeld(e.Y, true)
			}
			return g.notHeld(e.X, false) || g.notHeld(e.Y, false)
		case token.EQL, token.NEQ:
			x, y := e.X, e.Y
			if isNil(g.x.info, x) {
				x, y = y, x
			}
			if !isNil(g.x.info, y) {
				return false
			}
			isNilBranch := branch == (e.Op == token.EQL) // the branch where x == nil
			switch {
			case g.is(x, g.err):
				return !isNilBranch
			case g.is(x, g.grant):
				return isNilBranch
			}
		}
	case *ast.CallExpr:
		// errors.Is(err, target) and errors.As(err, &target) are true only
		// for a non-nil err.
		if fn := callee(g.x.info, e); branch && fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "errors" &&
			(fn.Name() == "Is" || fn.Name() == "As") && len(e.Args) == 2 {
			return g.is(e.Args[0], g.err)
		}
	}
	return false
}
