package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxDecompressed caps the decompressed size of one object. Real CloudTrail
// delivery files are a few MiB; anything past this is treated as a gzip bomb.
const DefaultMaxDecompressed = 512 << 20

// payload is an object's bytes as stored, their hash, and its decompressed content.
type payload struct {
	Size    int64
	SHA256  string
	Content []byte
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
// not by name) up to maxDecompressed bytes.
func readPayload(stored []byte, maxDecompressed int64) (payload, error) {
	sum := sha256.Sum256(stored)
	p := payload{Size: int64(len(stored)), SHA256: hex.EncodeToString(sum[:])}
	if len(stored) < 2 || stored[0] != 0x1f || stored[1] != 0x8b {
		if int64(len(stored)) > maxDecompressed {
			return p, reject("file is larger than the %d MiB limit", maxDecompressed>>20)
		}
		p.Content = stored
		return p, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		return p, reject("corrupt gzip: %v", err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	// The gzip trailer's ISIZE is the decompressed size (mod 2^32, of the last member):
	// allocate exactly that, so memory is not doubled by buffer growth.
	if len(stored) >= 18 {
		if hint := int64(binary.LittleEndian.Uint32(stored[len(stored)-4:])); hint < maxDecompressed {
			buf.Grow(int(hint) + bytes.MinRead)
		}
	}
	n, err := io.Copy(&buf, io.LimitReader(zr, maxDecompressed+1))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return p, reject("truncated gzip: the file ends after %d decompressed bytes", n)
	case err != nil:
		return p, reject("corrupt gzip: %v", err)
	case n > maxDecompressed:
		return p, reject("decompresses to more than %d MiB (a gzip bomb?); raise --max-decompressed to read it", maxDecompressed>>20)
	}
	p.Content = buf.Bytes()
	return p, nil
}
