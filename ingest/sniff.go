package ingest

import (
	"bytes"
	"unicode/utf8"
)

// What an object that is not JSON is, told from its first bytes (magic numbers), so that a
// rejection says "a zip archive: extract it first" rather than quoting binary.

// looksLikeJSON reports whether content can be JSON: after a UTF-8 byte order mark and
// whitespace it starts with '{' or '[' (or is nothing but whitespace: "empty file").
func looksLikeJSON(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) == 0 || b[0] == '{' || b[0] == '['
}

// magic is a file format recognised by its first bytes.
type magic struct {
	offset       int
	prefix       string
	what, advice string // what it is; what to do about it ("" when nothing)
}

const extract = "extract it first, then ingest the files inside"

// magics are the formats people hand to an ingest by mistake, or an attacker does.
var magics = []magic{
	{0, "PK\x03\x04", "a zip archive", extract},
	{0, "PK\x05\x06", "an empty zip archive", ""},
	{0, "\x1f\x8b", "gzip data (compressed twice?)", "decompress it once first"},
	{0, "7z\xbc\xaf\x27\x1c", "a 7z archive", extract},
	{0, "Rar!\x1a\x07", "a RAR archive", extract},
	{0, "BZh", "bzip2-compressed data", "decompress it first (bunzip2)"},
	{0, "\xfd7zXZ\x00", "xz-compressed data", "decompress it first (unxz)"},
	{0, "\x28\xb5\x2f\xfd", "zstd-compressed data", "decompress it first (unzstd)"},
	{0, "\x04\x22\x4d\x18", "lz4-compressed data", "decompress it first (unlz4)"},
	{257, "ustar", "a tar archive", "extract it first (tar -xf), then ingest the files inside"},
	{0, "%PDF-", "a PDF document", ""},
	{0, "SQLite format 3\x00", "an SQLite database", ""},
	{8, "DUCK", "a DuckDB database", "if it is a trailhound store, query it with --db"},
	{0, "PAR1", "a Parquet file", "export it as JSON first"},
	{0, "ORC", "an ORC file", "export it as JSON first"},
	{0, "\x7fELF", "an executable (ELF)", ""},
	{0, "\x89PNG\r\n\x1a\n", "a PNG image", ""},
	{0, "\xff\xd8\xff", "a JPEG image", ""},
	{0, "GIF8", "a GIF image", ""},
	{0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office document (OLE)", ""},
	{0, "\xff\xfe", "UTF-16 text", "convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)"},
	{0, "\xfe\xff", "UTF-16 text", "convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)"},
}

// sniff names a known binary format (with what to do about it), or says "binary data"
// for other bytes no text file holds; a zero magic for text.
func sniff(b []byte) magic {
	for _, m := range magics {
		if len(b) >= m.offset+len(m.prefix) && string(b[m.offset:m.offset+len(m.prefix)]) == m.prefix {
			return m
		}
	}
	if isBinary(b) {
		return magic{what: "binary data"}
	}
	return magic{}
}

// isBinary applies the usual test (git's, file's) to the first 512 bytes: a NUL byte,
// invalid UTF-8, or more than one byte in ten a control character other than whitespace.
func isBinary(b []byte) bool {
	if len(b) > 512 {
		b = b[:512]
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return len(b) >= utf8.UTFMax // a character cut at the end of the sample is fine
		}
		b = b[size:]
	}
	control := 0
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			control++
		}
	}
	return control*10 > len(b)
}

// notJSONError says what content that is not JSON is; gzipped says it came out of a gzip.
func notJSONError(b []byte, gzipped bool) error {
	m := sniff(b)
	var reason string
	switch {
	case m.what == "":
		text := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
		reason = "not JSON (starts with " + snippet(text) + ")"
		if gzipped {
			reason = "gzip of text that is " + reason
		}
	case gzipped && m.prefix == "ustar":
		reason = "a gzipped tar archive (.tar.gz), not JSON: extract it first (tar -xzf), then ingest the files inside"
	default:
		reason = m.what + ", not JSON"
		if gzipped {
			reason = "gzip of " + reason
		}
		if m.advice != "" {
			reason += ": " + m.advice
		}
	}
	return &RejectError{Reason: reason, notJSON: true}
}
