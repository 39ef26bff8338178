package ingest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
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
	p := newProgress(&out, src)
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
