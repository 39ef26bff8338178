package ingest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivo/uniseg"
)

// lockedBuffer is a bytes.Buffer the progress goroutine and the test can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProgressShowsTotalAndCommit: once a source has listed everything, the progress line
// shows the share done and the time left; while the writer commits, it says so (the line
// no longer looks frozen).
func TestProgressShowsTotalAndCommit(t *testing.T) {
	src := NewFiles(nil, nil, nil)
	src.listed.objects.Store(40)
	src.listed.bytes.Store(4 << 20)
	src.listed.all.Store(true)
	var out lockedBuffer
	p := newProgress(&out, src, nil)
	p.files.Store(10)
	p.bytes.Store(1 << 20)
	time.Sleep(1200 * time.Millisecond)
	p.phase("committing 5 events of 10 objects to the store")
	time.Sleep(600 * time.Millisecond)
	p.stop()
	got := out.String()
	for _, want := range []string{" 25%, ~", "s left, 10/40 objects, 1.0/4.0 MiB", "committing 5 events of 10 objects to the store ("} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%q", want, got)
		}
	}
}

// TestProgressFitsTheTerminal: on a narrow terminal every line drawn (the first and each
// region's) is cut to one column less than its width, so none wraps and the redraw, which
// goes back one row per line, clears them all.
func TestProgressFitsTheTerminal(t *testing.T) {
	src := NewFiles(nil, nil, nil)
	src.listed.objects.Store(40)
	src.listed.bytes.Store(4 << 20)
	src.listed.all.Store(true)
	var out lockedBuffer
	p := newProgress(&out, linesSource{src, []string{"  eu-west-3       page 12, 3400 events, still reading 🇫🇷🇫🇷🇫🇷", "  us-east-1 done"}},
		func() int { return 32 })
	p.files.Store(10)
	p.bytes.Store(1 << 20)
	time.Sleep(700 * time.Millisecond)
	p.stop()
	got := out.String()
	// Each redraw: the control sequences, then the lines.
	draws := 0
	for _, l := range strings.Split(got, "\n") {
		if i := strings.LastIndexAny(l, "KJ"); i >= 0 && strings.Contains(l, "\033[") {
			l = l[i+1:]
		}
		if strings.Contains(l, "objects") || strings.Contains(l, "eu-west-3") {
			draws++
		}
		if w := uniseg.StringWidth(l); w > 31 {
			t.Errorf("a line of %d columns on a 32-column terminal: %q", w, l)
		}
	}
	if draws < 2 || !strings.Contains(got, "…") {
		t.Errorf("no cut lines drawn:\n%q", got)
	}
}

// linesSource is a Source with more lines to draw (as event history has, per region).
type linesSource struct {
	Files
	lines []string
}

func (l linesSource) ProgressLines() []string { return l.lines }
