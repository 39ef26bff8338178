package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/buger/jsonparser"
	"github.com/minio/simdjson-go"
)

// Shape names the container a CloudTrail object came in.
type Shape string

// The shapes Decode recognises.
const (
	ShapeRecords Shape = "records"       // S3 delivery file {"Records":[...]}
	ShapeArray   Shape = "array"         // a JSON array of events
	ShapeObject  Shape = "object"        // a single event object
	ShapeJSONL   Shape = "jsonl"         // one event (or lookup-events item) per line
	ShapeLookup  Shape = "lookup-events" // aws cloudtrail lookup-events output {"Events":[...]}
	ShapeDigest  Shape = "digest"        // a CloudTrail-Digest file
)

// Decoded is what one object holds.
type Decoded struct {
	Shape   Shape
	Records []Record
	Digest  *Digest
}

// Digest is a CloudTrail-Digest file, kept whole for integrity validation.
type Digest struct {
	AccountID  string
	Start, End time.Time
	S3Bucket   string
	S3Object   string
	LogFiles   int
	Content    []byte
}

// RejectError says why an object holds no CloudTrail data trailhound can read.
type RejectError struct{ Reason string }

func (e *RejectError) Error() string { return e.Reason }

func reject(format string, args ...any) error {
	return &RejectError{Reason: fmt.Sprintf(format, args...)}
}

// Decode recognises the shape of one decompressed object and returns its records.
// Malformed JSON, JSON that is not CloudTrail, and non-JSON input give a *RejectError;
// nothing is returned from a rejected object.
//
// Text in the store must be UTF-8: invalid byte sequences (attacker-controlled fields can
// carry them) become U+FFFD. source_files keeps the SHA-256 of the original bytes.
func Decode(data []byte) (Decoded, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	if !utf8.Valid(data) {
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	body := bytes.TrimSpace(data)
	if len(body) == 0 {
		return Decoded{}, reject("empty file")
	}
	if body[0] != '{' && body[0] != '[' {
		return Decoded{}, reject("not JSON (starts with %s)", snippet(body))
	}
	if body, ok := checkJSON(body); ok {
		if body[0] == '[' {
			return decodeArray(body)
		}
		return decodeObject(body)
	}
	// Not one JSON value: JSON Lines, when the first line is a whole value by itself.
	if first, _, _ := bytes.Cut(body, []byte("\n")); body[0] == '{' && json.Valid(first) {
		return decodeJSONL(body)
	}
	return Decoded{}, malformed(body)
}

// parsers reuses simdjson's buffers across objects.
var parsers = sync.Pool{New: func() any { return (*simdjson.ParsedJson)(nil) }}

// validJSON reports whether b is one valid JSON document. It uses simdjson-go (several
// times faster than encoding/json on CloudTrail files) where the CPU supports it.
func validJSON(b []byte) bool {
	if !simdjson.SupportedCPU() {
		return json.Valid(b)
	}
	pj, _ := parsers.Get().(*simdjson.ParsedJson)
	pj, err := simdjson.Parse(b, pj, simdjson.WithCopyStrings(false))
	if pj != nil {
		parsers.Put(pj)
	}
	return err == nil // like json.Valid, simdjson rejects a stream of several documents
}

// checkJSON reports whether doc is one valid JSON document, repairing what the grammar
// allows but DuckDB's JSON functions refuse (lone surrogate escapes), so that one
// record cannot make every JSON query on the store fail.
func checkJSON(doc []byte) ([]byte, bool) {
	if validJSON(doc) {
		return doc, true
	}
	if !json.Valid(doc) {
		return doc, false
	}
	if fixed := repairSurrogates(doc); fixed != nil {
		return fixed, true
	}
	return doc, true // encoding/json has the last word
}

// repairSurrogates rewrites lone UTF-16 surrogate escapes (\ud800 without its pair),
// which the JSON grammar allows but DuckDB's JSON functions reject, as \ufffd. It
// returns nil when there is nothing to repair.
func repairSurrogates(b []byte) []byte {
	var out []byte
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' && i+5 < len(b) {
				r := hex4(b[i+2 : i+6])
				paired := r >= 0xd800 && r < 0xdc00 && i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' &&
					hex4(b[i+8:i+12]) >= 0xdc00 && hex4(b[i+8:i+12]) < 0xe000
				switch {
				case paired:
					i += 11
					continue
				case r >= 0xd800 && r < 0xe000:
					if out == nil {
						out = bytes.Clone(b)
					}
					copy(out[i+2:i+6], "fffd")
				}
				i += 5
				continue
			}
			i++ // skip the escaped character
		}
	}
	return out
}

func hex4(h []byte) int {
	n := 0
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return n
}

// decodeObject handles a document that is one JSON object.
func decodeObject(obj []byte) (Decoded, error) {
	if isRecordsFile(obj) {
		return decodeRecords(obj) // the S3 delivery file, without a classifying pass
	}
	k := classify(obj)
	switch {
	case k.records:
		return decodeRecords(obj)
	case k.lookupList:
		d := Decoded{Shape: ShapeLookup}
		if err := eachElement(obj, func(i int, el []byte) error {
			r, err := lookupRecord(el)
			if err != nil {
				return reject("Events[%d]: %v", i, err)
			}
			d.Records = append(d.Records, r)
			return nil
		}, "Events"); err != nil {
			return Decoded{}, err
		}
		return d, nil
	case k.lookupEvent:
		r, err := lookupRecord(obj)
		if err != nil {
			return Decoded{}, reject("%v", err)
		}
		return Decoded{Shape: ShapeLookup, Records: []Record{r}}, nil
	case k.digest:
		return Decoded{Shape: ShapeDigest, Digest: parseDigest(obj)}, nil
	case k.event:
		return Decoded{Shape: ShapeObject, Records: []Record{parseRecord(obj)}}, nil
	}
	return Decoded{}, reject("JSON object is not CloudTrail (top-level keys: %s)", k.keyList())
}

// isRecordsFile recognises an S3 delivery file by its first key, as CloudTrail writes it.
func isRecordsFile(obj []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(obj[1:], " \t\r\n"), []byte(`"Records"`))
}

// decodeRecords reads {"Records":[...]}: every element is taken as an event, each read
// once by the scanner (scan.go), which splits it off and reads its id and time together.
func decodeRecords(obj []byte) (Decoded, error) {
	d := Decoded{Shape: ShapeRecords}
	if err := eachRecord(obj, func(r Record) { d.Records = append(d.Records, r) }); err != nil {
		return Decoded{}, err
	}
	return d, nil
}

// decodeArray handles a JSON array of events (or of lookup-events items).
func decodeArray(arr []byte) (Decoded, error) {
	d := Decoded{Shape: ShapeArray}
	err := eachElement(arr, func(i int, el []byte) error {
		k := classify(el)
		switch {
		case k.event:
			d.Records = append(d.Records, parseRecord(el))
		case k.lookupEvent:
			r, err := lookupRecord(el)
			if err != nil {
				return reject("element %d: %v", i, err)
			}
			d.Records = append(d.Records, r)
		default:
			return reject("element %d of the JSON array is not a CloudTrail event (keys: %s)", i, k.keyList())
		}
		return nil
	})
	if err != nil {
		return Decoded{}, err
	}
	return d, nil
}

// decodeJSONL handles one JSON value per line: events or lookup-events items.
func decodeJSONL(body []byte) (Decoded, error) {
	d := Decoded{Shape: ShapeJSONL}
	line := 0
	for rest := body; len(rest) > 0; {
		var ln []byte
		ln, rest, _ = bytes.Cut(rest, []byte("\n"))
		line++
		ln = bytes.TrimSpace(ln)
		if len(ln) == 0 {
			continue
		}
		ln, ok := checkJSON(ln)
		if !ok {
			return Decoded{}, malformedLine(ln, line)
		}
		if ln[0] != '{' {
			return Decoded{}, reject("line %d is a JSON value that is not an object", line)
		}
		k := classify(ln)
		switch {
		case k.event:
			d.Records = append(d.Records, parseRecord(ln))
		case k.lookupEvent:
			r, err := lookupRecord(ln)
			if err != nil {
				return Decoded{}, reject("line %d: %v", line, err)
			}
			d.Records = append(d.Records, r)
		default:
			return Decoded{}, reject("line %d is not a CloudTrail event (keys: %s)", line, k.keyList())
		}
	}
	return d, nil
}

// lookupRecord unwraps one LookupEvents item: the event is a JSON string in CloudTrailEvent.
func lookupRecord(item []byte) (Record, error) {
	v, typ, _, err := jsonparser.Get(item, "CloudTrailEvent")
	if err != nil || typ != jsonparser.String {
		return Record{}, errors.New("CloudTrailEvent is missing or not a string")
	}
	inner, err := jsonparser.Unescape(v, nil)
	if err != nil {
		return Record{}, fmt.Errorf("CloudTrailEvent: %v", err)
	}
	inner = bytes.TrimSpace(inner)
	if !json.Valid(inner) || len(inner) == 0 || inner[0] != '{' {
		return Record{}, errors.New("CloudTrailEvent is not a JSON object")
	}
	return parseRecord(inner), nil
}

func parseDigest(obj []byte) *Digest {
	d := &Digest{Content: obj}
	get := func(key string) string {
		v, typ, _, _ := jsonparser.Get(obj, key)
		return stringValue(v, typ)
	}
	d.AccountID = get("awsAccountId")
	d.Start = parseTime(get("digestStartTime"))
	d.End = parseTime(get("digestEndTime"))
	d.S3Bucket = get("digestS3Bucket")
	d.S3Object = get("digestS3Object")
	if v, typ, _, err := jsonparser.Get(obj, "logFiles"); err == nil && typ == jsonparser.Array {
		jsonparser.ArrayEach(v, func([]byte, jsonparser.ValueType, int, error) { d.LogFiles++ })
	}
	return d
}

// eachElement calls fn for every element of a (valid) JSON array, or of the array at
// keys inside an object, stopping at the first error. Every element must be an object.
func eachElement(doc []byte, fn func(i int, el []byte) error, keys ...string) error {
	where := "element"
	if len(keys) > 0 {
		where = keys[0] + " element"
	}
	var ferr error
	i := 0
	_, err := jsonparser.ArrayEach(doc, func(el []byte, typ jsonparser.ValueType, _ int, _ error) {
		if ferr != nil {
			return
		}
		if typ != jsonparser.Object {
			ferr = reject("%s %d is a JSON %s, not an object", where, i, typ)
			return
		}
		ferr = fn(i, el)
		i++
	}, keys...)
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return reject("read %s array: %v", where, err)
	}
	return nil
}

// keys records which top-level keys an object has.
type keys struct {
	records, lookupList, lookupEvent, digest, event bool
	names                                           []string
}

func (k keys) keyList() string {
	if len(k.names) == 0 {
		return "none"
	}
	out := ""
	for i, n := range k.names {
		if i == 6 {
			out += ", …"
			break
		}
		if i > 0 {
			out += ", "
		}
		out += strconv.QuoteToASCII(n)
	}
	return out
}

func classify(obj []byte) keys {
	var k keys
	var has struct {
		version, time, name, source, id, identity, records, events, ctEvent, digestStart, logFiles bool
		context                                                                                    bool // another CloudTrail record field
	}
	jsonparser.ObjectEach(obj, func(key, val []byte, typ jsonparser.ValueType, _ int) error {
		if len(k.names) < 8 {
			k.names = append(k.names, string(key))
		}
		switch string(key) {
		case "eventVersion":
			has.version = true
		case "eventTime", "@timestamp":
			has.time = true
		case "eventName":
			has.name = true
		case "eventSource":
			has.source = true
		case "eventID":
			has.id = true
		case "userIdentity":
			has.identity = true
		case "awsRegion", "eventType", "sourceIPAddress", "recipientAccountId", "requestParameters",
			"responseElements", "userAgent", "errorCode", "additionalEventData", "managementEvent", "readOnly":
			has.context = true
		case "Records":
			has.records = typ == jsonparser.Array
		case "Events":
			has.events = typ == jsonparser.Array
		case "CloudTrailEvent":
			has.ctEvent = true
		case "digestStartTime":
			has.digestStart = true
		case "logFiles":
			has.logFiles = true
		}
		return nil
	})
	k.records = has.records
	k.lookupList = has.events
	k.lookupEvent = has.ctEvent
	k.digest = has.digestStart && has.logFiles
	k.event = has.version || (has.time && (has.name || has.source || has.id || has.identity)) ||
		(has.id && (has.name || has.source)) || (has.name && (has.identity || has.context))
	return k
}

// malformed describes the first syntax error of doc, with its line and column.
func malformed(doc []byte) error {
	var v json.RawMessage
	err := json.Unmarshal(doc, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(doc, int(se.Offset))
		return reject("malformed JSON at line %d, column %d: %v", line, col, se)
	}
	if err != nil {
		return reject("malformed JSON: %v", err)
	}
	return reject("malformed JSON")
}

func malformedLine(ln []byte, line int) error {
	var v json.RawMessage
	err := json.Unmarshal(ln, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return reject("malformed JSON at line %d, column %d: %v", line, se.Offset, se)
	}
	return reject("malformed JSON at line %d: %v", line, err)
}

func lineCol(doc []byte, off int) (int, int) {
	if off > len(doc) {
		off = len(doc)
	}
	before := doc[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - bytes.LastIndexByte(before, '\n')
	return line, col
}

// snippet quotes the start of untrusted input safely for a terminal.
func snippet(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return strconv.QuoteToASCII(string(b))
}
