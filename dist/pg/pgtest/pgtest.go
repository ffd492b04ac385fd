// Package pgtest starts a throwaway PostgreSQL server for tests, examples and
// benchmarks: initdb into a fresh temporary directory, then pg_ctl on a free
// loopback port, with the socket directory inside the temporary directory.
// Nothing outside that directory is touched, and Stop removes it. A server
// whose process died without Stop is stopped and removed by the next Start.
//
// The binaries are found on PATH (initdb, pg_ctl), else in the newest
// /usr/lib/postgresql/*/bin, where Debian's postgresql package puts them
// (apt-get install -y postgresql). Run as root, the server runs as the
// postgres OS user (PostgreSQL refuses to run as root), through runuser, and
// the data directory is handed to that user.
//
// The server is tuned for tests, not for keeping data: fsync is off, so a
// crash of the machine (not of the server) may lose commits.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A Server is a PostgreSQL server started by Start.
type Server struct {
	dir  string // the temporary directory: data/ and the socket live here
	bin  string // the directory of initdb and pg_ctl
	port int
	as   string // OS user the server runs as, "" for the current user
}

// Start initialises a database cluster in a new temporary directory and starts
// a server on a free port of 127.0.0.1. It returns once the server accepts
// connections. Call Stop when done, also after a failed test.
func Start(ctx context.Context) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	reap(bin)
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	// Who started the server: if that process dies without Stop (killed,
	// or a test timeout), the next Start anywhere on the machine stops the
	// server and removes its directory.
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		s.as = "postgres"
		if err := s.handOver(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := s.run(ctx, "initdb", "-D", s.data(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Start starts the server again after Stop or Kill, on the same port if it
// is still free (else on a new one; DSN then changes).
func (s *Server) Start(ctx context.Context) error {
	if s.port == 0 || !portFree(s.port) {
		p, err := freePort()
		if err != nil {
			return err
		}
		s.port = p
	}
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(s.port),
		"-k " + s.dir,
		"-c fsync=off",
		"-c synchronous_commit=off",
		"-c full_page_writes=off",
		"-c max_connections=200",
		"-c shared_buffers=128MB",
	}, " ")
	return s.run(ctx, "pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "server.log"),
		"-o", opts, "-w", "-t", "60", "start")
}

// Restart stops the server with fast shutdown (every connection is cut, as in
// a real restart) and starts it again on the same port.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.run(ctx, "pg_ctl", "-D", s.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return err
	}
	return s.Start(ctx)
}

// Stop stops the server (fast shutdown) and removes its directory. It is
// safe to call on a server that is already stopped.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if _, statErr := os.Stat(filepath.Join(s.data(), "postmaster.pid")); statErr == nil {
		err = s.run(ctx, "pg_ctl", "-D", s.data(), "-m", "fast", "-w", "-t", "60", "stop")
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// DSN returns a connection string for the postgres superuser's postgres
// database on the server's loopback port.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// Log returns what the server wrote to its log so far, for a failing test.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// handOver makes the temporary directory usable by the postgres user: the
// directory itself stays root's (so Stop can remove it) but is opened to
// others, and data/ is created and owned by postgres, as initdb requires.
func (s *Server) handOver() error {
	u, err := user.Lookup(s.as)
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs the %s OS user: %w", s.as, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chmod(s.dir, 0o777); err != nil {
		return err
	}
	if err := os.Mkdir(s.data(), 0o700); err != nil {
		return err
	}
	return os.Chown(s.data(), uid, gid)
}

// run runs one of the PostgreSQL binaries, as s.as if set.
func (s *Server) run(ctx context.Context, name string, args ...string) error {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.as != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.as, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s\n%s", name, err, out, s.Log())
	}
	return nil
}

// findBin returns the directory holding initdb and pg_ctl.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtest: no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin; install them with: apt-get install -y postgresql")
}

// version returns the major version in a path like /usr/lib/postgresql/15/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// reap stops and removes the servers of earlier Starts whose process is
// gone: what a killed test binary leaves behind.
func reap(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue // not ours, or still being set up
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // alive (EPERM too), or not a pid
		}
		s := &Server{dir: dir, bin: bin}
		if fi, err := os.Stat(s.data()); err == nil && os.Geteuid() == 0 {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
				s.as = "postgres"
			}
		}
		if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			s.run(ctx, "pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
			cancel()
		}
		os.RemoveAll(dir)
	}
}
