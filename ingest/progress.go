package ingest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// progress redraws one status line on a terminal while an ingest runs.
type progress struct {
	files, events, bytes atomic.Int64
	listDone             atomic.Bool            // the source has listed everything
	phaseText            atomic.Pointer[string] // what the writer is doing, when it is not reading
	phaseStart           atomic.Int64           // when it began (unix nanoseconds)
	w                    io.Writer
	done                 chan struct{}
	wg                   sync.WaitGroup
}

// lister is a Source that knows how many objects and bytes it has listed so far.
type lister interface {
	Listed() (objects, bytes int64)
}

// completeLister is a lister that knows when it has listed everything before List returns.
type completeLister interface {
	ListedAll() bool
}

// liner is a Source with more to show than the one line, e.g. one line per region.
type liner interface {
	ProgressLines() []string
}

// newProgress starts a progress line on w; a nil w gives a silent progress. When src
// counts what it has listed, the line shows done/listed. width, when not nil, gives the
// terminal's width at each redraw: every line is cut to fit it, since a line that wraps
// takes two rows and the redraw, which goes back up one row per line, would leave the
// rest behind.
func newProgress(w io.Writer, src Source, width func() int) *progress {
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
					more := "+" // still listing: the total grows
					pct := ""
					cl, ok := src.(completeLister)
					if p.listDone.Load() || ok && cl.ListedAll() {
						more = ""
						if b > 0 {
							pct = fmt.Sprintf("%3.0f%%%s, ", 100*min(1, float64(p.bytes.Load())/float64(b)),
								eta(float64(p.bytes.Load()), float64(b), time.Since(start)))
						} else if n > 0 {
							pct = fmt.Sprintf("%3.0f%%%s, ", 100*min(1, float64(f)/float64(n)),
								eta(float64(f), float64(n), time.Since(start)))
						}
					}
					line = fmt.Sprintf("%s%d/%d%s objects, %.1f/%.1f%s MiB, %d events  (%.0f objects/s, %.0f events/s)",
						pct, f, n, more, mib, float64(b)/(1<<20), more, e, float64(f)/s, float64(e)/s)
				} else {
					line = fmt.Sprintf("%d files, %d events, %.1f MiB  (%.0f files/s, %.0f events/s)",
						f, e, mib, float64(f)/s, float64(e)/s)
				}
				if ph := p.phaseText.Load(); ph != nil {
					line += fmt.Sprintf("  %s (%.0fs)", *ph, time.Since(time.Unix(0, p.phaseStart.Load())).Seconds())
				}
				var more []string
				if l, ok := src.(liner); ok {
					more = l.ProgressLines()
				}
				lines := append([]string{line}, more...)
				if width != nil {
					if cols := width(); cols > 1 {
						for i, l := range lines {
							lines[i] = queries.CutToWidth(l, cols-1) // the last column: some terminals wrap on it
						}
					}
				}
				fmt.Fprint(p.w, clear()+strings.Join(lines, "\n"))
				up = len(more)
			}
		}
	})
	return p
}

// phase says what the writer is doing while nothing is read (a commit); "" ends it. A
// nil progress ignores it.
func (p *progress) phase(s string) {
	if p == nil {
		return
	}
	if s == "" {
		p.phaseText.Store(nil)
		return
	}
	p.phaseStart.Store(time.Now().UnixNano())
	p.phaseText.Store(&s)
}

// eta is the time left at the rate so far, once the total is known.
func eta(done, total float64, elapsed time.Duration) string {
	if done <= 0 || total <= done || elapsed < time.Second {
		return ""
	}
	left := time.Duration(float64(elapsed) * (total - done) / done)
	return ", ~" + left.Round(time.Second).String() + " left"
}

func (p *progress) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.wg.Wait()
}
