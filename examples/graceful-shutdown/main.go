// Command graceful-shutdown shows two ways a lock lets a program stop without
// cutting off an HTTP request halfway (toro's Lock example, and its server
// side with chans.RWLock).
//
// The client side is toro's example: a poller sends one request after another
// and holds a chans.Lock while each is in flight. Shutdown acquires the same
// lock, so once it has it the poller is between requests, and stopping it
// then cuts nothing off.
//
// The server side generalizes it to many requests at once: every request
// holds the read side of a chans.RWLock while it is handled, so any number
// run together. Shutdown asks for the write side. From the moment it asks,
// the lock reports a waiting writer, so new requests are refused with 503
// (they try for the read side with TryAcquireRead, which never passes a
// queued writer) while the ones already in flight run to completion; the
// write lock is granted when the last of them releases. Only then is the
// listener closed.
//
// net/http's Server.Shutdown waits for active connections too; a lock is what
// you need when the work is not a connection net/http tracks, such as jobs a
// request started in the background or hijacked connections, or when you want
// to refuse new work at a precise moment while the listener stays open.
//
// Run it with:
//
//	go run ./examples/graceful-shutdown [-after 2s] [-clients 4] [-work 100ms]
//
// It serves on 127.0.0.1, runs the poller and -clients other clients against
// itself, and shuts down after -after (or on Ctrl-C; with -after 0, only on
// Ctrl-C, so you can curl it meanwhile). It reports how many requests were
// answered, refused during shutdown, or not sent because the listener had
// closed, and how many were cut off halfway: always 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "graceful-shutdown:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("graceful-shutdown", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on")
	after := fs.Duration("after", 2*time.Second, "shut down after this long (0: only on interrupt)")
	work := fs.Duration("work", 100*time.Millisecond, "how long each request takes")
	clients := fs.Int("clients", 4, "clients sending requests besides the poller")
	grace := fs.Duration("grace", 10*time.Second, "how long shutdown waits for requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 0 || *work < 0 || *after < 0 {
		return errors.New("-clients, -work and -after must not be negative")
	}

	stdout = &syncWriter{w: stdout} // the poller prints too
	s := &server{work: sleep(*work)}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "serving on %s\n", url)

	hc := &http.Client{Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()

	// The clients stop by themselves once refused; stopClients is for the
	// case where the server fails before shutting down.
	cctx, stopClients := context.WithCancel(context.Background())
	defer stopClients()
	var tally tally
	var wg sync.WaitGroup
	for range *clients {
		wg.Go(func() { client(cctx, hc, url, &tally) })
	}
	p := &poller{client: hc, url: url, out: stdout}
	pctx, stopPoller := context.WithCancel(context.Background())
	defer stopPoller()
	polled := make(chan struct{})
	go func() { p.run(pctx); close(polled) }()

	var timeout <-chan time.Time
	if *after > 0 {
		timeout = time.After(*after)
	}
	select {
	case <-timeout:
	case <-ctx.Done():
	case err := <-served:
		return err
	}

	// Client side: take the poller's lock, so it is between requests, and
	// stop it while we hold it.
	fmt.Fprintln(stdout, "shutdown: waiting for the poller's request to finish")
	stop, err := p.stop(context.Background(), stopPoller)
	if err != nil {
		return err
	}
	<-polled
	fmt.Fprintln(stdout, "shutdown: poller stopped between requests")
	stop()

	// Server side: refuse new requests, wait for those in flight.
	gctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	drained := s.drain(gctx)
	fmt.Fprintf(stdout, "shutdown: refusing new requests; waiting for %d in flight\n", s.inflight.Readers())
	release, ok := <-drained
	if !ok {
		return fmt.Errorf("%d requests still in flight after %v", s.inflight.Readers(), *grace)
	}
	defer release()
	fmt.Fprintln(stdout, "shutdown: no request in flight; closing the listener")
	if err := srv.Shutdown(gctx); err != nil {
		return err
	}
	wg.Wait()

	fmt.Fprintf(stdout, "poller: %d requests, all answered\n", p.requests)
	fmt.Fprintf(stdout, "clients: %d answered, %d refused during shutdown, %d found the listener closed, %d cut off\n",
		tally.answered.Load(), tally.refused.Load(), tally.closed.Load(), tally.cutOff.Load())
	fmt.Fprintf(stdout, "server: %d answered, %d refused\n", s.served.Load(), s.refused.Load())
	if n := tally.cutOff.Load(); n > 0 {
		return fmt.Errorf("%d requests were cut off", n)
	}
	return nil
}

// A server answers each request while holding a read lock on inflight.
type server struct {
	inflight chans.RWLock
	// work is what a request does; it should stop early if ctx ends.
	work func(ctx context.Context)

	served, refused atomic.Int64
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// TryAcquireRead, not AcquireRead: once shutdown has asked for the write
	// lock, a reader asking after it would queue behind it (no barging, W5)
	// and wait for a grant that never comes. Failing at once is the answer
	// we want: the server is going away.
	release, ok := s.inflight.TryAcquireRead()
	if !ok {
		s.refused.Add(1)
		w.Header().Set("Connection", "close")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer release()
	s.work(r.Context())
	s.served.Add(1)
	io.WriteString(w, "done\n")
}

// drain begins a shutdown. When it returns, every new request is refused;
// its channel (buffered, closed after one value) yields a Release once no
// request is in flight, or closes empty if ctx ends first. Holding the
// Release keeps requests refused; the caller may release it to reopen.
func (s *server) drain(ctx context.Context) <-chan chans.Release {
	return s.inflight.AcquireWrite(ctx)
}

// sleep returns a work function that takes d, or less if ctx ends.
func sleep(d time.Duration) func(context.Context) {
	return func(ctx context.Context) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// A poller is toro's: it sends one request after another, each while holding
// lock, and pauses a little between them.
type poller struct {
	client   *http.Client
	url      string
	out      io.Writer
	lock     chans.Lock
	requests int // written by run, read after it returns
}

func (p *poller) run(ctx context.Context) {
	for {
		release, ok := <-p.lock.Acquire(ctx)
		if !ok {
			return // stopped
		}
		p.requests++
		status := p.get()
		fmt.Fprintf(p.out, "poller: request %d: %s\n", p.requests, status)
		release()

		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// get sends one request. It takes no ctx on purpose: what protects it from
// being cut off is the lock, not a cancellation that would cut it off.
func (p *poller) get() string {
	resp, err := p.client.Get(p.url)
	if err != nil {
		return err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Status
}

// stop takes the poller's lock, waiting for a request in flight to finish,
// and calls cancel (which ends the poller's ctx) while it holds the lock, so
// the poller cannot start another request. It returns the lock's Release.
func (p *poller) stop(ctx context.Context, cancel context.CancelFunc) (chans.Release, error) {
	release, ok := <-p.lock.Acquire(ctx)
	if !ok {
		return nil, ctx.Err()
	}
	cancel()
	return release, nil
}

// A tally counts how the other clients' requests ended.
type tally struct {
	answered, refused, closed, cutOff atomic.Int64
}

// client sends requests one after another until the server refuses one or
// cannot be reached. A client answered just as the last request in flight
// finished may send its next one after the listener closed: its dial fails,
// which is not a cut-off request. Any other failure is one.
func client(ctx context.Context, hc *http.Client, url string, t *tally) {
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			panic(err) // url is ours and well-formed
		}
		resp, err := hc.Do(req)
		if err != nil {
			var op *net.OpError
			switch {
			case ctx.Err() != nil:
			case errors.As(err, &op) && op.Op == "dial":
				t.closed.Add(1)
			default:
				t.cutOff.Add(1)
			}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.refused.Add(1)
			return
		}
		t.answered.Add(1)
	}
}

// A syncWriter serializes writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
