package ingest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Files is the Source of local files and directories (walked recursively, in lexical order).
type Files struct {
	Paths []string
}

// List sends every regular file under the paths. A path that does not exist is an error
// before anything is read; unreadable directories below it are sent as objects whose
// Open fails, so they are reported with the other rejected inputs.
func (f Files) List(ctx context.Context, out chan<- Object) error {
	var all []string
	for _, p := range f.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", p, err)
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == abs {
					return err
				}
				all = append(all, path) // reported when opened
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				all = append(all, path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
	}
	sort.Strings(all)
	for _, path := range all {
		o := Object{Kind: "file", URI: path, Open: func(context.Context) (io.ReadCloser, error) {
			return os.Open(path)
		}}
		select {
		case out <- o:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// CheckPaths reports the first path that does not exist, before an ingest starts.
func CheckPaths(paths []string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("input %s: %w", p, err)
		}
	}
	return nil
}
