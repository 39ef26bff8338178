//go:build unix

package ingest

import (
	"io/fs"
	"syscall"
)

// keyOf is the device and inode of a file.
func keyOf(info fs.FileInfo) (fileKey, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{uint64(st.Dev), uint64(st.Ino)}, true
}
