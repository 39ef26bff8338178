package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/buger/jsonparser"
)

// Record is one CloudTrail event: the original JSON and the typed fields that
// investigations filter on, extracted from it. Empty strings mean "absent".
type Record struct {
	EventID            string
	Time               time.Time // zero when absent or unparseable
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
	ReadOnly           int8 // -1 unknown, 0 false, 1 true
	EventType          string
	EventCategory      string
	RecipientAccountID string
	EventVersion       string
	RequestParameters  []byte // raw JSON, nil when absent or null
	ResponseElements   []byte
	Resources          []byte
	Raw                []byte // the whole record, as read
}

// The JSON paths of the typed columns, in the order of the field indexes below.
var recordPaths = [][]string{
	{"eventID"},
	{"eventTime"},
	{"@timestamp"},
	{"eventSource"},
	{"eventName"},
	{"awsRegion"},
	{"sourceIPAddress"},
	{"userAgent"},
	{"userIdentity", "type"},
	{"userIdentity", "principalId"},
	{"userIdentity", "arn"},
	{"userIdentity", "accountId"},
	{"userIdentity", "accessKeyId"},
	{"userIdentity", "userName"},
	{"userIdentity", "sessionContext", "sessionIssuer", "arn"},
	{"errorCode"},
	{"errorMessage"},
	{"readOnly"},
	{"eventType"},
	{"eventCategory"},
	{"recipientAccountId"},
	{"eventVersion"},
	{"requestParameters"},
	{"responseElements"},
	{"resources"},
}

const (
	pEventID = iota
	pEventTime
	pTimestamp
	pEventSource
	pEventName
	pRegion
	pSourceIP
	pUserAgent
	pIdentityType
	pPrincipalID
	pARN
	pAccountID
	pAccessKeyID
	pUserName
	pSessionIssuerARN
	pErrorCode
	pErrorMessage
	pReadOnly
	pEventType
	pEventCategory
	pRecipientAccountID
	pEventVersion
	pRequestParameters
	pResponseElements
	pResources
)

// parseRecord extracts the typed fields of one event from its (valid) JSON object.
func parseRecord(raw []byte) Record {
	r := Record{Raw: raw, ReadOnly: -1}
	var eventTime, timestamp string
	jsonparser.EachKey(raw, func(idx int, val []byte, typ jsonparser.ValueType, err error) {
		if err != nil {
			return
		}
		switch idx {
		case pRequestParameters:
			r.RequestParameters = jsonValue(val, typ)
			return
		case pResponseElements:
			r.ResponseElements = jsonValue(val, typ)
			return
		case pResources:
			r.Resources = jsonValue(val, typ)
			return
		case pReadOnly:
			r.ReadOnly = boolValue(val, typ)
			return
		}
		s := stringValue(val, typ)
		switch idx {
		case pEventID:
			r.EventID = s
		case pEventTime:
			eventTime = s
		case pTimestamp:
			timestamp = s
		case pEventSource:
			r.EventSource = s
		case pEventName:
			r.EventName = s
		case pRegion:
			r.Region = s
		case pSourceIP:
			r.SourceIP = s
		case pUserAgent:
			r.UserAgent = s
		case pIdentityType:
			r.IdentityType = s
		case pPrincipalID:
			r.PrincipalID = s
		case pARN:
			r.ARN = s
		case pAccountID:
			r.AccountID = s
		case pAccessKeyID:
			r.AccessKeyID = s
		case pUserName:
			r.UserName = s
		case pSessionIssuerARN:
			r.SessionIssuerARN = s
		case pErrorCode:
			r.ErrorCode = s
		case pErrorMessage:
			r.ErrorMessage = s
		case pEventType:
			r.EventType = s
		case pEventCategory:
			r.EventCategory = s
		case pRecipientAccountID:
			r.RecipientAccountID = s
		case pEventVersion:
			r.EventVersion = s
		}
	}, recordPaths...)
	if eventTime == "" {
		eventTime = timestamp
	}
	r.Time = parseTime(eventTime)
	if r.EventID == "" {
		r.EventID = syntheticID(raw)
	}
	return r
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
			return string(val)
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

// jsonValue keeps an object, array or scalar as JSON text; null and absent become nil.
func jsonValue(val []byte, typ jsonparser.ValueType) []byte {
	switch typ {
	case jsonparser.Null, jsonparser.NotExist:
		return nil
	case jsonparser.String:
		// jsonparser strips the quotes of strings; put them back.
		out := make([]byte, 0, len(val)+2)
		out = append(out, '"')
		out = append(out, val...)
		return append(out, '"')
	default:
		return val
	}
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
