package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
)

// Files is the Source of local files and directories, walked recursively in lexical order.
//
// Symbolic links are followed, to files and to directories, wherever they are (a path
// given, "LINK/", or inside a tree). A link back to a directory being walked (a loop), a
// directory or file reached a second time through a link, and the Exclude files are
// skipped: nothing is lost, and each is said with the reason (Exclude at debug level).
// A broken link, a cycle of links, a file that is not a regular file (a named pipe, a
// device) and a directory given that holds nothing to read are rejected inputs.
type Files struct {
	Paths []string
	// Exclude are never read, however they are reached: the store and its temporary
	// files, which an ingest of the directory holding them would otherwise try to read.
	Exclude []string
	Log     *slog.Logger

	listed *listCounts // set by NewFiles, for the progress line
}

// NewFiles returns the Source of paths that never reads exclude, counting what it lists.
func NewFiles(paths, exclude []string, log *slog.Logger) Files {
	return Files{Paths: paths, Exclude: exclude, Log: log, listed: &listCounts{}}
}

// listCounts is what a source has listed so far, and whether that is all.
type listCounts struct {
	objects, bytes atomic.Int64
	all            atomic.Bool
}

// Listed reports the files listed and their bytes, for the progress line.
func (f Files) Listed() (objects, bytes int64) {
	if f.listed == nil {
		return 0, 0
	}
	return f.listed.objects.Load(), f.listed.bytes.Load()
}

// ListedAll reports whether the walk is over, so that Listed is the total: the files are
// sent only once every path has been walked.
func (f Files) ListedAll() bool { return f.listed != nil && f.listed.all.Load() }

// List walks the paths and sends every regular file, then what was skipped or is
// unreadable. A path that does not exist is an error before anything is read.
func (f Files) List(ctx context.Context, out chan<- Object) error {
	w := &walker{log: f.Log, dirs: map[fileKey]string{}, files: map[fileKey]string{}}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range f.Exclude {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		w.exclude = append(w.exclude, abs)
		if info, err := os.Stat(abs); err == nil {
			w.excludeInfo = append(w.excludeInfo, info)
		}
	}
	for _, p := range f.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", p, err)
		}
		if err := w.top(abs); err != nil {
			return err
		}
	}
	sort.Slice(w.found, func(i, j int) bool { return w.found[i].path < w.found[j].path })
	if f.listed != nil {
		for _, e := range w.found {
			f.listed.objects.Add(1)
			f.listed.bytes.Add(e.size)
		}
		f.listed.all.Store(true)
	}
	send := func(o Object) error {
		select {
		case out <- o:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, e := range w.found {
		path := e.path
		o := Object{Kind: "file", URI: path, Size: e.size, Open: func(context.Context) (io.ReadCloser, error) {
			return os.Open(path)
		}}
		if err := send(o); err != nil {
			return err
		}
	}
	for _, s := range w.notes {
		o := Object{Kind: "file", URI: s.path}
		reason := errors.New(s.reason)
		if s.skip {
			o.Skipped = s.reason
		} else {
			o.Open = func(context.Context) (io.ReadCloser, error) { return nil, reason }
		}
		if err := send(o); err != nil {
			return err
		}
	}
	return nil
}

// CheckPaths reports the first path that does not exist, before an ingest starts. A
// broken symbolic link exists: it is reported with the other rejected inputs.
func CheckPaths(paths []string) error {
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			return fmt.Errorf("input %s: %w", p, err)
		}
	}
	return nil
}

// fileKey identifies a file or directory however it is reached (device and inode).
type fileKey struct{ dev, ino uint64 }

type foundFile struct {
	path string
	size int64
}

// note is an input not read: skipped (nothing lost) or rejected, with the reason.
type note struct {
	path, reason string
	skip         bool
}

type walker struct {
	log         *slog.Logger
	exclude     []string
	excludeInfo []fs.FileInfo
	found       []foundFile
	notes       []note
	dirs        map[fileKey]string // every directory walked, and where
	files       map[fileKey]string // every file found, and where
	stack       []fs.FileInfo      // the directories being walked, outermost first
	hadExcluded bool               // the path being walked held an excluded file
}

// top walks one path the user gave.
func (w *walker) top(abs string) error {
	info, err := os.Stat(abs) // follows links
	if err != nil {
		if reason, ok := linkProblem(abs, err); ok {
			w.notes = append(w.notes, note{path: abs, reason: reason})
			return nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("walk %s: %w", abs, err)
		}
		w.notes = append(w.notes, note{path: abs, reason: err.Error()})
		return nil
	}
	if w.excluded(abs, info) {
		w.notes = append(w.notes, note{path: abs, reason: "the store itself (or one of its temporary files): never read"})
		return nil
	}
	if !info.IsDir() {
		w.file(abs, info)
		return nil
	}
	before := len(w.found)
	notes := len(w.notes)
	w.dir(abs, info)
	if len(w.found) == before && len(w.notes) == notes {
		reason := "an empty directory: nothing to read"
		if w.hadExcluded {
			reason = "nothing to read here but the store itself"
		}
		w.notes = append(w.notes, note{path: abs, reason: reason})
	}
	w.hadExcluded = false
	return nil
}

// excluded reports whether path is one of the files never read.
func (w *walker) excluded(path string, info fs.FileInfo) bool {
	for _, e := range w.exclude {
		if path == e {
			return true
		}
	}
	for _, e := range w.excludeInfo {
		if os.SameFile(info, e) {
			return true
		}
	}
	return false
}

// file adds a regular file, once however many links lead to it.
func (w *walker) file(path string, info fs.FileInfo) {
	if !info.Mode().IsRegular() {
		w.notes = append(w.notes, note{path: path, reason: "not a regular file (" + fileKind(info.Mode()) + "): not read"})
		return
	}
	if k, ok := keyOf(info); ok {
		if first, seen := w.files[k]; seen {
			w.notes = append(w.notes, note{path: path, skip: true, reason: "the same file as " + first + " (read once)"})
			return
		}
		w.files[k] = path
	}
	w.found = append(w.found, foundFile{path, info.Size()})
}

// dir walks a directory (info is what it resolves to), following links.
func (w *walker) dir(path string, info fs.FileInfo) {
	for _, a := range w.stack {
		if os.SameFile(a, info) {
			w.notes = append(w.notes, note{path: path, skip: true,
				reason: "a symbolic link loop: it leads back to a directory being read already"})
			return
		}
	}
	if k, ok := keyOf(info); ok {
		if first, seen := w.dirs[k]; seen {
			w.notes = append(w.notes, note{path: path, skip: true, reason: "the same directory as " + first + " (read once)"})
			return
		}
		w.dirs[k] = path
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		w.notes = append(w.notes, note{path: path, reason: fmt.Sprintf("cannot read the directory: %v", unwrapPath(err))})
		return
	}
	w.stack = append(w.stack, info)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	for _, e := range entries {
		p := filepath.Join(path, e.Name())
		var info fs.FileInfo
		var err error
		if e.Type()&fs.ModeSymlink != 0 {
			info, err = os.Stat(p)
		} else {
			info, err = e.Info()
		}
		if err != nil {
			if reason, ok := linkProblem(p, err); ok {
				w.notes = append(w.notes, note{path: p, reason: reason})
			} else if !errors.Is(err, fs.ErrNotExist) { // removed while walking: nothing to say
				w.notes = append(w.notes, note{path: p, reason: unwrapPath(err).Error()})
			}
			continue
		}
		if w.excluded(p, info) {
			w.log.Debug("not read: the store itself, or one of its temporary files", "path", p)
			w.hadExcluded = true
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 && info.IsDir() {
			if up, ok := ancestorLink(p); ok {
				w.notes = append(w.notes, note{path: p, skip: true,
					reason: "a symbolic link loop: it leads back to " + up + ", which holds it"})
				continue
			}
		}
		if info.IsDir() {
			w.dir(p, info)
		} else {
			w.file(p, info)
		}
	}
}

// ancestorLink reports whether the symbolic link at p leads to a directory that holds it
// (.., or any directory above), and which.
func ancestorLink(p string) (string, bool) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	here, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return "", false
	}
	sep := string(filepath.Separator)
	if here == target || strings.HasPrefix(here, strings.TrimSuffix(target, sep)+sep) {
		return target, true
	}
	return "", false
}

// linkProblem explains why a symbolic link leads nowhere (broken, or a cycle of links).
func linkProblem(path string, err error) (string, bool) {
	li, lerr := os.Lstat(path)
	if lerr != nil || li.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	target, _ := os.Readlink(path)
	if errors.Is(err, syscall.ELOOP) {
		return fmt.Sprintf("a cycle of symbolic links (to %s) that never reaches a file: not read", target), true
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("a broken symbolic link: its target %s does not exist", target), true
	}
	return fmt.Sprintf("a symbolic link to %s that cannot be followed: %v", target, unwrapPath(err)), true
}

// unwrapPath drops the path from an fs.PathError: the path is said already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a file"
}
