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
	"io/fs"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxDecompressed caps the decompressed size of one object. Real CloudTrail
// delivery files are a few MiB (exports of a whole trail, like the flaws.cloud dataset's,
// about 130 MiB); anything past this is treated as a gzip bomb. It also sets the memory
// budget of decoding (DefaultMemoryBudget), which one object of this size must fit in.
const DefaultMaxDecompressed = 256 << 20

// DefaultMemoryBudget is what the decode workers may hold in memory at once, all together
// (memBudget): one object of DefaultMaxDecompressed bytes with what decoding it adds, or
// many small ones. With DuckDB's 256 MB memory limit it keeps an ingest's peak RSS under
// 1 GiB whatever arrives (measured by TestHostileInputMemory).
const DefaultMemoryBudget = 384 << 20

// MemoryBudgetFor is the decode memory budget for a per-object cap: DefaultMemoryBudget,
// or one and a half times a larger cap (an object, plus its records).
func MemoryBudgetFor(maxDecompressed int64) int64 {
	return max(DefaultMemoryBudget, maxDecompressed+maxDecompressed/2)
}

// errOverBudget means an object needs more memory than could be reserved for it without
// waiting: it is read again alone, within the whole budget.
var errOverBudget = errors.New("needs more memory than reserved")

// payload is an object's bytes as stored, their hash, and its decompressed content with
// the hash of that content, which is what a CloudTrail digest lists for a log file (and
// what a digest's signature and the next digest's previousDigestHashValue cover).
type payload struct {
	Size    int64
	SHA256  string // hex SHA-256 of the bytes as stored
	Content []byte
	Gzip    bool
	// ContentSHA256 is the hex SHA-256 of Content: of the first gzip stream's
	// decompressed bytes, or of the bytes as stored when they are not gzipped.
	ContentSHA256 string
	// Trailing counts the stored bytes after the end of the first gzip stream (-1 when
	// the object is not gzipped). CloudTrail writes one stream; AWS's validator calls a
	// log file with anything after it invalid, so those bytes are neither decoded nor
	// hashed, and verify reports the file.
	Trailing int64
}

// sizer is a stored object whose size can be asked before reading it (an *os.File).
type sizer interface{ Stat() (fs.FileInfo, error) }

// readStored reads an object's bytes as stored, at most max bytes (a larger object is
// rejected before it is read whole). A source whose body is already in memory (an S3
// object read with retries) hands over its buffer instead of being copied.
func readStored(r io.Reader, max int64) ([]byte, error) {
	if b, ok := r.(interface{ Bytes() []byte }); ok {
		stored := b.Bytes()
		if int64(len(stored)) > max {
			return nil, tooLarge(int64(len(stored)), max)
		}
		return stored, nil
	}
	if s, ok := r.(sizer); ok {
		if info, err := s.Stat(); err == nil && info.Mode().IsRegular() {
			if info.Size() > max {
				return nil, tooLarge(info.Size(), max)
			}
			// Read exactly the size (plus one byte, to see a file that grew), so memory is
			// not doubled by buffer growth.
			buf := make([]byte, info.Size()+1)
			n, err := io.ReadFull(r, buf)
			switch {
			case err == nil:
				return nil, tooLargeGrew(max)
			case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
				return buf[:n], nil
			default:
				return nil, fmt.Errorf("read: %w", err)
			}
		}
	}
	stored, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(len(stored)) > max {
		return nil, tooLarge(int64(len(stored)), max)
	}
	return stored, nil
}

func tooLarge(size, max int64) error {
	what := mib(size)
	if size == max+1 {
		what = "more than " + mib(max)
	}
	return reject("the file is %s, larger than the %s limit for one file: not read; raise --max-decompressed to read it", what, mib(max))
}

func tooLargeGrew(max int64) error {
	return reject("the file grew past the %s limit for one file while it was read: not read; raise --max-decompressed to read it", mib(max))
}

func bombError(max int64) error {
	return reject("decompresses to more than %s (a gzip bomb?): not read; raise --max-decompressed to read it", mib(max))
}

// isGzip recognises gzip by its magic number, not by the object's name.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// hashStored fills in the payload's size and SHA-256 of the stored bytes (the content's
// too, when they are not gzipped).
func hashStored(stored []byte) payload {
	sum := sha256.Sum256(stored)
	p := payload{Size: int64(len(stored)), SHA256: hex.EncodeToString(sum[:]), Gzip: isGzip(stored), Trailing: -1}
	if !p.Gzip {
		p.ContentSHA256 = p.SHA256
	}
	return p
}

// readPayload hashes an object's stored bytes and gunzips them (detected by magic number,
// not by name) up to maxDecompressed bytes, without a memory budget.
func readPayload(stored []byte, maxDecompressed int64) (payload, error) {
	p := hashStored(stored)
	if !p.Gzip {
		p.Content = stored
		return p, nil
	}
	g, err := gunzip(stored, maxDecompressed, nil, 0)
	p.Content, p.ContentSHA256, p.Trailing = g.content, g.sha256, g.trailing
	return p, err
}

// gunzipped is the first gzip stream of an object, decompressed: the content, its hex
// SHA-256 (hashed as it streams out of the decompressor, while it is in the CPU's cache),
// and how many stored bytes follow the stream.
type gunzipped struct {
	content  []byte
	sha256   string
	trailing int64
}

// gunzipHint is what the gzip trailer says the content's size is: ISIZE, the size of the
// last member mod 2^32. Honest single-member files under 4 GiB (every CloudTrail file)
// say it exactly; a bomb may lie, so it only sizes the buffer and the reservation.
func gunzipHint(stored []byte) int64 {
	if len(stored) < 18 {
		return 0
	}
	return int64(binary.LittleEndian.Uint32(stored[len(stored)-4:]))
}

// gunzip decompresses the first gzip stream of stored, up to max bytes. With a hold, the
// buffer is the trailer's size and the reservation must grow to it without waiting, or
// errOverBudget; content longer than the trailer said is errOverBudget too (read again,
// measured). measured, when not 0, is the size gunzippedSize found (room for it is
// reserved already). Content that cannot be JSON is rejected from its first bytes, before
// the rest is decompressed.
func gunzip(stored []byte, max int64, h *hold, measured int64) (gunzipped, error) {
	// A bytes.Reader is an io.ByteReader, so the decompressor reads exactly the first
	// stream and its trailer, and what is left in br is what follows it.
	br := bytes.NewReader(stored)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return gunzipped{}, reject("corrupt gzip: %v", err)
	}
	defer zr.Close()
	zr.Multistream(false)
	var head [512]byte
	n, err := io.ReadFull(zr, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return gunzipped{}, gzipError(err, int64(n))
	}
	if !looksLikeJSON(head[:n]) {
		return gunzipped{}, notJSONError(head[:n], true)
	}
	sum := sha256.New()
	sum.Write(head[:n])
	if n < len(head) { // the whole content, if the stream ended there rather than broke off
		if _, err := zr.Read(head[n:]); err != io.EOF {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return gunzipped{}, gzipError(err, int64(n))
		}
		return gunzipped{append([]byte(nil), head[:n]...), hex.EncodeToString(sum.Sum(nil)), int64(br.Len())}, nil
	}
	hint, limit := gunzipHint(stored), max
	switch {
	case measured > 0:
		hint, limit = measured, measured
	case hint > max && h != nil:
		// A trailer past the limit: a bomb that says so, or a truncated file whose last
		// bytes are not a trailer. Measuring tells which.
		return gunzipped{}, errOverBudget
	case hint > max:
		hint = 0
	case h != nil:
		if !h.grow(hint + bytes.MinRead) {
			return gunzipped{}, errOverBudget
		}
		limit = hint
	}
	buf := append(make([]byte, 0, hint+bytes.MinRead), head[:n]...)
	buf, err = readHashed(zr, sum, buf, limit+1)
	total := int64(len(buf))
	switch {
	case err != nil:
		return gunzipped{}, gzipError(err, total)
	case total > max:
		return gunzipped{}, bombError(max)
	case total > limit:
		return gunzipped{}, errOverBudget
	}
	return gunzipped{buf, hex.EncodeToString(sum.Sum(nil)), int64(br.Len())}, nil
}

// readHashed appends what r reads to b, until r's end or until b holds max bytes, hashing
// each chunk as it arrives (no copy through another buffer).
func readHashed(r io.Reader, h hash.Hash, b []byte, max int64) ([]byte, error) {
	for int64(len(b)) < max {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if left := max - int64(len(b)); int64(len(room)) > left {
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
	}
	return b, nil
}

// gunzippedSize decompresses the first gzip stream of stored without keeping the
// content, to learn its size; more than max is a gzip bomb.
func gunzippedSize(stored []byte, max int64) (int64, error) {
	zr, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		return 0, reject("corrupt gzip: %v", err)
	}
	defer zr.Close()
	zr.Multistream(false) // only the first stream is read (gunzip)
	n, err := io.Copy(io.Discard, io.LimitReader(zr, max+1))
	switch {
	case err != nil:
		return n, gzipError(err, n)
	case n > max:
		return n, bombError(max)
	}
	return n, nil
}

func gzipError(err error, n int64) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return reject("truncated gzip: the file ends after %d decompressed bytes", n)
	}
	return reject("corrupt gzip: %v", err)
}
