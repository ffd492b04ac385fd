package abandon

import (
	"go/ast"
	"go/types"
)

// How a wait's ctx can end, as far as the function that makes it shows.
type originKind int

const (
	// unknown: a parameter, a field, the result of a call we cannot see
	// into, or a variable assigned in more than one way. Assumed to be
	// cancelled by whoever made it, so never reported on that ground.
	unknown originKind = iota
	// never: context.Background or TODO, or derived from them only by
	// WithValue, or any WithoutCancel: Done is nil, nothing ends it.
	never
	// cancellable: made by context.WithCancel, WithTimeout or WithDeadline
	// (or a Cause variant) in the function, with a cancel func we can
	// follow.
	cancellable
)

type origin struct {
	kind   originKind
	root   string       // never: how it was made, for the message
	cancel *types.Var   // cancellable: the cancel func
	def    ast.Node     // cancellable: the statement that made ctx and cancel
	vars   []*types.Var // ctx variables that ending would end this ctx too
	exprs  []string     // the same, as source text, for ctx fields
}

// withCancel lists the context functions that return a ctx and the func
// that ends it.
var withCancel = []string{
	"WithCancel", "WithCancelCause",
	"WithTimeout", "WithTimeoutCause",
	"WithDeadline", "WithDeadlineCause",
}

// origin follows ctx back to where it was made.
func (x *index) origin(ctx ast.Expr) origin {
	return x.originDepth(ctx, 0)
}

func (x *index) originDepth(e ast.Expr, depth int) origin {
	e = ast.Unparen(e)
	if depth > 16 {
		return origin{}
	}
	switch e := e.(type) {
	case *ast.CallExpr:
		if name, ok := isContextFunc(x.info, e, "Background", "TODO"); ok {
			return origin{kind: never, root: "context." + name + "()"}
		}
		if _, ok := isContextFunc(x.info, e, "WithoutCancel"); ok {
			return origin{kind: never, root: "context.WithoutCancel"}
		}
		if _, ok := isContextFunc(x.info, e, "WithValue"); ok && len(e.Args) > 0 {
			return x.originDepth(e.Args[0], depth+1)
		}
		return origin{}
	case *ast.Ident:
		v := x.localVar(e)
		if v == nil {
			return origin{exprs: []string{e.Name}}
		}
		as := x.assigns[v]
		if x.addrOf[v] || len(as) == 0 {
			return origin{vars: []*types.Var{v}} // a parameter, or anything
		}
		if len(as) > 1 {
			// Flow-insensitive: only when every assignment cannot end is
			// the variable known never to end.
			for _, a := range as {
				if a.rhs == nil || x.originDepth(a.rhs, depth+1).kind != never {
					return origin{vars: []*types.Var{v}}
				}
			}
			return origin{kind: never, root: x.originDepth(as[0].rhs, depth+1).root, vars: []*types.Var{v}}
		}
		o := x.assigned(as[0], depth)
		o.vars = append(o.vars, v)
		return o
	}
	return origin{exprs: []string{types.ExprString(e)}}
}

// assigned follows the one assignment of a ctx variable.
func (x *index) assigned(a assignment, depth int) origin {
	if a.rhs != nil {
		return x.originDepth(a.rhs, depth+1)
	}
	if a.call == nil || a.i != 0 || len(a.lhs) != 2 {
		return origin{}
	}
	name, ok := isContextFunc(x.info, a.call, withCancel...)
	if !ok || len(a.call.Args) == 0 {
		return origin{}
	}
	parent := x.originDepth(a.call.Args[0], depth+1)
	cancel := x.localVar(a.lhs[1])
	if cancel == nil {
		// cancel dropped (lostcancel reports that) or stored elsewhere:
		// WithCancel then ends only with its parent; a deadline ends it
		// some time, which is not never.
		if name == "WithCancel" || name == "WithCancelCause" {
			if id, ok := a.lhs[1].(*ast.Ident); ok && id.Name == "_" {
				return parent
			}
		}
		return origin{vars: parent.vars, exprs: parent.exprs}
	}
	return origin{kind: cancellable, cancel: cancel, def: a.stmt, vars: parent.vars, exprs: parent.exprs}
}

// endsWith reports whether ctx ending (e is ctx.Done() or similar) also
// ends the wait's ctx: e is the wait's ctx itself or one it derives from.
func (o origin) endsWith(x *index, e ast.Expr) bool {
	if v := x.localVar(e); v != nil {
		for _, w := range o.vars {
			if w == v {
				return true
			}
		}
		return false
	}
	s := types.ExprString(ast.Unparen(e))
	for _, w := range o.exprs {
		if w == s {
			return true
		}
	}
	return false
}
