//go:build !unix

package ingest

import "io/fs"

// keyOf has no device and inode to give here: loops are still found through the
// directories being walked (os.SameFile), but a file reached twice is read twice.
func keyOf(fs.FileInfo) (fileKey, bool) { return fileKey{}, false }
