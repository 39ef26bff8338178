package ingest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress redraws one status line on a terminal while an ingest runs.
type progress struct {
	files, events, bytes atomic.Int64
	w                    io.Writer
	done                 chan struct{}
	wg                   sync.WaitGroup
}

// lister is a Source that knows how many objects and bytes it has listed so far.
type lister interface {
	Listed() (objects, bytes int64)
}

// liner is a Source with more to show than the one line, e.g. one line per region.
type liner interface {
	ProgressLines() []string
}

// newProgress starts a progress line on w; a nil w gives a silent progress. When src
// counts what it has listed, the line shows done/listed.
func newProgress(w io.Writer, src Source) *progress {
	p := &progress{w: w, done: make(chan struct{})}
	if w == nil {
		return p
	}
	start := time.Now()
	p.wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		up := 0 // lines drawn below the first, to go back over
		clear := func() string {
			if up == 0 {
				return "\r\033[K"
			}
			return fmt.Sprintf("\r\033[%dA\033[J", up)
		}
		for {
			select {
			case <-p.done:
				fmt.Fprint(p.w, clear())
				return
			case <-t.C:
				s := time.Since(start).Seconds()
				f, e := p.files.Load(), p.events.Load()
				mib := float64(p.bytes.Load()) / (1 << 20)
				var line string
				if l, ok := src.(lister); ok {
					n, b := l.Listed()
					line = fmt.Sprintf("%d/%d objects, %.1f/%.1f MiB, %d events  (%.0f objects/s, %.0f events/s)",
						f, n, mib, float64(b)/(1<<20), e, float64(f)/s, float64(e)/s)
				} else {
					line = fmt.Sprintf("%d files, %d events, %.1f MiB  (%.0f files/s, %.0f events/s)",
						f, e, mib, float64(f)/s, float64(e)/s)
				}
				var more []string
				if l, ok := src.(liner); ok {
					more = l.ProgressLines()
				}
				fmt.Fprint(p.w, clear()+strings.Join(append([]string{line}, more...), "\n"))
				up = len(more)
			}
		}
	})
	return p
}

func (p *progress) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.wg.Wait()
}
