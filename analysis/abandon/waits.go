package abandon

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/cfg"
)

// waitOf returns the wait that x, the operand of a receive, stands for:
// a wait call itself, or a local channel variable that holds one.
func (f *fn) waitOf(x ast.Expr) *wait {
	x = ast.Unparen(x)
	if call, ok := x.(*ast.CallExpr); ok {
		return asWait(f.c.pass.TypesInfo, call)
	}
	v := f.c.x.localVar(x)
	if v == nil {
		return nil
	}
	w := f.c.chanWait(v)
	if w == nil || !f.own[w.stmt] {
		return nil
	}
	return w
}

// chanWait returns the wait held in channel variable v when it can be
// followed: v is assigned once, from a wait call, and is only received
// from (or assigned to _, or given to len or cap), never passed on.
func (c *checker) chanWait(v *types.Var) *wait {
	if w, ok := c.chans[v]; ok {
		return w
	}
	c.chans[v] = nil
	a, ok := c.x.only(v)
	if !ok || a.rhs == nil {
		return nil
	}
	call, ok := ast.Unparen(a.rhs).(*ast.CallExpr)
	if !ok {
		return nil
	}
	w := asWait(c.pass.TypesInfo, call)
	if w == nil {
		return nil
	}
	for _, id := range c.x.uses[v] {
		if c.chanUse(id) == escapes {
			return nil
		}
	}
	w.ch, w.stmt = v, a.stmt
	c.chans[v] = w
	return w
}

type chanUse int

const (
	escapes chanUse = iota
	received
	ignored // _ = ch, len(ch), cap(ch)
)

func (c *checker) chanUse(id *ast.Ident) chanUse {
	switch p := c.x.parent[id].(type) {
	case *ast.UnaryExpr:
		if recvOperand(p) == id {
			return received
		}
	case *ast.ParenExpr:
		if u, ok := c.x.parent[p].(*ast.UnaryExpr); ok && recvOperand(u) != nil {
			return received
		}
	case *ast.RangeStmt:
		if p.X == id {
			return received
		}
	case *ast.AssignStmt:
		if len(p.Lhs) == len(p.Rhs) {
			for i, r := range p.Rhs {
				if r == id && isBlank(p.Lhs[i]) {
					return ignored
				}
			}
		}
	case *ast.CallExpr:
		if b, ok := c.pass.TypesInfo.Uses[identOf(p.Fun)].(*types.Builtin); ok && (b.Name() == "len" || b.Name() == "cap") {
			return ignored
		}
	}
	return escapes
}

func identOf(e ast.Expr) *ast.Ident {
	id, _ := ast.Unparen(e).(*ast.Ident)
	return id
}

func isBlank(e ast.Expr) bool {
	id := identOf(e)
	return id != nil && id.Name == "_"
}

// commRecv returns the operand of the receive a select clause's comm
// performs, or nil for a send or default.
func commRecv(s ast.Stmt) ast.Expr {
	switch s := s.(type) {
	case *ast.ExprStmt:
		return recvOperand(s.X)
	case *ast.AssignStmt:
		if len(s.Rhs) == 1 {
			return recvOperand(s.Rhs[0])
		}
	}
	return nil
}

// selectStmt checks each wait received in s against each other clause.
func (f *fn) selectStmt(s *ast.SelectStmt) {
	for _, k := range s.Body.List {
		k := k.(*ast.CommClause)
		x := commRecv(k.Comm)
		if x == nil {
			continue
		}
		w := f.waitOf(x)
		if w == nil {
			continue
		}
		o := f.c.x.origin(w.ctx)
		if o.kind == cancellable && !f.own[o.def] {
			o.kind = unknown // cancelled, or not, by the enclosing function
		}
		for _, c := range s.Body.List {
			c := c.(*ast.CommClause)
			if c == k || f.endsCtx(c, o) {
				continue
			}
			start := f.caseBody(s, c)
			if start == nil {
				continue
			}
			if f.abandoned(w, o, c, start) {
				break // one report per wait
			}
		}
	}
}

// endsCtx reports whether clause c receives from the Done channel of the
// wait's ctx or of a ctx it derives from: when c wins, the wait's ctx has
// ended, so its grant has gone back.
func (f *fn) endsCtx(c *ast.CommClause, o origin) bool {
	x := commRecv(c.Comm)
	if x == nil {
		return false
	}
	call, ok := ast.Unparen(x).(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Done" || !isContext(f.c.pass.TypesInfo.TypeOf(sel.X)) {
		return false
	}
	return o.endsWith(f.c.x, sel.X)
}

// abandoned searches the paths that start when clause c of the select wins
// over wait w, and reports the first that leaves w abandoned on a ctx that
// is not ended: one that reaches a return while the ctx cannot end or its
// cancel was not used, or that comes back to make w again.
func (f *fn) abandoned(w *wait, o origin, c *ast.CommClause, start *cfg.Block) bool {
	reachedUnused := func(*cfg.Block) bool { return false }
	if o.kind == cancellable {
		unused := f.unusedFrom(o.def, o.cancel)
		reachedUnused = func(b *cfg.Block) bool { return unused[b] }
	}
	type state struct {
		b        *cfg.Block
		deferred bool // cancel was deferred on the way
	}
	seen := make(map[state]bool)
	stack := []state{{start, false}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[s] {
			continue
		}
		seen[s] = true
		ended := false
		for _, n := range s.b.Nodes {
			if w.ch != nil && f.receives(n, w.ch) {
				ended = true // still waited for: not abandoned here
				break
			}
			if contains(n, w.call) {
				f.c.report(w.call, f.c.related(c, "this case wins"),
					"%s is made again after the case at line %d wins, while the abandoned wait is still queued on the same ctx and holds what it is granted until that ctx ends: keep the channel across iterations, cancel a ctx made for each wait, or use selectx",
					w.name, f.c.line(c.Pos()))
				return true
			}
			if o.kind == cancellable && f.c.x.refs(n, o.cancel) {
				if _, ok := n.(*ast.DeferStmt); !ok {
					ended = true // cancelled, or passed on to be
					break
				}
				s.deferred = true
			}
		}
		if ended {
			continue
		}
		if ret := s.b.Return(); ret != nil && !f.main {
			switch {
			case o.kind == never:
				f.c.report(w.call, f.c.related(ret, "returns here"),
					"%s is abandoned when the case at line %d wins, and its ctx never ends (%s): what it is granted is stranded for good; give it a ctx that is cancelled once the select is done, or use selectx",
					w.name, f.c.line(c.Pos()), o.root)
				return true
			case o.kind == cancellable && !s.deferred && reachedUnused(start):
				f.c.report(w.call, f.c.related(ret, "returns here"),
					"%s is abandoned when the case at line %d wins, and %s is not called on the way to the return at line %d: its grant stays reserved until the ctx ends; defer %s() before the select, or use selectx",
					w.name, f.c.line(c.Pos()), o.cancel.Name(), f.c.line(ret.Pos()), o.cancel.Name())
				return true
			}
		}
		for _, b := range s.b.Succs {
			stack = append(stack, state{b, s.deferred})
		}
	}
	return false
}

// receives reports whether n receives from channel variable ch.
func (f *fn) receives(n ast.Node, ch *types.Var) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		if found {
			return false
		}
		switch m := m.(type) {
		case *ast.UnaryExpr:
			if x := recvOperand(m); x != nil && f.c.x.localVar(x) == ch {
				found = true
			}
		case *ast.RangeStmt:
			if f.c.x.localVar(m.X) == ch {
				found = true
			}
		}
		return !found
	})
	return found
}

// unusedFrom returns the blocks that a path from def (which defines v)
// reaches without using v: the lostcancel search, kept as a set.
func (f *fn) unusedFrom(def ast.Node, v *types.Var) map[*cfg.Block]bool {
	reached := make(map[*cfg.Block]bool)
	l, ok := f.where[def]
	if !ok {
		return reached
	}
	for _, n := range l.b.Nodes[l.i+1:] {
		if f.c.x.refs(n, v) {
			return reached
		}
	}
	stack := append([]*cfg.Block(nil), l.b.Succs...)
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if reached[b] {
			continue
		}
		reached[b] = true
		used := false
		for _, n := range b.Nodes {
			if f.c.x.refs(n, v) {
				used = true
				break
			}
		}
		if !used {
			stack = append(stack, b.Succs...)
		}
	}
	return reached
}

// dropped reports a wait whose channel nobody will receive: a call used as
// a statement (or with go or defer), assigned to _, or put in a variable
// that is never received from.
func (f *fn) dropped(s ast.Node) {
	info := f.c.pass.TypesInfo
	drop := func(e ast.Expr) {
		call, ok := ast.Unparen(e).(*ast.CallExpr)
		if !ok {
			return
		}
		if w := asWait(info, call); w != nil && !offers[key(w.fn)] {
			f.c.report(call, nil,
				"the channel %s returns is dropped: what it grants is held for nobody until its ctx ends; receive from it, or use the blocking or Try form",
				w.name)
		}
	}
	switch s := s.(type) {
	case *ast.ExprStmt:
		drop(s.X)
	case *ast.GoStmt:
		drop(s.Call)
	case *ast.DeferStmt:
		drop(s.Call)
	case *ast.AssignStmt:
		if len(s.Lhs) != len(s.Rhs) {
			return
		}
		for i, l := range s.Lhs {
			if isBlank(l) {
				drop(s.Rhs[i])
			} else if v := f.c.x.localVar(l); v != nil {
				f.neverReceived(v, s)
			}
		}
	case *ast.ValueSpec:
		if len(s.Names) != len(s.Values) {
			return
		}
		for i, id := range s.Names {
			if id.Name == "_" {
				drop(s.Values[i])
			} else if v := f.c.x.localVar(id); v != nil {
				f.neverReceived(v, s)
			}
		}
	}
}

// neverReceived reports channel variable v, assigned a wait in stmt, if no
// receive from it exists.
func (f *fn) neverReceived(v *types.Var, stmt ast.Node) {
	w := f.c.chanWait(v)
	if w == nil || w.stmt != stmt || offers[key(w.fn)] {
		return
	}
	for _, id := range f.c.x.uses[v] {
		if f.c.chanUse(id) == received {
			return
		}
	}
	f.c.report(w.call, nil,
		"the channel %s returns is never received from: what it grants is held for nobody until its ctx ends; receive from it, or use the blocking or Try form",
		w.name)
}
