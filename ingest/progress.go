package ingest

import (
	"fmt"
	"io"
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
		for {
			select {
			case <-p.done:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				s := time.Since(start).Seconds()
				f, e := p.files.Load(), p.events.Load()
				mib := float64(p.bytes.Load()) / (1 << 20)
				if l, ok := src.(lister); ok {
					n, b := l.Listed()
					fmt.Fprintf(p.w, "\r\033[K%d/%d objects, %.1f/%.1f MiB, %d events  (%.0f objects/s, %.0f events/s)",
						f, n, mib, float64(b)/(1<<20), e, float64(f)/s, float64(e)/s)
					continue
				}
				fmt.Fprintf(p.w, "\r\033[K%d files, %d events, %.1f MiB  (%.0f files/s, %.0f events/s)",
					f, e, mib, float64(f)/s, float64(e)/s)
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
