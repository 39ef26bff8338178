package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/buger/jsonparser"
	"github.com/minio/simdjson-go"

	"github.com/trailhound/trailhound/queries"
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
	// Bad are the parts of the object that were not kept while the rest was: lines of a
	// JSON Lines file that are not a whole event (an export cut off mid-line), records
	// over the per-record limit. An object with nothing else is rejected whole instead.
	Bad []BadRecord
	// mem is what the records take beyond the object's content (the record list, typed
	// fields, ids; a repaired copy of the content), for the memory budget.
	mem int64
}

// BadRecord is one part of an object that could not be stored, and why.
type BadRecord struct {
	Line   int    // the line of a JSON Lines file (1-based); 0 for other shapes
	Reason string // terminal-safe
}

// DefaultMaxRecord is the largest record stored (raise it with --max-record). It comes
// from measurement: at the ingest's 256 MB DuckDB memory limit, a record with one 64 MiB
// string failed to commit (DuckDB holds it several times over: staged, split into its
// typed columns, inserted), 56 MiB passed alone and 48 MiB within a batch of 300,000
// events, at a peak RSS of 1.0 GB; 16 MiB left the peak RSS of that batch unchanged. Real
// CloudTrail records are far smaller: requestParameters and responseElements are capped
// at about 100 KB each, and CloudTrail replaces larger ones with a marker.
const DefaultMaxRecord = 16 << 20

// Limits bound what decoding one object may keep.
type Limits struct {
	MaxRecord int // the largest record kept, in bytes; 0 = DefaultMaxRecord
	// Memory bounds what the decoded records add to the object's content (the record
	// list and each record's typed fields); 0 = unbounded. Past it, decoding stops with
	// errDecodeMemory.
	Memory int64
}

// errDecodeMemory means the records of an object need more memory than was reserved.
var errDecodeMemory = errors.New("decoding needs more memory than reserved for it")

// recordSize is what one Record costs beyond its typed fields and id: the struct in the
// record list.
const recordSize = int64(unsafe.Sizeof(Record{}))

// decoder collects one object's records within its limits.
type decoder struct {
	lim  Limits
	d    Decoded
	used int64
}

// grow accounts n more bytes of decoding memory.
func (dc *decoder) grow(n int64) error {
	dc.used += n
	if dc.lim.Memory > 0 && dc.used+int64(cap(dc.d.Records))*recordSize > dc.lim.Memory {
		return errDecodeMemory
	}
	return nil
}

// keep adds a record, or a BadRecord when it is over the per-record limit. where names
// the record in a reason ("record 3", "line 12").
func (dc *decoder) keep(r Record, where string, line int) error {
	if len(r.Raw) > dc.lim.MaxRecord {
		dc.tooLarge(len(r.Raw), r.EventID, where, line)
		return nil
	}
	r.Hash = recordHash(r.Raw)
	dc.d.Records = append(dc.d.Records, r)
	return dc.grow(int64(len(r.Fields) + len(r.EventID)))
}

// tooLarge records a record over the per-record limit.
func (dc *decoder) tooLarge(size int, id, where string, line int) {
	if id != "" {
		if len(id) > 80 {
			id = id[:80] + "…"
		}
		where += " (eventID " + strconv.Quote(id) + ")"
	}
	dc.bad(line, fmt.Sprintf("%s is %s, over the %s limit for one record: not stored; raise --max-record to store it",
		where, mib(int64(size)), mib(int64(dc.lim.MaxRecord))))
}

func (dc *decoder) bad(line int, reason string) {
	dc.d.Bad = append(dc.d.Bad, BadRecord{Line: line, Reason: queries.DisplayText(reason)})
}

// result is the decoded object; one with bad parts only is rejected whole.
func (dc *decoder) result() (Decoded, error) {
	dc.d.mem = dc.used + int64(cap(dc.d.Records))*recordSize
	if len(dc.d.Records) == 0 && dc.d.Digest == nil && len(dc.d.Bad) > 0 {
		reason := dc.d.Bad[0].Reason
		if dc.d.Bad[0].Line > 0 && !strings.HasPrefix(reason, "line ") {
			reason = fmt.Sprintf("line %d: %s", dc.d.Bad[0].Line, reason)
		}
		if n := len(dc.d.Bad) - 1; n > 0 {
			reason += fmt.Sprintf(" (and %d more like it)", n)
		}
		return Decoded{}, &RejectError{Reason: reason}
	}
	return dc.d, nil
}

// mib renders a size in MiB for a reason.
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
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
type RejectError struct {
	Reason  string
	notJSON bool // the content is not JSON at all (notJSONError)
}

func (e *RejectError) Error() string { return e.Reason }

// reject makes a RejectError; its reason is made terminal-safe here, so no reason
// (printed, or stored in ingest_errors) can carry input bytes that drive a terminal.
func reject(format string, args ...any) error {
	return &RejectError{Reason: queries.DisplayText(fmt.Sprintf(format, args...))}
}

// Decode recognises the shape of one decompressed object and returns its records, within
// the default limits.
func Decode(data []byte) (Decoded, error) { return DecodeWithin(data, Limits{}) }

// DecodeWithin recognises the shape of one decompressed object and returns its records.
// Malformed JSON, JSON that is not CloudTrail, and non-JSON input give a *RejectError;
// nothing is returned from a rejected object. The exceptions are kept in Decoded.Bad
// while the rest is returned: a JSON Lines file's lines that are not whole events, and
// records over lim.MaxRecord.
//
// Text in the store must be UTF-8: invalid byte sequences (attacker-controlled fields can
// carry them) become U+FFFD. source_files keeps the SHA-256 of the original bytes.
func DecodeWithin(data []byte, lim Limits) (Decoded, error) {
	if lim.MaxRecord <= 0 {
		lim.MaxRecord = DefaultMaxRecord
	}
	dc := &decoder{lim: lim}
	if !looksLikeJSON(data) {
		return Decoded{}, notJSONError(data, false)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	owned := false
	if !utf8.Valid(data) {
		if err := dc.grow(int64(len(data))); err != nil {
			return Decoded{}, err
		}
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
		owned = true
	}
	body := bytes.TrimSpace(data)
	if len(body) == 0 {
		return Decoded{}, reject("empty file")
	}
	tape := decodeOverhead(int64(len(body)))
	if err := dc.grow(tape); err != nil {
		return Decoded{}, err
	}
	body, ok := checkJSONIn(body, owned)
	dc.used -= tape // the parser's tape is back in its pool
	var err error
	if ok {
		if body[0] == '[' {
			err = dc.array(body)
		} else {
			err = dc.object(body)
		}
	} else if jsonLines(body) {
		err = dc.jsonl(body)
	} else {
		err = malformed(body)
	}
	if err != nil {
		return Decoded{}, err
	}
	return dc.result()
}

// jsonLines reports whether a document that is not one JSON value is JSON Lines: its first
// line is a whole JSON object, or (an export cut at its start) its second line is.
func jsonLines(body []byte) bool {
	if body[0] != '{' {
		return false
	}
	first, rest, _ := bytes.Cut(body, []byte("\n"))
	if json.Valid(first) {
		return true
	}
	second, _, _ := bytes.Cut(bytes.TrimLeft(rest, " \t\r\n"), []byte("\n"))
	second = bytes.TrimSpace(second)
	return len(second) > 0 && second[0] == '{' && json.Valid(second)
}

// parsers reuses simdjson's buffers across objects.
var parsers = sync.Pool{New: func() any { return (*simdjson.ParsedJson)(nil) }}

// simdjsonMax is the largest document validated with simdjson: its parse keeps a tape
// about the size of the document (measured: 103 MB allocated for an 80 MB file), which
// the pool would then keep too. Larger documents (rare) go to encoding/json, which
// allocates nothing and was 2-3 times slower on a 39 MB file.
const simdjsonMax = 16 << 20

// validJSON reports whether b is one valid JSON document. It uses simdjson-go (several
// times faster than encoding/json on CloudTrail files) where the CPU supports it.
func validJSON(b []byte) bool {
	if !simdjson.SupportedCPU() || len(b) > simdjsonMax {
		return json.Valid(b)
	}
	pj, _ := parsers.Get().(*simdjson.ParsedJson)
	pj, err := simdjson.Parse(b, pj, simdjson.WithCopyStrings(false))
	if pj != nil {
		parsers.Put(pj)
	}
	return err == nil // like json.Valid, simdjson rejects a stream of several documents
}

// decodeOverhead is what checkJSON may allocate for doc, for the memory budget.
func decodeOverhead(n int64) int64 {
	if n <= simdjsonMax && simdjson.SupportedCPU() {
		return n + n/2 // simdjson's tape
	}
	return 0
}

// checkJSON reports whether doc is one valid JSON document, repairing what the grammar
// allows but DuckDB's JSON functions refuse (lone surrogate escapes), so that one
// record cannot make every JSON query on the store fail.
func checkJSON(doc []byte) ([]byte, bool) { return checkJSONIn(doc, false) }

// checkJSONIn is checkJSON; with owned, doc is the decoder's own copy and is repaired in
// place rather than copied again.
func checkJSONIn(doc []byte, owned bool) ([]byte, bool) {
	if validJSON(doc) {
		return doc, true
	}
	if !json.Valid(doc) {
		return doc, false
	}
	if fixed := repairSurrogatesIn(doc, owned); fixed != nil {
		return fixed, true
	}
	return doc, true // encoding/json has the last word
}

// repairSurrogates rewrites lone UTF-16 surrogate escapes (\ud800 without its pair),
// which the JSON grammar allows but DuckDB's JSON functions reject, as \ufffd. It
// returns nil when there is nothing to repair.
func repairSurrogates(b []byte) []byte { return repairSurrogatesIn(b, false) }

// repairSurrogatesIn is repairSurrogates; with inPlace, b itself is repaired (and returned).
func repairSurrogatesIn(b []byte, inPlace bool) []byte {
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
					if out == nil && inPlace {
						out = b
					} else if out == nil {
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

// object handles a document that is one JSON object.
func (dc *decoder) object(obj []byte) error {
	if isRecordsFile(obj) {
		return dc.records(obj) // the S3 delivery file, without a classifying pass
	}
	k := classify(obj)
	switch {
	case k.records:
		return dc.records(obj)
	case k.lookupList:
		dc.d.Shape = ShapeLookup
		return eachElement(obj, func(i int, el []byte) error {
			return dc.lookup(el, fmt.Sprintf("Events[%d]", i), 0)
		}, "Events")
	case k.lookupEvent:
		dc.d.Shape = ShapeLookup
		return dc.lookup(obj, "the event", 0)
	case k.digest:
		dc.d.Shape, dc.d.Digest = ShapeDigest, parseDigest(obj)
		return nil
	case k.event:
		dc.d.Shape = ShapeObject
		return dc.event(obj, "the event", 0)
	}
	return reject("JSON object is not CloudTrail (top-level keys: %s)", k.keyList())
}

// isRecordsFile recognises an S3 delivery file by its first key, as CloudTrail writes it.
func isRecordsFile(obj []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(obj[1:], " \t\r\n"), []byte(`"Records"`))
}

// records reads {"Records":[...]}: every element is taken as an event, each read once by
// the scanner (scan.go), which splits it off and reads its id and time together.
func (dc *decoder) records(obj []byte) error {
	dc.d.Shape = ShapeRecords
	return eachRecord(obj, dc.lim.MaxRecord, func(n int, r Record) error {
		return dc.keep(r, fmt.Sprintf("Records element %d", n), 0)
	})
}

// decodeRecords reads a {"Records":[...]} document within the default limits.
func decodeRecords(obj []byte) (Decoded, error) {
	dc := &decoder{lim: Limits{MaxRecord: DefaultMaxRecord}}
	if err := dc.records(obj); err != nil {
		return Decoded{}, err
	}
	return dc.result()
}

// event keeps one event object; one over the limit is not parsed.
func (dc *decoder) event(raw []byte, where string, line int) error {
	if len(raw) > dc.lim.MaxRecord {
		dc.tooLarge(len(raw), eventIDOf(raw), where, line)
		return nil
	}
	return dc.keep(parseRecord(raw), where, line)
}

// lookup keeps one LookupEvents item, whose event is a JSON string in CloudTrailEvent.
func (dc *decoder) lookup(item []byte, where string, line int) error {
	if len(item) > dc.lim.MaxRecord {
		dc.tooLarge(len(item), "", where, line)
		return nil
	}
	r, err := lookupRecord(item)
	if err != nil {
		return reject("%s: %v", where, err)
	}
	return dc.keep(r, where, line)
}

// array handles a JSON array of events (or of lookup-events items).
func (dc *decoder) array(arr []byte) error {
	dc.d.Shape = ShapeArray
	return eachElement(arr, func(i int, el []byte) error {
		k := classify(el)
		where := fmt.Sprintf("element %d", i)
		switch {
		case k.event:
			return dc.event(el, where, 0)
		case k.lookupEvent:
			return dc.lookup(el, where, 0)
		}
		return reject("element %d of the JSON array is not a CloudTrail event (keys: %s)", i, k.keyList())
	})
}

// jsonl handles one JSON value per line: events or lookup-events items. A line that is not
// a whole event (cut off, malformed, or another kind of JSON) is kept as a BadRecord and
// the other lines are read.
func (dc *decoder) jsonl(body []byte) error {
	dc.d.Shape = ShapeJSONL
	line := 0
	for rest := body; len(rest) > 0; {
		var ln []byte
		ln, rest, _ = bytes.Cut(rest, []byte("\n"))
		line++
		ln = bytes.TrimSpace(ln)
		if len(ln) == 0 {
			continue
		}
		where := fmt.Sprintf("line %d", line)
		if len(ln) > dc.lim.MaxRecord {
			dc.tooLarge(len(ln), eventIDOf(ln), where, line)
			continue
		}
		ln, ok := checkJSON(ln)
		switch {
		case !ok:
			dc.bad(line, malformedLine(ln, line, len(bytes.TrimSpace(rest)) == 0).Error())
			continue
		case ln[0] != '{':
			dc.bad(line, fmt.Sprintf("line %d is a JSON value that is not an object", line))
			continue
		}
		k := classify(ln)
		var err error
		switch {
		case k.event:
			err = dc.keep(parseRecord(ln), where, line)
		case k.lookupEvent:
			r, lerr := lookupRecord(ln)
			if lerr != nil {
				dc.bad(line, fmt.Sprintf("line %d: %v", line, lerr))
				continue
			}
			err = dc.keep(r, where, line)
		default:
			dc.bad(line, fmt.Sprintf("line %d is not a CloudTrail event (keys: %s)", line, k.keyList()))
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// eventIDOf is the eventID of a record, for naming one that is not parsed.
func eventIDOf(raw []byte) string {
	v, typ, _, err := jsonparser.Get(raw, "eventID")
	if err != nil {
		return ""
	}
	return stringValue(v, typ)
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

func malformedLine(ln []byte, line int, last bool) error {
	var v json.RawMessage
	err := json.Unmarshal(ln, &v)
	var se *json.SyntaxError
	cut := ""
	if last && err != nil && strings.Contains(err.Error(), "unexpected end of JSON input") {
		cut = " (the file ends mid-record: cut off?)"
	}
	if errors.As(err, &se) {
		return reject("malformed JSON at line %d, column %d: %v%s", line, se.Offset, se, cut)
	}
	return reject("malformed JSON at line %d: %v%s", line, err, cut)
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

// snippet quotes the start of untrusted text safely for a terminal.
func snippet(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
		for len(b) > 0 && !utf8.Valid(b) && len(b) > 36 { // do not cut a character in two
			b = b[:len(b)-1]
		}
	}
	return `"` + queries.DisplayText(string(b)) + `"`
}
