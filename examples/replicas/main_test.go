package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"go.uber.org/goleak"
)

// childEnv marks a child process of the test, which runs a replica with the
// arguments the coordinator gave it.
const childEnv = "REPLICAS_TEST_CHILD"

// TestMain runs a replica when the test binary is started as one, and
// otherwise the tests, failing the run if a goroutine outlives them.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		_, err := run(context.Background(), args, nil, os.Stdout, os.Stderr)
		if err != nil {
			os.Stderr.WriteString("replica: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// spawn runs this test binary again as a replica.
func spawn(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd
}

// Three replica processes and an embedded etcd: the migration runs exactly
// once, the jobs never exceed the shared limit of 2 and reach it, every job
// is done, and no slot grant is given twice.
func TestReplicas(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, progress bytes.Buffer // progress gets the children's stderr too: run serializes it
	sum, err := run(ctx, []string{"-replicas", "3", "-jobs", "4", "-work", "50ms"}, spawn, &out, &progress)
	is.NoErr(err)
	is.Equal(sum.replicas, 3)
	is.Equal(sum.jobs, 12)
	is.Equal(sum.migrations, 1)
	is.Equal(sum.maxRunning, limit) // never above the limit, and it was reached
	is.True(sum.tokensDistinct)
	is.Equal(len(sum.tokens), 12)
	is.True(strings.Contains(out.String(), "at most 2 running at once"))
	is.Equal(strings.Count(out.String(), "skipped "), 2)
	is.True(strings.Contains(progress.String(), "replicas: 12/12 jobs done"))
}
