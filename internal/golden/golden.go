// Package golden compares test output with golden files under testdata/golden, and rewrites
// them when the tests run with -update. It is the one golden helper of every test package.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files with what the tests produce")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Check compares got with the golden file at path; with -update it writes got there
// instead. A difference fails the test with a line diff of the whole file (go-cmp's: "-"
// the golden file's lines, "+" got's).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run '%s' -update in its package to create it)", err, t.Name())
	}
	if string(got) == string(want) {
		return
	}
	t.Errorf("%s differs (-golden +got; run the test with -update to accept):\n%s", path,
		cmp.Diff(strings.SplitAfter(string(want), "\n"), strings.SplitAfter(string(got), "\n")))
}
