package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/etcd"
	"github.com/turnstile-go/turnstile/selectx"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// The shared state of the replicas, by name on the etcd cluster.
const (
	migrateName = "replicas/migrate"  // a Lock: one migration at a time
	doneName    = "replicas/migrated" // an Event: the migration is done
	slotsName   = "replicas/slots"    // a Semaphore: the concurrency limit
	limit       = 2                   // jobs running at once, across all replicas
)

// replica is one replica process: it takes part in the migration, then runs
// its jobs within the shared limit. It writes what happened on out, one
// event per line, for the coordinator to check:
//
//	migrated ID TOKEN        this replica ran the migration
//	skipped ID               another one had, or was running it
//	start ID JOB TOKEN NANOS a job got a slot (wall clock in ns)
//	end ID JOB NANOS         it gives the slot back
func replica(ctx context.Context, addr string, id, jobs int, work time.Duration, out io.Writer) error {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{addr},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return err
	}
	defer cli.Close()
	s, err := etcd.NewSession(ctx, cli, etcd.WithTTL(5*time.Second))
	if err != nil {
		return err
	}
	defer s.Close(context.WithoutCancel(ctx))
	var mu sync.Mutex
	emit := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}

	if err := migrate(ctx, s, id, work, emit); err != nil {
		return err
	}

	slots := etcd.NewSemaphore(s, slotsName, limit)
	var wg sync.WaitGroup
	errs := make(chan error, jobs)
	for job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := slots.AcquireWait(ctx)
			if err != nil {
				errs <- err
				return
			}
			emit("start %d %d %d %d", id, job, g.Token(), time.Now().UnixNano())
			select {
			case <-time.After(work):
			case <-g.Lost():
				errs <- fmt.Errorf("replica %d: job %d lost its slot", id, job)
			}
			emit("end %d %d %d", id, job, time.Now().UnixNano())
			g.Release()
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return s.Settle(ctx) // the last releases landed before the session goes
}

// migrate runs the migration unless another replica has: it waits for
// whichever comes first, the migration lock or the event that says the
// migration is done. selectx.Select takes one and gives the other back, so
// a replica that sees the event withdraws its place in the lock's line.
func migrate(ctx context.Context, s *etcd.Session, id int, work time.Duration, emit func(string, ...any)) error {
	lock := etcd.NewLock(s, migrateName)
	done := etcd.NewEvent(s, doneName)
	var g *dist.Grant
	i, err := selectx.Select(ctx,
		selectx.On(lock.Acquire, func(got *dist.Grant) { g = got }),
		selectx.On(done.Wait, func(struct{}) {}),
	)
	if err != nil {
		return fmt.Errorf("replica %d: waiting to migrate: %w", id, err)
	}
	if i == 1 {
		emit("skipped %d", id)
		return nil
	}
	defer g.Release()
	already, err := done.IsSet(ctx) // set by a holder before us
	if err != nil {
		return err
	}
	if already {
		emit("skipped %d", id)
		return nil
	}
	select {
	case <-time.After(3 * work): // the migration; a real one passes g.Token() to the database
	case <-g.Lost():
		return fmt.Errorf("replica %d: lost the migration lock", id)
	}
	emit("migrated %d %d", id, g.Token())
	return done.Set(ctx)
}
