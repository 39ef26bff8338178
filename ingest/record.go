package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unsafe"

	"github.com/buger/jsonparser"

	"github.com/trailhound/trailhound/internal/canonjson"
)

// Record is one CloudTrail event as the decoder hands it to the writer: the original
// JSON, the two fields Go decides, and the values of the typed columns, which
// queries/insert_events.sql stores as json_extract_string would read them from Raw.
type Record struct {
	EventID string    // eventID, or a synthetic id derived from the content
	Time    time.Time // eventTime (or @timestamp), UTC; zero when absent or unparseable
	Raw     []byte    // the whole record, as read
	// Fields are the typed columns' values, read by the scanner on its one pass and
	// joined by fieldSep in insert_events.sql's order; "" when DuckDB must read them
	// from Raw itself (a field that is a number or an object, or holds the separator).
	Fields string
	// Hash is the SHA-256 of Raw's canonical form (internal/canonjson): records with one
	// eventID and one Hash are one event delivered again; with another Hash, a variant
	// (see writer). Zero until the decoder (or the writer) computes it.
	Hash [32]byte
}

// recordHash is the hash that tells variants of one eventID apart: the SHA-256 of the
// canonical JSON of the whole record. Nothing is left out: no pair of one event from an S3
// trail and from event history was found that differs in more than its spelling (key
// order, whitespace, escapes), which the canonical form removes (see the writer's doc).
func recordHash(raw []byte) [32]byte {
	h, _ := canonjson.Sum(raw)
	return h
}

// syntheticID derives a stable id for a record that has no eventID: the SHA-256 of its
// canonical JSON (keys sorted, no whitespace, one escaping), so the same record
// written by two different exporters gets the same id.
func syntheticID(raw []byte) string {
	canon := raw
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	sum := sha256.Sum256(canon)
	return "th-" + hex.EncodeToString(sum[:16])
}

// stringValue renders a scalar as text: strings unescaped, numbers and booleans as
// written, null as "". Objects and arrays are kept as their JSON text.
func stringValue(val []byte, typ jsonparser.ValueType) string {
	switch typ {
	case jsonparser.String:
		if bytes.IndexByte(val, '\\') < 0 {
			if len(val) == 0 {
				return ""
			}
			return unsafe.String(&val[0], len(val))
		}
		s, err := jsonparser.ParseString(val)
		if err != nil {
			return string(val)
		}
		return s
	case jsonparser.Null, jsonparser.NotExist:
		return ""
	default:
		return string(val)
	}
}

// timeLayouts are the eventTime forms seen in real data, most common first.
var timeLayouts = []string{
	time.RFC3339Nano,                      // 2021-07-28T12:00:00Z
	"2006-01-02 15:04:05.999999999",       // 2025-03-26 16:43:57.000000000 (Grimoire)
	"2006-01-02T15:04:05.999999999",       // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00", // lookup-events CLI output
	"2006-01-02 15:04:05.999999999 -0700",
	"20060102T150405Z", // basic ISO 8601
	"2006-01-02",
}

// parseTime reads a timestamp in any of timeLayouts (or epoch seconds/milliseconds)
// and returns it in UTC; the zero time when it cannot be read.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	if n, ok := parseDigits(s); ok {
		if n > 1e11 {
			return time.UnixMilli(n).UTC()
		}
		return time.Unix(n, 0).UTC()
	}
	return time.Time{}
}

func parseDigits(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
