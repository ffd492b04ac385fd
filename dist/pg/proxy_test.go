package pg_test

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// A proxy is a loopback TCP proxy to the test server that can hold back
// what the server sends (the server runs and commits statements, but their
// answers do not reach the client until released), to make outcomes unknown
// on purpose.
type proxy struct {
	l    net.Listener
	mu   sync.Mutex
	cond *sync.Cond
	hold bool
	wg   sync.WaitGroup
}

func newProxy(t *testing.T) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		l.Close()
		p.setHold(false)
		p.wg.Wait()
	})
	return p
}

// dsn is the server's DSN with the proxy's port.
func (p *proxy) dsn() string {
	return "postgres://postgres@" + p.l.Addr().String() + "/postgres?sslmode=disable"
}

// setHold starts or stops holding back the server's answers; stopping
// releases what was held, in order.
func (p *proxy) setHold(h bool) {
	p.mu.Lock()
	p.hold = h
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *proxy) accept() {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(server.Port()))
		if err != nil {
			c.Close()
			continue
		}
		conns = append(conns, c, s)
		p.wg.Go(func() { io.Copy(s, c); s.Close() })
		p.wg.Go(func() { p.copyHeld(c, s); c.Close() })
	}
}

// copyHeld copies the server's bytes to the client, waiting while held.
func (p *proxy) copyHeld(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.hold {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
