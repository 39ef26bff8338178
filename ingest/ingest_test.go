package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailhound/trailhound/queries"
)

func openStore(t *testing.T) *queries.Store {
	t.Helper()
	st, err := queries.Open(t.Context(), filepath.Join(t.TempDir(), "case.duckdb"), queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func run(t *testing.T, ctx context.Context, st *queries.Store, src Source, opts Options) (Summary, error) {
	t.Helper()
	return Run(ctx, st, src, opts, slog.New(slog.DiscardHandler))
}

func count(t *testing.T, st *queries.Store, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := st.DB.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestSANSDuplicates: 30,477 records in 3,872 S3 delivery files, 23,981 distinct events;
// re-ingesting adds nothing.
func TestSANSDuplicates(t *testing.T) {
	st := openStore(t)
	src := Files{Paths: []string{realdata + "/sans-504-s3-ransomware-lab"}}
	sum, err := run(t, t.Context(), st, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.FilesRead != 3872 || sum.Records != 30477 || sum.EventsNew != 23981 || sum.EventsPresent != 30477-23981 {
		t.Errorf("summary = %+v", sum)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != 23981 {
		t.Errorf("events = %d, want 23981", n)
	}
	if n := count(t, st, "SELECT count(DISTINCT event_id) FROM events"); n != 23981 {
		t.Errorf("distinct event ids = %d", n)
	}
	// Provenance: every delivery of every event is kept.
	if n := count(t, st, "SELECT count(*) FROM event_sources"); n != 30477 {
		t.Errorf("event_sources = %d, want 30477", n)
	}
	if n := count(t, st, "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_sources s WHERE s.event_id = e.event_id)"); n != 0 {
		t.Errorf("%d events without a source", n)
	}
	again, err := run(t, t.Context(), st, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.EventsNew != 0 || again.FilesSkipped != 3872 || again.EventsPresent != 30477 {
		t.Errorf("re-ingest summary = %+v", again)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != 23981 {
		t.Errorf("events after re-ingest = %d", n)
	}
	if n := count(t, st, "SELECT count(*) FROM event_sources"); n != 30477 {
		t.Errorf("event_sources after re-ingest = %d", n)
	}
	if n := count(t, st, "SELECT count(*) FROM ingest_runs WHERE finished_at IS NOT NULL"); n != 2 {
		t.Errorf("finished runs = %d", n)
	}
}

// TestRealdataManifest ingests the whole shared corpus and checks every file against
// MANIFEST.tsv, whose event counts were made with Python's json module.
func TestRealdataManifest(t *testing.T) {
	st := openStore(t)
	sum, err := run(t, t.Context(), st, Files{Paths: []string{realdata}}, Options{})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want ErrPartial (the corpus has bad files on purpose)", err)
	}
	rejected := map[string]string{}
	for _, r := range sum.Rejected {
		rel, _ := filepath.Rel(mustAbs(t, realdata), r.URI)
		rejected[rel] = r.Reason
	}
	stored := map[string]int64{}
	rows, err := st.DB.QueryContext(t.Context(), "SELECT uri, records, shape FROM source_files")
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string]string{}
	for rows.Next() {
		var uri, shape string
		var n int64
		if err := rows.Scan(&uri, &n, &shape); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(mustAbs(t, realdata), uri)
		stored[rel] = n
		shapes[rel] = shape
	}
	rows.Close()

	f, err := os.Open(realdata + "/MANIFEST.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var wantRecords int64
	files := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		path, format := cols[0], cols[2]
		events, _ := strconv.ParseInt(cols[3], 10, 64)
		files++
		switch {
		case path == "aws-cloudtrail-processing-library-fixtures/SQSMessageBody.json":
			// An SNS notification envelope: the manifest counts it as an object, but it is not CloudTrail.
			if !strings.Contains(rejected[path], "not CloudTrail") {
				t.Errorf("%s: want rejected as not CloudTrail, got %q", path, rejected[path])
			}
		case format == "malformed" || format == "metadata" || format == "csv-not-cloudtrail-json":
			if rejected[path] == "" {
				t.Errorf("%s (%s) was not rejected", path, format)
			}
		case format == "digest":
			if shapes[path] != string(ShapeDigest) || stored[path] != 0 {
				t.Errorf("%s: shape %q records %d, want a digest with no events", path, shapes[path], stored[path])
			}
		default:
			n, ok := stored[path]
			if !ok {
				t.Errorf("%s (%s, %d events) not stored: %s", path, format, events, rejected[path])
				continue
			}
			if n != events {
				t.Errorf("%s: %d records, manifest says %d", path, n, events)
			}
			wantRecords += events
		}
	}
	if sum.Records != wantRecords {
		t.Errorf("records read = %d, manifest says %d", sum.Records, wantRecords)
	}
	// Everything in the directory that is not in the manifest (README, MANIFEST) is rejected too.
	if got := sum.FilesRead + len(sum.Rejected); got != files+2 {
		t.Errorf("inputs seen = %d, want %d", got, files+2)
	}
	if n := count(t, st, "SELECT count(*) FROM ingest_errors"); n != int64(len(sum.Rejected)) {
		t.Errorf("ingest_errors = %d, rejected = %d", n, len(sum.Rejected))
	}
	if n := count(t, st, "SELECT count(*) FROM digests WHERE account_id = '123456789123' AND log_files > 0"); n != 1 {
		t.Errorf("digests = %d", n)
	}
}

func mustAbs(t *testing.T, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func recordsFile(n int, idPrefix string, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.08","eventID":"%s-%d","eventTime":"2026-11-0%dT%02d:%02d:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-1","userAgent":"%s"}`,
			idPrefix, i, 1+i%9, i%24, i%60, strings.Repeat("x", pad))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestBadFilesDoNotStopTheRest: a truncated .json.gz, a gzip bomb and a corrupt gzip are
// rejected by name with the reason; the good files beside them are stored.
func TestBadFilesDoNotStopTheRest(t *testing.T) {
	dir := t.TempDir()
	good := gz(t, recordsFile(10, "good", 10))
	writeFile(t, dir, "a/good.json.gz", good)
	truncated := writeFile(t, dir, "b/truncated.json.gz", gz(t, recordsFile(500, "trunc", 200))[:2000])
	bomb := writeFile(t, dir, "c/bomb.json.gz", gz(t, append([]byte("["), bytes.Repeat([]byte(" "), 3<<20)...)))
	zeros := writeFile(t, dir, "c/zeros.json.gz", gz(t, make([]byte, 3<<20)))
	corrupt := writeFile(t, dir, "d/corrupt.json.gz", append([]byte{0x1f, 0x8b, 9, 9}, good[4:]...))
	writeFile(t, dir, "e/also-good.json", recordsFile(5, "plain", 0))

	st := openStore(t)
	sum, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{MaxDecompressed: 1 << 20})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want ErrPartial", err)
	}
	want := map[string]string{truncated: "truncated gzip", bomb: "gzip bomb", corrupt: "corrupt gzip",
		zeros: "gzip of binary data, not JSON"}
	if len(sum.Rejected) != len(want) {
		t.Fatalf("rejected = %+v", sum.Rejected)
	}
	for _, r := range sum.Rejected {
		if !strings.Contains(r.Reason, want[r.URI]) {
			t.Errorf("%s: reason %q, want %q", r.URI, r.Reason, want[r.URI])
		}
	}
	if sum.EventsNew != 15 || sum.FilesRead != 2 {
		t.Errorf("summary = %+v", sum)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != 15 {
		t.Errorf("events = %d, want 15", n)
	}
}

// TestLargeFile: a delivery file over 16 MiB decompressed (DuckDB's read_json default limit) is read.
func TestLargeFile(t *testing.T) {
	dir := t.TempDir()
	raw := recordsFile(12000, "big", 1400)
	if len(raw) < 17<<20 {
		t.Fatalf("test file is only %d bytes", len(raw))
	}
	writeFile(t, dir, "big.json.gz", gz(t, raw))
	st := openStore(t)
	sum, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventsNew != 12000 {
		t.Errorf("events = %d", sum.EventsNew)
	}
}

// TestProvenance: each source file's size and SHA-256 are those of its bytes on disk, and
// an event delivered by S3 and by an event-history export has both sources.
func TestProvenance(t *testing.T) {
	dir := t.TempDir()
	plaso, err := os.ReadFile(realdata + "/plaso-lookup-events/aws_cloudtrail.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lookup := writeFile(t, dir, "history.jsonl", plaso)
	// The same events as a gzipped S3 delivery file.
	d, err := Decode(plaso)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for _, r := range d.Records {
		recs = append(recs, r.Raw)
	}
	s3file := writeFile(t, dir, "AWSLogs/1/CloudTrail/ap-southeast-2/2022/02/07/x.json.gz",
		gz(t, []byte(`{"Records":[`+string(bytes.Join(recs, []byte(",")))+`]}`)))

	st := openStore(t)
	if _, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != 6 {
		t.Errorf("events = %d, want 6", n)
	}
	if n := count(t, st, "SELECT count(*) FROM event_sources"); n != 12 {
		t.Errorf("event_sources = %d, want 12", n)
	}
	for _, p := range []string{lookup, s3file} {
		b, _ := os.ReadFile(p)
		sum := sha256.Sum256(b)
		if n := count(t, st, "SELECT count(*) FROM source_files WHERE uri = ? AND sha256 = ? AND size = ? AND read_at IS NOT NULL",
			p, hex.EncodeToString(sum[:]), len(b)); n != 1 {
			t.Errorf("%s: no source_files row with its size and hash", p)
		}
		if n := count(t, st, "SELECT count(*) FROM event_sources JOIN source_files USING (file_id) WHERE uri = ?", p); n != 6 {
			t.Errorf("%s is the source of %d events, want 6", p, n)
		}
	}
}

// cancelAfter wraps a source and cancels the ingest after n objects have been listed.
type cancelAfter struct {
	Source
	n      int
	cancel context.CancelFunc
}

func (c cancelAfter) List(ctx context.Context, out chan<- Object) error {
	inner := make(chan Object)
	errc := make(chan error, 1)
	go func() { errc <- c.Source.List(ctx, inner); close(inner) }()
	i := 0
	for o := range inner {
		if i == c.n {
			c.cancel()
		}
		i++
		select {
		case out <- o:
		case <-ctx.Done():
		}
	}
	return <-errc
}

// TestInterruptedIngestResumes: an interrupt leaves a consistent store (every stored
// event has its source, every source file its events), and running again completes it.
func TestInterruptedIngestResumes(t *testing.T) {
	st := openStore(t)
	src := Files{Paths: []string{realdata + "/sans-504-s3-ransomware-lab"}}
	ctx, cancel := context.WithCancel(t.Context())
	sum, err := run(t, ctx, st, cancelAfter{Source: src, n: 1500, cancel: cancel}, Options{})
	if !errors.Is(err, context.Canceled) || !sum.Interrupted {
		t.Fatalf("Run = %v (interrupted %v), want context.Canceled", err, sum.Interrupted)
	}
	partial := count(t, st, "SELECT count(*) FROM events")
	if partial == 0 || partial >= 23981 {
		t.Errorf("after interrupt: %d events", partial)
	}
	if n := count(t, st, "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_sources s WHERE s.event_id = e.event_id)"); n != 0 {
		t.Errorf("%d events without a source", n)
	}
	if n := count(t, st, "SELECT count(*) FROM source_files f WHERE records <> (SELECT count(*) FROM event_sources s WHERE s.file_id = f.file_id)"); n != 0 {
		t.Errorf("%d source files with a partial set of events", n)
	}
	if n := count(t, st, "SELECT count(*) FROM ingest_runs WHERE interrupted"); n != 1 {
		t.Errorf("interrupted runs = %d", n)
	}
	sum, err = run(t, t.Context(), st, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != 23981 {
		t.Errorf("after resume: %d events, want 23981", n)
	}
	if sum.EventsNew != 23981-partial {
		t.Errorf("resume stored %d new events, want %d", sum.EventsNew, 23981-partial)
	}
}

// TestTypedColumns: the typed columns are derived from the record, tolerating what real
// data does: booleans as strings, null fields, unknown regions, escapes, non-ISO times.
func TestTypedColumns(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "quirks.jsonl", []byte(`{"eventVersion":"1.08","eventID":"q1","eventTime":"2025-03-26 16:43:57.000000000","readOnly":"true","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"sa-isob-west-2r","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2 \u001b[2J","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/dev","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"dev","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/r"}}},"requestParameters":{"omitted":true,"reason":"requestParameters too large"},"responseElements":null,"errorCode":"AccessDenied","errorMessage":"a\"b","eventType":"AwsApiCall","eventCategory":"Management","recipientAccountId":"111122223333","resources":[{"ARN":"arn:x","type":"AWS::IAM::User"}]}
{"eventVersion":"1.08","eventID":"q2","eventTime":"2021-01-02T03:04:05Z","readOnly":false,"userIdentity":null,"awsRegion":"redacted","eventName":"X"}
`))
	st := openStore(t)
	if _, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{}); err != nil {
		t.Fatal(err)
	}
	var (
		tm                                                                  time.Time
		src, name, region, ip, ua, itype, pid, arn, acct, key, user, issuer string
		code, msg, etype, cat, recip, ver, reqp, resources                  string
		ro                                                                  bool
		resp                                                                sql.NullString
	)
	err := st.DB.QueryRowContext(t.Context(), `SELECT event_time, event_source, event_name, aws_region, source_ip, user_agent,
		identity_type, principal_id, arn, account_id, access_key_id, user_name, session_issuer_arn, error_code,
		error_message, event_type, event_category, recipient_account_id, event_version, request_parameters::VARCHAR,
		resources::VARCHAR, read_only, response_elements::VARCHAR FROM events WHERE event_id = 'q1'`).Scan(
		&tm, &src, &name, &region, &ip, &ua, &itype, &pid, &arn, &acct, &key, &user, &issuer, &code, &msg, &etype,
		&cat, &recip, &ver, &reqp, &resources, &ro, &resp)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{tm.UTC().Format(time.RFC3339), src, name, region, ip, ua, itype, pid, arn, acct, key, user, issuer,
		code, msg, etype, cat, recip, ver, reqp, resources}
	want := []string{"2025-03-26T16:43:57Z", "iam.amazonaws.com", "CreateAccessKey", "sa-isob-west-2r", "203.0.113.9",
		"aws-cli/2 \x1b[2J", "IAMUser", "AIDAX", "arn:aws:iam::111122223333:user/dev", "111122223333", "AKIAEXAMPLE", "dev",
		"arn:aws:iam::1:role/r", "AccessDenied", `a"b`, "AwsApiCall", "Management", "111122223333", "1.08",
		`{"omitted":true,"reason":"requestParameters too large"}`, `[{"ARN":"arn:x","type":"AWS::IAM::User"}]`}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d = %q, want %q", i, got[i], want[i])
		}
	}
	if !ro || resp.Valid {
		t.Errorf("read_only = %v, response_elements = %v", ro, resp)
	}
	var ro2 sql.NullBool
	var itype2 sql.NullString
	if err := st.DB.QueryRowContext(t.Context(), "SELECT read_only, identity_type FROM events WHERE event_id = 'q2'").Scan(&ro2, &itype2); err != nil {
		t.Fatal(err)
	}
	if !ro2.Valid || ro2.Bool || itype2.Valid {
		t.Errorf("q2: read_only %v identity_type %v", ro2, itype2)
	}
}

// TestInvalidUTF8: a record with invalid UTF-8 (hostile userAgent) is stored with U+FFFD
// in place of the bad bytes, and does not take the files beside it down with it.
func TestInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json", []byte("{\"Records\":[{\"eventVersion\":\"1.08\",\"eventID\":\"u1\",\"eventTime\":\"2021-01-01T00:00:00Z\",\"userAgent\":\"evil\xff\xfeua\",\"eventName\":\"X\"}]}"))
	writeFile(t, dir, "b.json", []byte(`[{"eventVersion":"1.08","eventID":"u2","eventTime":"2021-01-01T00:00:00Z","eventName":"Y"}]`))
	st := openStore(t)
	if _, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{}); err != nil {
		t.Fatal(err)
	}
	var ua string
	if err := st.DB.QueryRow("SELECT user_agent FROM events WHERE event_id = 'u1'").Scan(&ua); err != nil {
		t.Fatal(err)
	}
	if ua != "evil\uFFFDua" { // one U+FFFD for the run of bad bytes
		t.Errorf("user_agent = %q", ua)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != 2 {
		t.Errorf("events = %d, want 2", n)
	}
}

// TestLoneSurrogates: JSON the grammar allows but DuckDB's JSON functions refuse (a lone
// surrogate escape) is repaired, so one record cannot break JSON queries on the store.
func TestLoneSurrogates(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json", []byte(`[{"eventVersion":"1.08","eventID":"s1","eventTime":"2021-01-01T00:00:00Z","userAgent":"a\u0000b\ud800x\\ud800","eventName":"X","requestParameters":{"k":"\ud83d\ude00"}}]`))
	st := openStore(t)
	if _, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{}); err != nil {
		t.Fatal(err)
	}
	var ua, emoji string
	if err := st.DB.QueryRow(`SELECT record->>'userAgent', request_parameters->>'k' FROM events WHERE event_id = 's1'`).Scan(&ua, &emoji); err != nil {
		t.Fatal(err)
	}
	if ua != "a\x00b\uFFFDx\\ud800" || emoji != "😀" {
		t.Errorf("userAgent %q, k %q", ua, emoji)
	}
}

func TestRepairSurrogates(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"\ud800"}`:        `{"a":"\ufffd"}`,
		`{"a":"\\ud800"}`:       "",
		`{"a":"\ud83d\ude00"}`:  "",
		`{"a":"\udc00\ud800x"}`: `{"a":"\ufffd\ufffdx"}`,
		`{"\ud800":1,"b":"\\"}`: `{"\ufffd":1,"b":"\\"}`,
	} {
		got := string(repairSurrogates([]byte(in)))
		if got != want {
			t.Errorf("repairSurrogates(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestTimeWindow: only records in [From, To) are stored; an object cut by the window is
// read again by a later run with a wider window, and then nothing is missing.
func TestTimeWindow(t *testing.T) {
	dir := t.TempDir()
	const n = 90
	writeFile(t, dir, "a.json.gz", gz(t, recordsFile(n, "w", 0)))
	from := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	var inWindow int64
	for i := range n { // the times recordsFile writes
		ts := time.Date(2026, 11, 1+i%9, i%24, i%60, 0, 0, time.UTC)
		if !ts.Before(from) && ts.Before(to) {
			inWindow++
		}
	}
	st := openStore(t)
	sum, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventsNew != inWindow || sum.OutsideWindow != n-inWindow {
		t.Fatalf("window run: new %d, outside %d; want %d, %d", sum.EventsNew, sum.OutsideWindow, inWindow, n-inWindow)
	}
	if got := count(t, st, "SELECT count(*) FROM events WHERE event_time < ? OR event_time >= ?", from, to); got != 0 {
		t.Errorf("%d events outside the window were stored", got)
	}
	if got := count(t, st, "SELECT sum(outside_window) FROM source_files"); got != n-inWindow {
		t.Errorf("source_files.outside_window = %d, want %d", got, n-inWindow)
	}
	sum, err = run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.FilesSkipped != 0 || sum.EventsNew != n-inWindow {
		t.Fatalf("wider run: skipped %d, new %d; want 0, %d", sum.FilesSkipped, sum.EventsNew, n-inWindow)
	}
	if got := count(t, st, "SELECT count(*) FROM events"); got != n {
		t.Errorf("%d events stored, want %d", got, n)
	}
	sum, err = run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{})
	if err != nil || sum.FilesSkipped != 1 {
		t.Fatalf("third run: skipped %d (%v), want the complete file skipped", sum.FilesSkipped, err)
	}
}

// TestTypedColumnsMatchRecord: every typed column holds what DuckDB's json_extract_string
// reads from the stored record (insert_events.sql's paths), for every real record and for
// hostile ones the scanner leaves to DuckDB (numbers, objects, the separator, escapes).
func TestTypedColumnsMatchRecord(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hostile.jsonl", []byte(`{"eventVersion":"1.08","eventID":"h1","userAgent":12345,"errorMessage":{"a":[1]},"eventName":"Run\u001fInstances"}
{"eventVersion":"1.08","eventID":"h2","event\u004eame":"Escaped","awsRegion":"first","awsRegion":"second","userIdentity":{"type":"AssumedRole","sessionContext":"not an object","arn":"a\u00e9\ud83d\ude00\"\\"}}
{"eventVersion":"1.08","eventID":"h3","userIdentity":["not","an","object"],"readOnly":"TRUE","sourceIPAddress":null,"errorCode":""}
{"eventVersion":"1.08","eventID":"h4","readOnly":true,"responseElements":{"credentials":{"accessKeyId":"ASIAMINTED"},"accessKey":{"accessKeyId":"AKIAMINTED"}},"requestParameters":{"roleArn":"arn:aws:iam::1:role/x","policy":"{\"x\":1}"}}
{"eventVersion":"1.08","eventID":"h5","userIdentity":{"sessionContext":{"sessionIssuer":{"arn":{"nested":true}}}},"recipientAccountId":111122223333}
`))
	st := openStore(t)
	if _, err := run(t, t.Context(), st, Files{Paths: []string{realdata, dir}}, Options{}); !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want ErrPartial (the corpus has bad files on purpose)", err)
	}
	columns := map[string]string{
		"event_source": "$.eventSource", "event_name": "$.eventName", "aws_region": "$.awsRegion",
		"source_ip": "$.sourceIPAddress", "user_agent": "$.userAgent", "identity_type": "$.userIdentity.type",
		"principal_id": "$.userIdentity.principalId", "arn": "$.userIdentity.arn",
		"account_id": "$.userIdentity.accountId", "access_key_id": "$.userIdentity.accessKeyId",
		"user_name": "$.userIdentity.userName", "session_issuer_arn": "$.userIdentity.sessionContext.sessionIssuer.arn",
		"error_code": "$.errorCode", "error_message": "$.errorMessage", "event_type": "$.eventType",
		"event_category": "$.eventCategory", "recipient_account_id": "$.recipientAccountId",
		"event_version": "$.eventVersion", "role_arn": "$.requestParameters.roleArn",
	}
	if n := count(t, st, "SELECT count(*) FROM event_rows"); n < 25000 {
		t.Fatalf("only %d events stored", n)
	}
	for col, path := range columns {
		q := fmt.Sprintf("SELECT count(*) FROM event_rows WHERE %s IS DISTINCT FROM nullif(json_extract_string(record, '%s'), '')", col, path)
		if n := count(t, st, q); n != 0 {
			t.Errorf("%s differs from %s in %d records", col, path, n)
		}
	}
	if n := count(t, st, `SELECT count(*) FROM event_rows WHERE read_only IS DISTINCT FROM try_cast(json_extract_string(record, '$.readOnly') AS BOOLEAN)
		OR minted_key_id IS DISTINCT FROM coalesce(nullif(json_extract_string(record, '$.responseElements.credentials.accessKeyId'), ''),
			nullif(json_extract_string(record, '$.responseElements.accessKey.accessKeyId'), ''))`); n != 0 {
		t.Errorf("read_only or minted_key_id differs from the record in %d records", n)
	}
	// The hostile records hold what they should, not merely the same as the record says.
	for q, want := range map[string]string{
		"SELECT user_agent FROM event_rows WHERE event_id = 'h1'":                "12345",
		"SELECT error_message FROM event_rows WHERE event_id = 'h1'":             `{"a":[1]}`,
		"SELECT event_name FROM event_rows WHERE event_id = 'h1'":                "Run\x1fInstances",
		"SELECT event_name || aws_region FROM event_rows WHERE event_id = 'h2'":  "Escapedfirst",
		"SELECT arn FROM event_rows WHERE event_id = 'h2'":                       "a\u00e9\U0001F600\"\\",
		"SELECT read_only::VARCHAR FROM event_rows WHERE event_id = 'h3'":        "true",
		"SELECT minted_key_id || role_arn FROM event_rows WHERE event_id = 'h4'": "ASIAMINTEDarn:aws:iam::1:role/x",
	} {
		var got string
		if err := st.DB.QueryRowContext(t.Context(), q).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", q, got, err, want)
		}
	}
}

// TestCommitFailureIsolated: when DuckDB cannot store a batch (out of memory here), the
// writer tries again in order, then stores the batch in parts to find the objects at
// fault. The 24k SANS events, too many for a 24 MB store in one batch (measured: the batch
// fails at 24 and 32 MB and passes at 48), are stored in parts; an object with a 30 MiB
// record (allowed by MaxRecord, too large for DuckDB) is committed alone and rejected by
// name, with DuckDB's reason and without its tuning advice; the summary and ingest_runs
// say what is in the store.
func TestCommitFailureIsolated(t *testing.T) {
	st, err := queries.Open(t.Context(), filepath.Join(t.TempDir(), "case.duckdb"), queries.OpenOptions{MemoryLimit: "24MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	big := writeFile(t, dir, "big.json", []byte(`{"Records":[{"eventVersion":"1.08","eventID":"huge","eventTime":"2026-11-01T00:00:00Z","eventName":"X","userAgent":"`+
		strings.Repeat("x", 30<<20)+`"},{"eventVersion":"1.08","eventID":"beside-huge","eventName":"Y"}]}`))
	var log bytes.Buffer
	sum, err := Run(t.Context(), st, Files{Paths: []string{dir, realdata + "/sans-504-s3-ransomware-lab"}}, Options{MaxRecord: 64 << 20},
		slog.New(slog.NewTextHandler(&log, nil)))
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want ErrPartial", err)
	}
	if len(sum.Rejected) != 1 || sum.Rejected[0].URI != big || !strings.Contains(sum.Rejected[0].Reason, "could not be stored") ||
		!strings.Contains(sum.Rejected[0].Reason, "--max-record") || strings.Contains(sum.Rejected[0].Reason, "Possible solutions") {
		t.Errorf("rejected = %+v", sum.Rejected)
	}
	for _, want := range []string{"trying again with events written in order", "storing its objects apart"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
	if n := count(t, st, "SELECT count(*) FROM events"); n != 23981 || sum.EventsNew != 23981 || sum.FilesRead != 3872 {
		t.Errorf("%d events stored; summary says %d new in %d files; want 23981 in 3872", n, sum.EventsNew, sum.FilesRead)
	}
	if n := count(t, st, "SELECT count(*) FROM events WHERE event_id IN ('huge', 'beside-huge')"); n != 0 {
		t.Errorf("%d events of the rejected object stored", n)
	}
	if n := count(t, st, `SELECT count(*) FROM ingest_runs WHERE events_new = 23981 AND files_read = 3872
		AND files_rejected = 1 AND NOT interrupted AND finished_at IS NOT NULL`); n != 1 {
		t.Error("ingest_runs does not say what was stored")
	}
	if n := count(t, st, "SELECT count(*) FROM ingest_errors WHERE uri = ? AND reason LIKE 'could not be stored%' AND part IS NOT TRUE", big); n != 1 {
		t.Error("ingest_errors does not name the object")
	}
	if n := count(t, st, "SELECT count(*) FROM source_files WHERE uri = ?", big); n != 0 {
		t.Error("the rejected object is in source_files")
	}
	if n := count(t, st, "SELECT count(*) FROM duckdb_settings() WHERE name = 'preserve_insertion_order' AND value = 'true'"); n != 1 {
		t.Error("preserve_insertion_order was left off after the failed commit")
	}
}

// TestCommitIsolationKeepsSharedEvents: an object that cannot be stored (here DuckDB
// refuses one of its events: a CHECK constraint added for the test) is rejected; an event
// it delivered first in its batch, delivered again by a later object of the same batch, is
// stored from that later object, not lost. When the refused event itself is delivered
// again, the later object is stored without it and says so, and is read again next time.
func TestCommitIsolationKeepsSharedEvents(t *testing.T) {
	st := openStore(t)
	rows, err := st.DB.QueryContext(t.Context(), "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'event_rows' ORDER BY column_index")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, name+" "+typ)
	}
	rows.Close()
	if _, err := st.DB.ExecContext(t.Context(), "DROP TABLE event_rows; CREATE TABLE event_rows ("+strings.Join(cols, ", ")+
		", CHECK (event_id NOT LIKE 'poison%'))"); err != nil {
		t.Fatal(err)
	}
	event := func(id string) string {
		return fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2026-11-01T00:00:00Z","eventName":"X"}`, id)
	}
	dir := t.TempDir()
	a := writeFile(t, dir, "a.json", []byte(`{"Records":[`+event("poison-a")+","+event("shared")+","+event("poison-d")+`]}`))
	b := writeFile(t, dir, "b.json", []byte(`{"Records":[`+event("shared")+","+event("b-only")+`]}`))
	c := writeFile(t, dir, "c.json", []byte(`{"Records":[`+event("c-only")+","+event("shared")+`]}`))
	d := writeFile(t, dir, "d.json", []byte(`{"Records":[`+event("poison-d")+","+event("d-only")+`]}`))
	// One reader, so that the writer gets the objects in the order listed (a, b, c, d):
	// which copy of an event is first in a batch is what this test is about.
	sum, err := run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{Concurrency: 1})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want ErrPartial", err)
	}
	if len(sum.Rejected) != 1 || sum.Rejected[0].URI != a || !strings.Contains(sum.Rejected[0].Reason, "CHECK constraint") {
		t.Errorf("rejected = %+v, want a.json with DuckDB's reason", sum.Rejected)
	}
	if len(sum.BadRecords) != 1 || sum.BadRecords[0].URI != d || !strings.Contains(sum.BadRecords[0].Reason, `eventID poison-d not stored`) {
		t.Errorf("bad records = %+v, want d.json's copy of the refused event", sum.BadRecords)
	}
	if n := count(t, st, "SELECT count(*) FROM events"); sum.EventsNew != n || n != 4 || sum.FilesRead != 3 {
		t.Errorf("summary: %d new in %d files, store %d; want shared, b-only, c-only, d-only in 3", sum.EventsNew, sum.FilesRead, n)
	}
	for uri, n := range map[string]int64{b: 2, c: 2, d: 1} {
		if got := count(t, st, "SELECT count(*) FROM event_origins WHERE uri = ?", uri); got != n {
			t.Errorf("%s is the source of %d events, want %d", uri, got, n)
		}
	}
	if n := count(t, st, "SELECT count(*) FROM event_origins WHERE event_id = 'shared' AND uri = ?", b); n != 1 {
		t.Error("the shared event is not stored from b.json")
	}
	if n := count(t, st, "SELECT count(*) FROM event_sources s WHERE NOT EXISTS (SELECT 1 FROM event_rows e WHERE e.event_id = s.event_id)"); n != 0 {
		t.Errorf("%d event_sources rows point at no event", n)
	}
	if n := count(t, st, "SELECT count(*) FROM source_files WHERE uri = ? AND records_rejected = 1", d); n != 1 {
		t.Error("d.json is not marked as read in part")
	}
	if n := count(t, st, "SELECT sum(events_new) FROM source_files"); n != 4 {
		t.Errorf("source_files.events_new sums to %d, want 4", n)
	}
	if n := count(t, st, "SELECT count(*) FROM ingest_runs WHERE events_new = 4 AND files_read = 3 AND files_rejected = 1 AND records_rejected = 1"); n != 1 {
		t.Error("ingest_runs does not say what was stored")
	}
	sum, err = run(t, t.Context(), st, Files{Paths: []string{dir}}, Options{Concurrency: 1})
	if !errors.Is(err, ErrPartial) || sum.EventsNew != 0 || count(t, st, "SELECT count(*) FROM events") != 4 {
		t.Errorf("second run: %v, %d new; want nothing stored twice", err, sum.EventsNew)
	}
}
