package ingest

import (
	"context"
	"errors"
	"sync"
)

// Sources lists several sources into one ingest at once. A source that fails does not
// stop the others; their errors are returned together.
type Sources []Source

// List runs every source's List.
func (ss Sources) List(ctx context.Context, out chan<- Object) error {
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() { errs[i] = s.List(ctx, out) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ScanWindows gathers the windows of the sources that read S3 windows whole.
func (ss Sources) ScanWindows() []ScanWindow {
	var out []ScanWindow
	for _, s := range ss {
		if w, ok := s.(windowedSource); ok {
			out = append(out, w.ScanWindows()...)
		}
	}
	return out
}

// Listed sums what the sources have listed.
func (ss Sources) Listed() (objects, bytes int64) {
	for _, s := range ss {
		if l, ok := s.(lister); ok {
			o, b := l.Listed()
			objects += o
			bytes += b
		}
	}
	return objects, bytes
}

// ProgressLines joins the sources' progress lines.
func (ss Sources) ProgressLines() []string {
	var lines []string
	for _, s := range ss {
		if l, ok := s.(liner); ok {
			lines = append(lines, l.ProgressLines()...)
		}
	}
	return lines
}
