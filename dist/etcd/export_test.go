package etcd

import (
	"fmt"
	"strings"
)

// dump describes a line's state, for failing tests.
func (l *line) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	l.s.mu.Lock()
	fmt.Fprintf(&b, "session %x: pending=%d issued=%d landed=%d settleErr=%v\n", int64(l.s.lease), len(l.s.pending), l.s.issued, l.s.landed, l.s.settleErr)
	l.s.mu.Unlock()
	fmt.Fprintf(&b, "line %s: watching=%v rev=%d waiting=%d resyncs=%d\n", l.name, l.watching, l.rev, l.waiting, l.resyncs)
	for _, it := range l.order {
		st := "-"
		if e := l.mine[it.key]; e != nil {
			st = fmt.Sprint(e.state)
		}
		fmt.Fprintf(&b, "  %s rev=%d %+v mine=%s\n", it.key, it.rev, it.c, st)
	}
	for k, e := range l.mine {
		if _, ok := l.at[k]; !ok {
			fmt.Fprintf(&b, "  (not in mirror) %s rev=%d state=%d\n", k, e.rev, e.state)
		}
	}
	return b.String()
}

// Dump describes the state of a Lock, RWLock or Semaphore in its session.
func Dump(x any) string {
	switch p := x.(type) {
	case *Lock:
		return p.l.dump()
	case *RWLock:
		return p.l.dump()
	case *Semaphore:
		return p.l.dump()
	}
	return "?"
}

// Resyncs returns how many times the watch of a Lock's line in its session
// took a fresh snapshot after failing (a compacted revision, a server that
// cancelled it) since it started.
func Resyncs(l *Lock) int {
	l.l.mu.Lock()
	defer l.l.mu.Unlock()
	return l.l.resyncs
}

// Key returns the key of the entry of l's line in its session whose grant
// has token tok, or "".
func Key(l *Lock, tok int64) string {
	l.l.mu.Lock()
	defer l.l.mu.Unlock()
	for k, e := range l.l.mine {
		if e.rev == tok {
			return k
		}
	}
	return ""
}

// Withdraw sends, and retries until it lands, the fenced withdrawal of the
// key with create revision rev, as a release does (a late retry, for
// tests): it reports false if the session ended first.
func Withdraw(s *Session, l *Lock, key string, rev int64) bool {
	return s.withdraw([]*entry{{l: l.l, key: key, rev: rev}})
}
