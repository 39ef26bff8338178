package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what a failed check says.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = strings.ReplaceAll(fmt.Sprintf(format, args...), "\u00a0", " ") // go-cmp pads with no-break spaces at random
}

// TestCheck: equal content passes; a changed line fails with a diff naming the golden
// line and the new one, and the file is left as it was.
func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,2\n3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	Check(r, path, []byte("a,b\n1,2\n3,4\n"))
	if r.failed {
		t.Fatalf("equal content failed: %s", r.msg)
	}
	Check(r, path, []byte("a,b\n1,2\n3,5\n"))
	if !r.failed || !strings.Contains(r.msg, `- 	"3,4\n",`) || !strings.Contains(r.msg, `+ 	"3,5\n",`) {
		t.Errorf("a changed line: failed %v, said:\n%s", r.failed, r.msg)
	}
	if b, _ := os.ReadFile(path); string(b) != "a,b\n1,2\n3,4\n" {
		t.Errorf("the golden file was changed without -update")
	}
}
