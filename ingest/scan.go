package ingest

import (
	"bytes"

	"github.com/buger/jsonparser"
)

// The record scanner: one pass over a JSON document that is already known to be valid
// (checkJSON), which splits an array into its elements and reads each record's eventID
// and eventTime on the way. A CloudTrail file is mostly string bytes, which are skipped
// with bytes.IndexByte; walking the array with jsonparser and then looking the two keys
// up in each element read every record twice (1M events: 4.3 s of a 2-core ingest).
//
// Every function takes a valid document; on anything else they stop early without
// panicking, and the caller's result is only as good as its input.

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts (with its quote) at i.
func stringEnd(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		bs := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			bs++
		}
		i++
		if bs%2 == 0 {
			return i
		}
	}
}

// structural marks the bytes valueEnd stops at inside an object or array.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// valueEnd returns the index just past the value that starts at i.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			c := b[i]
			if !structural[c] {
				i++
				continue
			}
			switch c {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
			i++
		}
		return i
	}
}

// valueType names the JSON type of the value starting with c.
func valueType(c byte) jsonparser.ValueType {
	switch c {
	case '"':
		return jsonparser.String
	case '{':
		return jsonparser.Object
	case '[':
		return jsonparser.Array
	case 't', 'f':
		return jsonparser.Boolean
	case 'n':
		return jsonparser.Null
	}
	return jsonparser.Number
}

// eachMember calls fn for every member of the object that starts at i, with the key
// (unescaped when it has escapes, as every JSON reader compares keys) and the index of
// the value's first byte; fn returns the index just past the value (valueEnd, or its own
// walk of it). eachMember returns the index just past the object.
func eachMember(b []byte, i int, fn func(key []byte, vs int) (ve int)) int {
	i = skipSpace(b, i+1) // past '{'
	for i < len(b) && b[i] == '"' {
		ke := stringEnd(b, i)
		key := b[i+1 : ke-1]
		if bytes.IndexByte(key, '\\') >= 0 { // "event\u0049D" is eventID too
			if k, err := jsonparser.Unescape(key, nil); err == nil {
				key = k
			}
		}
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return len(b)
		}
		i = skipSpace(b, fn(key, skipSpace(b, i+1)))
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if i < len(b) && b[i] == '}' {
		i++
	}
	return i
}

// eachRecord calls fn with every element of the "Records" array of the object that
// starts at b[0] (the first such member), each read in one pass, and stops at fn's first
// error. Every element must be an object. An element over maxRecord bytes is handed over
// with its Raw and EventID only: its fields are not read, nor a synthetic id derived.
func eachRecord(b []byte, maxRecord int, fn func(n int, r Record) error) error {
	var err error
	found := false
	eachMember(b, 0, func(key []byte, vs int) int {
		if found || string(key) != "Records" {
			return valueEnd(b, vs)
		}
		found = true
		if b[vs] != '[' {
			err = reject("Records is not a JSON array")
			return len(b)
		}
		i := skipSpace(b, vs+1)
		for n := 0; i < len(b) && b[i] != ']'; n++ {
			if b[i] != '{' {
				err = reject("Records element %d is a JSON %s, not an object", n, valueType(b[i]))
				return len(b)
			}
			r, end := scanRecordWithin(b, i, maxRecord)
			if err = fn(n, r); err != nil {
				return len(b)
			}
			i = skipSpace(b, end)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
		return i + 1 // past ']'
	})
	if err == nil && !found {
		err = reject("Records is not a JSON array")
	}
	return err
}

// scanRecord reads a record's id, time and typed fields in one pass: the scanner's
// parseRecord.
func parseRecord(raw []byte) Record {
	r, _ := scanRecordAt(raw, skipSpace(raw, 0))
	return r
}

// fieldNode is a member the scanner reads: a field (idx >= 0) or an object on the way to
// some (members).
type fieldNode struct {
	key     string
	idx     int
	members []fieldNode
	base    int // bit of members[0] in fieldScan.seen (set by init)
}

// The fields a scan reads. The first numFields are behind the typed columns of
// event_rows, numbered as queries/insert_events.sql reads them (its json_extract_string
// paths, in that order); the last three give the record's id and time.
const (
	numFields = 22
	fieldID   = numFields + iota - 1
	fieldTime
	fieldStamp
	numSpans
)

// recordFields is the tree of members a scan reads.
var recordFields = []fieldNode{
	{key: "eventID", idx: fieldID},
	{key: "eventTime", idx: fieldTime},
	{key: "@timestamp", idx: fieldStamp}, // Logstash-style exports carry it instead of eventTime
	{key: "eventSource", idx: 0},
	{key: "eventName", idx: 1},
	{key: "awsRegion", idx: 2},
	{key: "sourceIPAddress", idx: 3},
	{key: "userAgent", idx: 4},
	{key: "userIdentity", idx: -1, members: []fieldNode{
		{key: "type", idx: 5},
		{key: "principalId", idx: 6},
		{key: "arn", idx: 7},
		{key: "accountId", idx: 8},
		{key: "accessKeyId", idx: 9},
		{key: "userName", idx: 10},
		{key: "sessionContext", idx: -1, members: []fieldNode{
			{key: "sessionIssuer", idx: -1, members: []fieldNode{{key: "arn", idx: 11}}},
		}},
	}},
	{key: "errorCode", idx: 12},
	{key: "errorMessage", idx: 13},
	{key: "readOnly", idx: 14},
	{key: "eventType", idx: 15},
	{key: "eventCategory", idx: 16},
	{key: "recipientAccountId", idx: 17},
	{key: "eventVersion", idx: 18},
	{key: "responseElements", idx: -1, members: []fieldNode{
		{key: "credentials", idx: -1, members: []fieldNode{{key: "accessKeyId", idx: 19}}},
		{key: "accessKey", idx: -1, members: []fieldNode{{key: "accessKeyId", idx: 20}}},
	}},
	{key: "requestParameters", idx: -1, members: []fieldNode{{key: "roleArn", idx: 21}}},
}

// topFields finds a top-level member's node in recordFields (set by init).
var topFields = map[string]int{}

func init() {
	next := len(recordFields)
	var number func(nodes []fieldNode)
	number = func(nodes []fieldNode) {
		for i := range nodes {
			if nodes[i].members != nil {
				nodes[i].base = next
				next += len(nodes[i].members)
				number(nodes[i].members)
			}
		}
	}
	number(recordFields)
	for i, nd := range recordFields {
		topFields[nd.key] = i
	}
	if next > 64 {
		panic("recordFields: more members than fieldScan.seen has bits")
	}
}

// fieldSep separates the typed fields in Record.Fields (ASCII unit separator).
const fieldSep = '\x1f'

// fieldScan collects the fields of one record.
type fieldScan struct {
	b     []byte
	spans [numSpans][2]int // value spans; {0, 0} when absent
	seen  uint64           // a bit per member read: the first of duplicate keys wins, as in DuckDB
}

// walk reads the members named by nodes of the object at b[i] (whose first node has bit
// base), and returns the index just past the object.
func (f *fieldScan) walk(i int, nodes []fieldNode, base int) int {
	return eachMember(f.b, i, func(key []byte, vs int) int {
		n, ok := 0, false
		if base == 0 {
			n, ok = topFields[string(key)] // most keys of a record are not read
		} else {
			for n = range nodes {
				if ok = string(key) == nodes[n].key; ok {
					break
				}
			}
		}
		if bit := uint64(1) << (base + n); ok && f.seen&bit == 0 {
			nd := &nodes[n]
			f.seen |= bit
			if nd.members == nil {
				ve := valueEnd(f.b, vs)
				f.spans[nd.idx] = [2]int{vs, ve}
				return ve
			}
			if vs < len(f.b) && f.b[vs] == '{' {
				return f.walk(vs, nd.members, nd.base)
			}
		}
		return valueEnd(f.b, vs)
	})
}

// text renders field k as stringValue does ("" when absent).
func (f *fieldScan) text(k int) string { return scalarText(f.b[f.spans[k][0]:f.spans[k][1]]) }

// packed joins the typed fields for DuckDB's string_split, absent and null as "". It
// returns "" when a field is not a string or boolean, or holds the separator: DuckDB
// then reads that record's fields itself (insert_events.sql), so every record gets
// exactly what json_extract_string gives.
func (f *fieldScan) packed() string {
	var buf [512]byte
	out := buf[:0]
	for k, sp := range f.spans[:numFields] {
		if k > 0 {
			out = append(out, fieldSep)
		}
		v := f.b[sp[0]:sp[1]]
		if len(v) == 0 {
			continue
		}
		switch v[0] {
		case '"':
			v = v[1 : len(v)-1]
			if bytes.IndexByte(v, '\\') >= 0 {
				u, err := jsonparser.Unescape(v, nil)
				// Valid JSON has no raw control characters in strings: the separator
				// can only come from an escape.
				if err != nil || bytes.IndexByte(u, fieldSep) >= 0 {
					return ""
				}
				v = u
			}
		case 't', 'f': // true, false: as json_extract_string writes them
		case 'n':
			continue // null
		default: // a number, object or array
			return ""
		}
		out = append(out, v...)
	}
	return string(out)
}

// scanRecordAt reads the record (an object) that starts at b[i], and returns it and the
// index just past it.
func scanRecordAt(b []byte, i int) (Record, int) { return scanRecordWithin(b, i, 0) }

// scanRecordWithin is scanRecordAt for records up to max bytes (0: any): a larger one
// comes back with only its Raw and EventID.
func scanRecordWithin(b []byte, i, max int) (Record, int) {
	f := fieldScan{b: b}
	end := f.walk(i, recordFields, 0)
	if max > 0 && end-i > max {
		return Record{Raw: b[i:end], EventID: f.text(fieldID)}, end
	}
	r := Record{Raw: b[i:end], EventID: f.text(fieldID), Fields: f.packed()}
	t := f.text(fieldTime)
	if t == "" {
		t = f.text(fieldStamp)
	}
	r.Time = parseTime(t)
	if r.EventID == "" {
		r.EventID = syntheticID(r.Raw)
	}
	return r, end
}

// scalarText renders a raw JSON value as stringValue does.
func scalarText(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	t := valueType(v[0])
	if t == jsonparser.String {
		v = v[1 : len(v)-1]
	}
	return stringValue(v, t)
}
