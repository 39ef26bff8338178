package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// referenceFields reads the first eventID, eventTime and @timestamp members of a JSON
// object with encoding/json, rendered as the store renders them: strings unescaped,
// null as "", anything else as its JSON text.
func referenceFields(t testing.TB, obj []byte) (id, eventTime, stamp string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %q", obj)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		text := string(v)
		var s string
		switch {
		case text == "null":
			text = ""
		case json.Unmarshal(v, &s) == nil:
			text = s
		}
		switch key {
		case "eventID":
			id = text
		case "eventTime":
			eventTime = text
		case "@timestamp":
			stamp = text
		}
	}
	return id, eventTime, stamp
}

// checkScan compares the scanner with encoding/json on one valid JSON object.
func checkScan(t *testing.T, obj []byte) {
	t.Helper()
	id, eventTime, stamp := referenceFields(t, obj)
	r := parseRecord(obj)
	if eventTime == "" {
		eventTime = stamp
	}
	if id == "" {
		id = syntheticID(obj)
	}
	if r.EventID != id {
		t.Errorf("eventID of %.80q: got %q, want %q", obj, r.EventID, id)
	}
	if want := parseTime(eventTime); !r.Time.Equal(want) {
		t.Errorf("time of %.80q: got %v, want %v", obj, r.Time, want)
	}
}

// The scanner splits every real Records file exactly as encoding/json does, and reads
// the same id and time from each record.
func TestScanRecordsMatchesEncodingJSON(t *testing.T) {
	files := 0
	err := filepath.WalkDir(realdata, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".json.gz")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil // a corrupt sample: not this test's business
			}
			if data, err = io.ReadAll(zr); err != nil {
				return nil
			}
		}
		var want struct{ Records []json.RawMessage }
		if !isRecordsFile(data) || json.Unmarshal(data, &want) != nil || want.Records == nil {
			return nil
		}
		got, err := decodeRecords(data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if len(got.Records) != len(want.Records) {
			t.Errorf("%s: %d records, want %d", path, len(got.Records), len(want.Records))
			return nil
		}
		for i, r := range got.Records {
			if !bytes.Equal(r.Raw, want.Records[i]) {
				t.Errorf("%s: record %d is %.60q, want %.60q", path, i, r.Raw, want.Records[i])
				return nil
			}
			checkScan(t, r.Raw)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d Records files found under %s", files, realdata)
	}
}

func TestScanRecordEdgeCases(t *testing.T) {
	for _, obj := range []string{
		`{"eventID":"a","eventTime":"2024-01-02T03:04:05Z"}`,
		` { "eventTime" : "2024-01-02T03:04:05Z" , "eventID" : "b" } `,
		`{"requestParameters":{"eventID":"nested","s":"x\"}]{["},"eventID":"top"}`,
		`{"userAgent":"a\\","eventID":"after-escaped-backslash"}`,
		`{"eventID":"esc\"aped\u00e9","eventTime":null}`,
		`{"eventID":12345,"eventTime":1700000000}`,
		`{"eventID":null,"eventName":"X","@timestamp":"2025-03-26 16:43:57.000000000"}`,
		`{"eventID":"first","eventID":"second"}`,
		`{"a":[1,2,{"b":[]}],"c":true,"d":false,"e":-1.5e3,"eventID":"x"}`,
		`{"event\u0049D":"escaped-key","\u0065ventTime":"2024-01-02T03:04:05Z"}`,
		`{}`,
	} {
		checkScan(t, []byte(obj))
	}
}

func TestDecodeRecordsRejectsNonObjects(t *testing.T) {
	for doc, want := range map[string]string{
		`{"Records":[{"eventID":"a"}, 3]}`: "Records element 1 is a JSON number, not an object",
		`{"Records":{"eventID":"a"}}`:      "Records is not a JSON array",
	} {
		_, err := Decode([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v, want %q", doc, err, want)
		}
	}
}

// FuzzScanRecord: on any valid JSON object, the scanner agrees with encoding/json.
func FuzzScanRecord(f *testing.F) {
	f.Add([]byte(`{"eventID":"a","eventTime":"2024-01-02T03:04:05Z","x":{"y":["}",1]}}`))
	f.Add([]byte(`{"k\"":"v\\","eventID":"\u0041"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.TrimSpace(b)
		if len(b) == 0 || b[0] != '{' || !json.Valid(b) || !utf8.Valid(b) {
			return // Decode makes its input valid UTF-8 before anything reads it
		}
		checkScan(t, b)
		doc := append(append([]byte(`{"Records":[`), b...), []byte(`, `+string(b)+`]}`)...)
		d, err := decodeRecords(doc)
		if err != nil || len(d.Records) != 2 || !bytes.Equal(d.Records[0].Raw, b) || !bytes.Equal(d.Records[1].Raw, b) {
			t.Fatalf("decodeRecords(%q) = %d records, %v", doc, len(d.Records), err)
		}
	})
}

// BenchmarkDecodeRecords: splitting a real delivery file and reading each record's id
// and time (the decoder's share of an ingest, with gunzip and validation).
func BenchmarkDecodeRecords(b *testing.B) {
	dir := realdata + "/invictus-ir-aws-dataset/CloudTrail"
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var docs [][]byte
	size := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !isRecordsFile(data) {
			continue
		}
		docs = append(docs, data)
		size += len(data)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		for _, doc := range docs {
			if _, err := decodeRecords(doc); err != nil {
				b.Fatal(err)
			}
		}
	}
}
