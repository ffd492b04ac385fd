package abandon_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/turnstile-go/turnstile/analysis/abandon"
)

// TestAnalyzer checks the analyzer's reports against the // want comments
// of testdata, good and bad code side by side:
//
//   - waits: waits received in a select with other cases (the issue's
//     abandoned-wait cases among them);
//   - drops: waits and grants nobody takes;
//   - grants: grants released, or not, on every path;
//   - tests: what is checked in _test.go files;
//   - directive: //abandon:ok;
//   - mainpkg: returning from main.main;
//   - readme/...: the README's snippets, verbatim, which must pass clean
//     (TestREADME checks that they still match the README);
//   - docs: the examples of analysis/README.md, verbatim.
//
// testdata is a workspace (go.work) of a user module that imports the real
// turnstile module from the repository, and a small engine module under
// turnstile's import path that hands out *dist.Grant as the dist engines
// do. analysistest loads it in module mode with the proxy off, once for all
// the packages (loading is most of the cost).
func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), abandon.Analyzer,
		"./waits", "./drops", "./grants", "./tests", "./directive", "./mainpkg", "./readme/...", "./docs")
}
