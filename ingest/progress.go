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

// newProgress starts a progress line on w; a nil w gives a silent progress.
func newProgress(w io.Writer) *progress {
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
				fmt.Fprintf(p.w, "\r\033[K%d files, %d events, %.1f MiB  (%.0f files/s, %.0f events/s)",
					f, e, float64(p.bytes.Load())/(1<<20), float64(f)/s, float64(e)/s)
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
