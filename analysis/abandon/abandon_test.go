package abandon_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/turnstile-go/turnstile/analysis/abandon"
)

// The testdata directory is a workspace (go.work) of a user module that
// imports the real turnstile module from the repository, and a small
// engine module under turnstile's import path that hands out *dist.Grant.
// analysistest loads it in module mode with the proxy off.

func TestWaits(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), abandon.Analyzer, "example.com/user/waits", "example.com/user/mainpkg")
}

func TestDrops(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), abandon.Analyzer, "example.com/user/drops")
}

func TestGrants(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), abandon.Analyzer, "example.com/user/grants")
}

func TestTestFiles(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), abandon.Analyzer, "example.com/user/tests")
}

func TestDirective(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), abandon.Analyzer, "example.com/user/directive")
}
