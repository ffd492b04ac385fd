package etcd_test

import (
	"net"
	"sync"
	"testing"
)

// A proxy forwards loopback TCP connections to a target and can cut them, to
// put a process's session on the far side of a partition while the others
// reach the server directly.
//
// Blackhole drops every byte both ways without closing anything, as a real
// partition does: the client's requests and the lease renewals vanish
// unanswered. Cut closes every connection and refuses new ones, as a
// crashed peer does. Heal ends either: blackholed connections are closed
// (their streams lost bytes and cannot go on), and new ones go through.
type proxy struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	target string
	mode   int // 0 forward, blackhole, cut
	conns  map[net.Conn]bool
	closed bool
}

const (
	forward = iota
	blackhole
	cut
)

// newProxy starts a proxy to target on a free loopback port; it is closed
// when the test ends.
func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]bool)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the address clients dial.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget sends new connections to addr (a restarted server).
func (p *proxy) SetTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
}

// Blackhole drops all traffic from now on, until Heal.
func (p *proxy) Blackhole() { p.setMode(blackhole) }

// Cut closes every connection and refuses new ones, until Heal.
func (p *proxy) Cut() { p.setMode(cut) }

// Heal lets traffic through again; connections that lost bytes are closed.
func (p *proxy) Heal() { p.setMode(forward) }

func (p *proxy) setMode(m int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.mode
	p.mode = m
	if m == cut || (m == forward && prev == blackhole) {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed || p.mode == cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		target := p.target
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c, target)
	}
}

// serve connects c to target and copies both ways until either side closes.
func (p *proxy) serve(c net.Conn, target string) {
	defer p.wg.Done()
	defer p.drop(c)
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	if !p.track(s) {
		s.Close()
		return
	}
	defer p.drop(s)
	done := make(chan struct{}, 2)
	go func() { p.copy(s, c); done <- struct{}{} }()
	go func() { p.copy(c, s); done <- struct{}{} }()
	<-done
	c.Close()
	s.Close()
	<-done
}

// copy forwards from src to dst, discarding what arrives while blackholed.
func (p *proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop := p.mode != forward
			p.mu.Unlock()
			if !drop {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return // io.EOF or a closed connection
		}
	}
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.mode == cut {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
