package abandon

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// module is the import path every turnstile package lives under.
const module = "github.com/turnstile-go/turnstile"

// inModule reports whether path is a package of the turnstile module (or of
// one of its nested modules: dist/etcd, dist/pg, and any future one).
func inModule(path string) bool {
	return strings.HasPrefix(path, module+"/")
}

// isAPI reports whether fn is an exported function or method of a turnstile
// package: what users call. The packages' own unexported helpers move grants
// around on purpose and are not checked.
func isAPI(fn *types.Func) bool {
	return fn != nil && fn.Pkg() != nil && fn.Exported() && inModule(fn.Pkg().Path())
}

// isSelectx reports whether path is package selectx (or below it), whose
// operations cancel what they abandon and so are never a wait to check.
func isSelectx(path string) bool {
	return path == module+"/selectx" || strings.HasPrefix(path, module+"/selectx/")
}

// callee returns the function or method a call statically calls, or nil for
// a call of a func value, a conversion or a builtin.
func callee(info *types.Info, call *ast.CallExpr) *types.Func {
	f, _ := typeutil.Callee(info, call).(*types.Func)
	return f
}

// shared lists the waits that hand out nothing exclusive, whose doc says a
// caller that abandons them takes nothing from anyone: a Result's value
// goes to every caller, a Signal's to every waiter. They are not checked.
var shared = map[string]bool{
	module + "/chans.Result.Get":  true,
	module + "/chans.Signal.Next": true,
}

// offers lists the waits that grant nothing but take what the caller
// offers: dropping their channel is allowed (Queue.Put's doc: a caller
// that never receives loses nothing), but abandoning one in a select is
// not, since the item still goes in after the caller gave up on it.
var offers = map[string]bool{
	module + "/chans.Queue.Put": true,
}

// key names a function or method as "path.Type.Method" or "path.Func".
func key(fn *types.Func) string {
	if recv := fn.Signature().Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok {
			return fn.Pkg().Path() + "." + n.Obj().Name() + "." + fn.Name()
		}
	}
	return fn.Pkg().Path() + "." + fn.Name()
}

// wait describes a call of a turnstile wait: a function or method of a
// turnstile package (selectx aside) that takes a context.Context and returns
// a receive-only channel, such as Lock.Acquire or Queue.Get.
type wait struct {
	call *ast.CallExpr
	fn   *types.Func
	ctx  ast.Expr   // the argument given as the context.Context
	elem types.Type // the channel's element type
	ch   *types.Var // the local variable the channel was put in, if any
	stmt ast.Node   // the statement that put it there, if any
	name string     // for messages: "l.Acquire"
}

// asWait returns the wait that call is, or nil.
func asWait(info *types.Info, call *ast.CallExpr) *wait {
	fn := callee(info, call)
	if !isAPI(fn) || isSelectx(fn.Pkg().Path()) || shared[key(fn)] {
		return nil
	}
	ch, ok := types.Unalias(info.TypeOf(call)).(*types.Chan)
	if !ok || ch.Dir() != types.RecvOnly {
		return nil
	}
	sig := fn.Signature()
	for i := 0; i < sig.Params().Len() && i < len(call.Args); i++ {
		if isContext(sig.Params().At(i).Type()) {
			return &wait{call: call, fn: fn, ctx: call.Args[i], elem: ch.Elem(), name: calleeName(call)}
		}
	}
	return nil
}

// calleeName renders the called expression of call for a message, as
// "l.Acquire" or "q.Get".
func calleeName(call *ast.CallExpr) string {
	return types.ExprString(call.Fun)
}

// isContext reports whether t is context.Context.
func isContext(t types.Type) bool {
	return isNamed(t, "context", "Context")
}

// isNamed reports whether t is the named type pkg.name.
func isNamed(t types.Type, pkg, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	return obj.Name() == name && obj.Pkg() != nil && obj.Pkg().Path() == pkg
}

// isRelease reports whether t is a grant that must be given back:
// chans.Release (or any func type named Release in a turnstile package) or
// *dist.Grant.
func isRelease(t types.Type) bool {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		return isNamed(p.Elem(), module+"/dist", "Grant")
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || !inModule(n.Obj().Pkg().Path()) {
		return false
	}
	if n.Obj().Name() == "Guard" { // chans.Guard, a hold as a value: its Release method gives it back
		return true
	}
	if n.Obj().Name() != "Release" {
		return false
	}
	_, isFunc := n.Underlying().(*types.Signature)
	return isFunc
}

// isContextFunc reports whether call calls context.name for one of names,
// returning the name.
func isContextFunc(info *types.Info, call *ast.CallExpr, names ...string) (string, bool) {
	fn := callee(info, call)
	if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != "context" || fn.Signature().Recv() != nil {
		return "", false
	}
	for _, n := range names {
		if fn.Name() == n {
			return n, true
		}
	}
	return "", false
}

// results returns the types a call yields, one per value.
func results(info *types.Info, call *ast.CallExpr) []types.Type {
	switch t := info.TypeOf(call).(type) {
	case nil:
		return nil
	case *types.Tuple:
		ts := make([]types.Type, t.Len())
		for i := range ts {
			ts[i] = t.At(i).Type()
		}
		return ts
	default:
		return []types.Type{t}
	}
}

// grantSource describes a call that hands out a grant directly: TryAcquire
// (Release, bool), a blocking twin such as AcquireWait (Release, error),
// selectx.First (int, Release, error).
type grantSource struct {
	grant int   // index of the grant among the results
	oks   []int // indexes of the bools, any of which false says it did not take effect
	err   int   // index of the error that says it did not, or -1
}

// asGrantSource reports whether call is a call of a turnstile function or
// method (selectx included) that returns exactly one grant.
func asGrantSource(info *types.Info, call *ast.CallExpr) (grantSource, bool) {
	fn := callee(info, call)
	if !isAPI(fn) {
		return grantSource{}, false
	}
	s := grantSource{grant: -1, err: -1}
	for i, t := range results(info, call) {
		switch {
		case isRelease(t):
			if s.grant >= 0 {
				return grantSource{}, false // two grants: too clever to follow
			}
			s.grant = i
		case types.Identical(t, types.Typ[types.Bool]):
			s.oks = append(s.oks, i)
		case types.Identical(t, types.Universe.Lookup("error").Type()):
			s.err = i
		}
	}
	return s, s.grant >= 0
}

// recvOperand returns x if e is the receive <-x, else nil.
func recvOperand(e ast.Expr) ast.Expr {
	if u, ok := ast.Unparen(e).(*ast.UnaryExpr); ok && u.Op == token.ARROW {
		return u.X
	}
	return nil
}
