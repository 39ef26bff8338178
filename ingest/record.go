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
)

// Record is one CloudTrail event: the original JSON, and the fields investigations
// filter on, extracted from it. Empty strings mean absent or null.
type Record struct {
	EventID            string    // eventID, or a synthetic id derived from the content
	Time               time.Time // eventTime (or @timestamp), UTC; zero when absent or unparseable
	EventSource        string
	EventName          string
	Region             string
	SourceIP           string
	UserAgent          string
	IdentityType       string
	PrincipalID        string
	ARN                string
	AccountID          string
	AccessKeyID        string
	UserName           string
	SessionIssuerARN   string
	ErrorCode          string
	ErrorMessage       string
	ReadOnly           int8 // -1 absent, 0 false, 1 true (JSON booleans or "true"/"false")
	EventType          string
	EventCategory      string
	RecipientAccountID string
	EventVersion       string
	Raw                []byte // the whole record, exactly as read
}

// parseRecord extracts the typed fields of one event in one pass over its top-level
// keys (and one over userIdentity). It never fails: a field of an unexpected type is
// kept as its JSON text. Strings that need no unescaping point into the object's
// buffer, which outlives the record's trip through the writer.
func parseRecord(raw []byte) Record {
	r := Record{Raw: raw, ReadOnly: -1}
	var eventTime, timestamp string
	jsonparser.ObjectEach(raw, func(key, val []byte, typ jsonparser.ValueType, _ int) error {
		switch string(key) {
		case "eventID":
			r.EventID = stringValue(val, typ)
		case "eventTime":
			eventTime = stringValue(val, typ)
		case "@timestamp":
			timestamp = stringValue(val, typ)
		case "eventSource":
			r.EventSource = stringValue(val, typ)
		case "eventName":
			r.EventName = stringValue(val, typ)
		case "awsRegion":
			r.Region = stringValue(val, typ)
		case "sourceIPAddress":
			r.SourceIP = stringValue(val, typ)
		case "userAgent":
			r.UserAgent = stringValue(val, typ)
		case "userIdentity":
			if typ == jsonparser.Object {
				parseIdentity(val, &r)
			}
		case "errorCode":
			r.ErrorCode = stringValue(val, typ)
		case "errorMessage":
			r.ErrorMessage = stringValue(val, typ)
		case "readOnly":
			r.ReadOnly = boolValue(val, typ)
		case "eventType":
			r.EventType = stringValue(val, typ)
		case "eventCategory":
			r.EventCategory = stringValue(val, typ)
		case "recipientAccountId":
			r.RecipientAccountID = stringValue(val, typ)
		case "eventVersion":
			r.EventVersion = stringValue(val, typ)
		}
		return nil
	})
	if eventTime == "" {
		eventTime = timestamp // Logstash-style exports
	}
	r.Time = parseTime(eventTime)
	if r.EventID == "" {
		r.EventID = syntheticID(raw)
	}
	return r
}

func parseIdentity(obj []byte, r *Record) {
	jsonparser.ObjectEach(obj, func(key, val []byte, typ jsonparser.ValueType, _ int) error {
		switch string(key) {
		case "type":
			r.IdentityType = stringValue(val, typ)
		case "principalId":
			r.PrincipalID = stringValue(val, typ)
		case "arn":
			r.ARN = stringValue(val, typ)
		case "accountId":
			r.AccountID = stringValue(val, typ)
		case "accessKeyId":
			r.AccessKeyID = stringValue(val, typ)
		case "userName":
			r.UserName = stringValue(val, typ)
		case "sessionContext":
			if typ == jsonparser.Object {
				if v, t, _, err := jsonparser.Get(val, "sessionIssuer", "arn"); err == nil {
					r.SessionIssuerARN = stringValue(v, t)
				}
			}
		}
		return nil
	})
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

// boolValue accepts JSON booleans and the strings "true"/"false" some exports use.
func boolValue(val []byte, typ jsonparser.ValueType) int8 {
	switch typ {
	case jsonparser.Boolean:
		if string(val) == "true" {
			return 1
		}
		return 0
	case jsonparser.String:
		switch strings.ToLower(strings.TrimSpace(string(val))) {
		case "true":
			return 1
		case "false":
			return 0
		}
	}
	return -1
}
