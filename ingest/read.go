package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxDecompressed caps the decompressed size of one object. Real CloudTrail
// delivery files are a few MiB; anything past this is treated as a gzip bomb.
const DefaultMaxDecompressed = 512 << 20

// payload is an object's bytes as stored, their hash, and its decompressed content with
// the hash of that content, which is what a CloudTrail digest lists for a log file (and
// what a digest's signature and the next digest's previousDigestHashValue cover).
type payload struct {
	Size    int64
	SHA256  string // hex SHA-256 of the bytes as stored
	Content []byte
	// ContentSHA256 is the hex SHA-256 of Content: of the first gzip stream's
	// decompressed bytes, or of the bytes as stored when they are not gzipped.
	ContentSHA256 string
	// Trailing counts the stored bytes after the end of the first gzip stream (-1 when
	// the object is not gzipped). CloudTrail writes one stream; AWS's validator calls a
	// log file with anything after it invalid, so those bytes are neither decoded nor
	// hashed, and verify reports the file.
	Trailing int64
}

// readStored reads an object's bytes as stored. A source whose body is already in memory
// (an S3 object read with retries) hands over its buffer instead of being copied.
func readStored(r io.Reader) ([]byte, error) {
	if b, ok := r.(interface{ Bytes() []byte }); ok {
		return b.Bytes(), nil
	}
	stored, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return stored, nil
}

// readPayload hashes an object's stored bytes and gunzips them (detected by magic number,
// not by name) up to maxDecompressed bytes, hashing the content as it streams out of
// the decompressor.
func readPayload(stored []byte, maxDecompressed int64) (payload, error) {
	sum := sha256.Sum256(stored)
	p := payload{Size: int64(len(stored)), SHA256: hex.EncodeToString(sum[:]), Trailing: -1}
	if len(stored) < 2 || stored[0] != 0x1f || stored[1] != 0x8b {
		if int64(len(stored)) > maxDecompressed {
			return p, reject("file is larger than the %d MiB limit", maxDecompressed>>20)
		}
		p.Content = stored
		p.ContentSHA256 = p.SHA256
		return p, nil
	}
	// A bytes.Reader is an io.ByteReader, so the decompressor reads exactly the first
	// stream and its trailer, and what is left in br is what follows it.
	br := bytes.NewReader(stored)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return p, reject("corrupt gzip: %v", err)
	}
	defer zr.Close()
	zr.Multistream(false)
	// The gzip trailer's ISIZE is the decompressed size (mod 2^32, of the last member):
	// allocate exactly that, so memory is not doubled by buffer growth.
	hint := int64(0)
	if len(stored) >= 18 {
		if n := int64(binary.LittleEndian.Uint32(stored[len(stored)-4:])); n < maxDecompressed {
			hint = n
		}
	}
	h := sha256.New()
	content, err := readHashed(zr, h, hint, maxDecompressed)
	n := int64(len(content))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return p, reject("truncated gzip: the file ends after %d decompressed bytes", n)
	case err != nil:
		return p, reject("corrupt gzip: %v", err)
	case n > maxDecompressed:
		return p, reject("decompresses to more than %d MiB (a gzip bomb?); raise --max-decompressed to read it", maxDecompressed>>20)
	}
	p.Content = content
	p.ContentSHA256 = hex.EncodeToString(h.Sum(nil))
	p.Trailing = int64(br.Len())
	return p, nil
}

// readHashed reads r to its end (or to just past max bytes) into one buffer, hashing
// each chunk as it arrives, while it is still in the CPU's cache.
func readHashed(r io.Reader, h hash.Hash, hint, max int64) ([]byte, error) {
	b := make([]byte, 0, hint+bytes.MinRead)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if left := max + 1 - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		h.Write(room[:n])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if int64(len(b)) > max {
			return b, nil
		}
	}
}
