package cmd

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/synth"
)

// Inputs that are not what they seem: each class of hostile or mistaken input is rejected
// by name with what it is, never sinks the rest, and leaves a store that says what it holds.

func writeTestFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sqlCSV runs a query on a store and returns its CSV output without the header.
func sqlCSV(t *testing.T, db, q string) string {
	t.Helper()
	code, out, stderr := trailhound(t, "--db", db, "sql", "--format", "csv", q)
	if code != ExitOK {
		t.Fatalf("sql %s: exit %d: %s", q, code, stderr)
	}
	_, rows, _ := strings.Cut(out, "\n")
	return strings.TrimSpace(rows)
}

// TestSymlinkedTree: a linked directory, LINK/, links inside a tree (to a directory, to a
// file, back up to the tree's parent, a cycle, a broken one) are followed where they lead
// to files, and everything not read is said with the reason.
func TestSymlinkedTree(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	writeTestFile(t, filepath.Join(real, "a.jsonl"), readTestFile(t, realdata+"/plaso-lookup-events/aws_cloudtrail.jsonl"))
	writeTestFile(t, filepath.Join(real, "sub", "b.json"),
		readTestFile(t, realdata+"/stratus-red-team-detonation-logs/aws.defense-evasion.bedrock-guardrail-delete.json"))
	tree := filepath.Join(base, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"link-to-real": "../real", "loop": "..", "broken": "nowhere", "c1": "c2", "c2": "c1", "file-link": "../real/a.jsonl",
	} {
		if err := os.Symlink(target, filepath.Join(tree, name)); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(base, "LINK")
	if err := os.Symlink("tree", link); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{link, link + "/"} {
		t.Run(filepath.Base(arg)+strings.Repeat("-slash", strings.Count(arg[len(link):], "/")), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "case.duckdb")
			code, _, stderr := trailhound(t, "--db", db, "ingest", "files", arg)
			if code != ExitPartial {
				t.Fatalf("exit %d, want %d (a broken link and a cycle are not readable)\n%s", code, ExitPartial, stderr)
			}
			for _, want := range []string{
				"files read:      2", "events new:      7", "files rejected:  3",
				"broken: a broken symbolic link: its target nowhere does not exist",
				"c1: a cycle of symbolic links (to c2) that never reaches a file",
				"skipped:         2 (not read; nothing lost)",
				"loop: a symbolic link loop: it leads back to " + base + ", which holds it",
				"link-to-real/a.jsonl: the same file as ",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if n := storedEvents(t, db); n != 7 {
				t.Errorf("stored %d events, want 7 (6 + 1 through the links)", n)
			}
			if got := sqlCSV(t, db, "SELECT count(*) FILTER (WHERE uri LIKE '%/link-to-real/sub/b.json'), count(*) FROM source_files"); got != "1,2" {
				t.Errorf("source_files: %s, want the linked file by the path it was found at", got)
			}
			if got := sqlCSV(t, db, "SELECT count(*) FROM ingest_errors WHERE reason LIKE '%symbolic link%'"); got != "3" {
				t.Errorf("ingest_errors has %s link rows, want 3", got)
			}
		})
	}
}

// TestOversizedRecord: a record over --max-record among good files is rejected by name with
// the limit and the flag; everything else, its own file's other records too, is stored, and
// ingest_runs and ingest_errors say so. Raising the flag stores it on the next run.
func TestOversizedRecord(t *testing.T) {
	dir := t.TempDir()
	huge := strings.Repeat("A", 17<<20)
	record := func(id, ua string) string {
		return fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2026-11-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","userAgent":%q}`, id, ua)
	}
	writeTestFile(t, filepath.Join(dir, "good.jsonl"), readTestFile(t, realdata+"/plaso-lookup-events/aws_cloudtrail.jsonl"))
	mixed := writeTestFile(t, filepath.Join(dir, "mixed.json"), []byte(`{"Records":[`+record("m1", "cli")+","+record("m-huge", huge)+","+record("m2", "cli")+`]}`))
	alone := writeTestFile(t, filepath.Join(dir, "alone.json"), []byte(record("a-huge", huge)))
	db := filepath.Join(t.TempDir(), "case.duckdb")
	code, _, stderr := trailhound(t, "--db", db, "ingest", "files", dir)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, stderr)
	}
	for _, want := range []string{
		"files read:      2", "events new:      8", "files rejected:  1",
		alone + `: the event (eventID "a-huge") is 17.0 MiB, over the 16 MiB limit for one record: not stored; raise --max-record to store it`,
		"bad records:     1 (not stored; the rest of their files was)",
		mixed + `: Records element 1 (eventID "m-huge") is 17.0 MiB, over the 16 MiB limit for one record: not stored; raise --max-record to store it`,
		"partial: 1 of 3 inputs and 1 record in 1 file: some inputs could not be read",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "memory_limit") || strings.Contains(stderr, "Possible solutions") {
		t.Errorf("DuckDB's tuning advice reached the user:\n%s", stderr)
	}
	if got := sqlCSV(t, db, "SELECT string_agg(event_id, ' ' ORDER BY event_id) FROM events WHERE event_id LIKE 'm%' OR event_id LIKE 'a%'"); got != "m1 m2" {
		t.Errorf("stored %q, want the two small records of mixed.json", got)
	}
	if got := sqlCSV(t, db, "SELECT files_read, events_new, files_rejected, records_rejected, interrupted FROM ingest_runs"); got != "2,8,1,1,false" {
		t.Errorf("ingest_runs: %s", got)
	}
	if got := sqlCSV(t, db, "SELECT count(*) FILTER (WHERE part AND uri LIKE '%mixed.json'), count(*) FILTER (WHERE part IS NULL AND uri LIKE '%alone.json') FROM ingest_errors"); got != "1,1" {
		t.Errorf("ingest_errors: %s", got)
	}
	code, _, stderr = trailhound(t, "--db", db, "ingest", "files", "--max-record", "32", dir)
	if code != ExitOK || !strings.Contains(stderr, "events new:      2") || !strings.Contains(stderr, "1 unchanged since an earlier ingest") {
		t.Fatalf("with --max-record 32: exit %d, want both large records stored and mixed.json read again\n%s", code, stderr)
	}
	if got := sqlCSV(t, db, "SELECT sum(length(record)) > 34 * 1048576 FROM events WHERE event_id IN ('m-huge', 'a-huge')"); got != "true" {
		t.Errorf("the large records are not stored whole: %s", got)
	}
}

// TestJSONLCutMidLine: an export cut off mid-line keeps its complete lines; the cut line is
// rejected by line number, recorded in ingest_errors with the file and the line, and the
// exit code says partial. The file is read again by the next ingest (it is not complete).
func TestJSONLCutMidLine(t *testing.T) {
	lines := readTestFile(t, realdata+"/plaso-lookup-events/aws_cloudtrail.jsonl")
	first, _, _ := bytes.Cut(lines, []byte("\n"))
	dir := t.TempDir()
	cut := writeTestFile(t, filepath.Join(dir, "export.jsonl"), append(append(bytes.TrimSpace(lines), '\n'), first[:len(first)/2]...))
	middle := writeTestFile(t, filepath.Join(dir, "middle.jsonl"), []byte(`{"eventVersion":"1.08","eventID":"j1","eventName":"A"}
{"eventVersion":"1.08","eventID":"j2",,"eventName":"B"}
{"eventVersion":"1.08","eventID":"j3","eventName":"C"}
`))
	db := filepath.Join(t.TempDir(), "case.duckdb")
	code, _, stderr := trailhound(t, "--db", db, "ingest", "files", dir)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, stderr)
	}
	for _, want := range []string{
		"files read:      2", "events new:      8", "files rejected:  0", "bad records:     2",
		cut + " line 7: malformed JSON at line 7",
		"(the file ends mid-record: cut off?)",
		middle + " line 2: malformed JSON at line 2",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := storedEvents(t, db); n != 8 {
		t.Errorf("stored %d events, want 6 + 2", n)
	}
	if got := sqlCSV(t, db, "SELECT string_agg(regexp_extract(uri, '[^/]*$') || ':' || line, ' ' ORDER BY uri) FROM ingest_errors WHERE part"); got != "export.jsonl:7 middle.jsonl:2" {
		t.Errorf("ingest_errors: %q", got)
	}
	code, _, stderr = trailhound(t, "--db", db, "ingest", "files", dir)
	if code != ExitPartial || !strings.Contains(stderr, "events present:  8") || strings.Contains(stderr, "unchanged") {
		t.Errorf("second run: exit %d, want both files read again, their events present\n%s", code, stderr)
	}
}

// TestRejectionsSayWhatAFileIs: files that are not CloudTrail are named with what they are,
// in terminal-safe words (magic numbers), never with their bytes.
func TestRejectionsSayWhatAFileIs(t *testing.T) {
	dir := t.TempDir()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	f, _ := zw.Create("trail/a.json")
	f.Write(readTestFile(t, realdata+"/plaso-lookup-events/aws_cloudtrail.jsonl"))
	zw.Close()
	var tbuf bytes.Buffer
	gw := gzip.NewWriter(&tbuf)
	tw := tar.NewWriter(gw)
	tw.WriteHeader(&tar.Header{Name: "a.json", Mode: 0o644, Size: 2})
	tw.Write([]byte("{}"))
	tw.Close()
	gw.Close()
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i*7 + i/13)
	}
	var gbin bytes.Buffer
	gw = gzip.NewWriter(&gbin)
	gw.Write(binary)
	gw.Close()
	store := filepath.Join(t.TempDir(), "other.duckdb")
	if code, _, stderr := trailhound(t, "--db", store, "ingest", "files", realdata+"/plaso-lookup-events"); code != ExitOK {
		t.Fatalf("making a store: %s", stderr)
	}
	utf16 := []byte{0xff, 0xfe}
	for _, c := range `[{"eventID":"x"}]` {
		utf16 = append(utf16, byte(c), 0)
	}
	want := map[string]string{
		"trail.zip":      "a zip archive, not JSON: extract it first, then ingest the files inside",
		"trail.tar.gz":   "a gzipped tar archive (.tar.gz), not JSON: extract it first (tar -xzf), then ingest the files inside",
		"blob.json.gz":   "gzip of binary data, not JSON",
		"trail.7z":       "a 7z archive, not JSON: extract it first, then ingest the files inside",
		"report.pdf":     "a PDF document, not JSON",
		"blob.bin":       "binary data, not JSON",
		"case.duckdb":    "a DuckDB database, not JSON: if it is a trailhound store, query it with --db",
		"export.json":    "UTF-16 text, not JSON: convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)",
		"trail.json.bz2": "bzip2-compressed data, not JSON: decompress it first (bunzip2)",
	}
	files := map[string][]byte{
		"trail.zip": zbuf.Bytes(), "trail.tar.gz": tbuf.Bytes(), "blob.json.gz": gbin.Bytes(),
		"trail.7z": append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), binary[:64]...), "report.pdf": []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
		"blob.bin": binary, "case.duckdb": readTestFile(t, store), "export.json": utf16,
		"trail.json.bz2": append([]byte("BZh91AY&SY"), binary[:64]...),
	}
	for name, b := range files {
		writeTestFile(t, filepath.Join(dir, name), b)
	}
	db := filepath.Join(t.TempDir(), "case.duckdb")
	code, _, stderr := trailhound(t, "--db", db, "ingest", "files", dir)
	if code != ExitPartial {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for name, reason := range want {
		if !strings.Contains(stderr, filepath.Join(dir, name)+": "+reason+"\n") {
			t.Errorf("%s: stderr lacks %q:\n%s", name, reason, stderr)
		}
	}
	if strings.ContainsAny(stderr, "\x00\x1b\ufffd") || strings.Contains(stderr, `\x`) || strings.Contains(stderr, `\u`) {
		t.Errorf("stderr quotes the files' bytes:\n%s", stderr)
	}
	if got := sqlCSV(t, db, "SELECT count(*) FROM ingest_errors WHERE reason LIKE '%not JSON%' AND reason NOT LIKE '%\\x%' ESCAPE '!'"); got != strconv.Itoa(len(want)) {
		t.Errorf("ingest_errors: %s rows, want %d", got, len(want))
	}
}

// TestEmptyInputs: an empty directory, a named pipe and /dev/zero are said to hold nothing
// to read (not read: a pipe could block forever, /dev/zero never ends), and the exit code
// says that nothing was read.
func TestEmptyInputs(t *testing.T) {
	empty := t.TempDir()
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, reason := range map[string]string{
		empty:       "an empty directory: nothing to read",
		fifo:        "not a regular file (a named pipe): not read",
		"/dev/zero": "not a regular file (a character device): not read",
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "case.duckdb")
			start := time.Now()
			code, _, stderr := trailhound(t, "--db", db, "ingest", "files", path)
			if time.Since(start) > 30*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if code != ExitPartial {
				t.Errorf("exit %d, want %d", code, ExitPartial)
			}
			for _, want := range []string{"files read:      0", path + ": " + reason, "nothing read"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if got := sqlCSV(t, db, "SELECT count(*) FROM ingest_errors"); got != "1" {
				t.Errorf("ingest_errors: %s rows", got)
			}
		})
	}
}

// TestStoreInIngestedDir: "ingest files ." beside the store never reads the store, its
// write-ahead log or its temporary directory (said at debug level only), so a second run
// exits 0 too. What kill -9 leaves (an unfinished ingest_runs row, DuckDB's temporary
// files) is cleaned up by the next ingest: the run is marked interrupted with what it
// stored, and the temporary files are removed.
func TestStoreInIngestedDir(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "events.jsonl"), readTestFile(t, realdata+"/plaso-lookup-events/aws_cloudtrail.jsonl"))
	t.Chdir(dir)
	t.Setenv("TRAILHOUND_DB", "")
	code, _, stderr := trailhound(t, "ingest", "files", ".")
	if code != ExitOK || !strings.Contains(stderr, "events new:      6") || !strings.Contains(stderr, "files rejected:  0") {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	// What kill -9 during an ingest leaves (measured): the run's row without its summary,
	// and DuckDB's spill files.
	if code, _, stderr := trailhound(t, "sql", "--write", `UPDATE ingest_runs SET finished_at = NULL, files_read = NULL,
		files_skipped = NULL, events_new = NULL, events_present = NULL, files_rejected = NULL, interrupted = NULL`); code != ExitOK {
		t.Fatal(stderr)
	}
	tmp := writeTestFile(t, filepath.Join(dir, DefaultDB+".tmp", "duckdb_temp_storage_DEFAULT-0.tmp"), make([]byte, 1<<20))
	code, _, stderr = trailhound(t, "--log-level", "debug", "ingest", "files", ".")
	if code != ExitOK || !strings.Contains(stderr, "1 unchanged since an earlier ingest") || !strings.Contains(stderr, "files rejected:  0") {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	for _, name := range []string{DefaultDB, DefaultDB + ".wal"} {
		if strings.Contains(stderr, "/"+name+":") {
			t.Errorf("%s was read:\n%s", name, stderr)
		}
	}
	if !strings.Contains(stderr, "not read: the store itself") || !strings.Contains(stderr, "level=DEBUG") {
		t.Errorf("the skipped store is not said at debug level:\n%s", stderr)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("DuckDB's leftover temporary file is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Dir(tmp)); !os.IsNotExist(err) {
		t.Errorf("the store's temporary directory is still there (%v)", err)
	}
	if got := sqlCSV(t, DefaultDB, "SELECT run_id, interrupted, files_read, events_new, events_present, files_rejected, finished_at IS NULL FROM ingest_runs ORDER BY run_id"); got != "1,true,1,6,0,0,true\n2,false,1,0,6,0,false" {
		t.Errorf("ingest_runs:\n%s", got)
	}
}

// TestDemoLeavesRealStoreAlone: with TRAILHOUND_DB pointing at a real case, the demo writes
// only under --out (the case's file is unchanged, byte for byte); --db is refused; a second
// seed into the same --out replaces the first demo whole; a directory with other files is
// refused.
func TestDemoLeavesRealStoreAlone(t *testing.T) {
	realDB := filepath.Join(t.TempDir(), "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", realDB, "ingest", "files", realdata+"/plaso-lookup-events"); code != ExitOK {
		t.Fatal(stderr)
	}
	before := sha256.Sum256(readTestFile(t, realDB))
	t.Setenv("TRAILHOUND_DB", realDB)
	out := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := trailhound(t, "demo", "--out", out, "--events", "1500", "--seed", "5")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	demoDB := filepath.Join(out, "demo.duckdb")
	if !strings.Contains(stderr, "note: demo does not use TRAILHOUND_DB ("+realDB+")") || !strings.Contains(stdout, "trailhound --db "+demoDB) {
		t.Errorf("the demo does not say where it wrote:\n%s\n%s", stderr, stdout)
	}
	if sha256.Sum256(readTestFile(t, realDB)) != before {
		t.Error("the demo changed the store TRAILHOUND_DB names")
	}
	if n := storedEvents(t, realDB); n != 6 {
		t.Errorf("the real store holds %d events, want its own 6", n)
	}
	m5, err := synth.Generate(t.Context(), t.TempDir(), synth.Options{Seed: 5, Events: 1500, EventsPerFile: 30, DuplicateRate: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	m6, err := synth.Generate(t.Context(), t.TempDir(), synth.Options{Seed: 6, Events: 1500, EventsPerFile: 30, DuplicateRate: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if n := storedEvents(t, demoDB); n != m5.DistinctEvents {
		t.Errorf("the demo store holds %d events, the generator wrote %d", n, m5.DistinctEvents)
	}
	code, _, stderr = trailhound(t, "demo", "--out", out, "--events", "1500", "--seed", "6")
	if code != ExitOK || !strings.Contains(stderr, "replacing the earlier demo in "+out) {
		t.Fatalf("second seed: exit %d\n%s", code, stderr)
	}
	if n := storedEvents(t, demoDB); n != m6.DistinctEvents {
		t.Errorf("after a second seed the demo store holds %d events, want seed 6's %d alone (seed 5 had %d)", n, m6.DistinctEvents, m5.DistinctEvents)
	}
	if got := sqlCSV(t, demoDB, fmt.Sprintf("SELECT count(*) FROM events WHERE access_key_id = '%s'", m5.LeakedKey)); got != "0" && m5.LeakedKey != m6.LeakedKey {
		t.Errorf("%s events of the first seed's leaked key remain", got)
	}
	if sha256.Sum256(readTestFile(t, realDB)) != before {
		t.Error("the second demo changed the real store")
	}
	if code, _, stderr := trailhound(t, "--db", realDB, "demo", "--out", t.TempDir()); code != ExitUsage || !strings.Contains(stderr, "never into --db") {
		t.Errorf("--db: exit %d\n%s", code, stderr)
	}
	other := t.TempDir()
	writeTestFile(t, filepath.Join(other, "notes.txt"), []byte("mine"))
	if code, _, stderr := trailhound(t, "demo", "--out", other); code != ExitUsage || !strings.Contains(stderr, "holds other files (notes.txt)") {
		t.Errorf("a directory with other files: exit %d\n%s", code, stderr)
	}
	if sha256.Sum256(readTestFile(t, realDB)) != before {
		t.Error("a refused demo changed the real store")
	}
}

// awsEnv isolates the SDK from the developer's AWS configuration, as fakeAWS does.
func awsEnv(t *testing.T) {
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID":           "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_CLOUDTRAIL": "", "AWS_ENDPOINT_URL_EC2": "",
		"AWS_ENDPOINT_URL_STS": "", "AWS_ENDPOINT_URL_S3": "",
	} {
		t.Setenv(k, v)
	}
}

// TestRefusedEndpoint: an endpoint that refuses connections fails history, s3 and collect
// at once (it took about 2 minutes, and history kept "reading" for longer), with the
// endpoint named and what to check.
func TestRefusedEndpoint(t *testing.T) {
	awsEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	endpoint := "http://" + addr
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	for name, args := range map[string][]string{
		"history one region": {"ingest", "history", "--from", "2d", "--region", "us-east-1"},
		"history all":        {"ingest", "history", "--from", "2d"},
		"s3":                 {"ingest", "s3", "s3://trail-bucket", "--from", "2d"},
		"s3 endpoint flag":   {"ingest", "s3", "s3://trail-bucket", "--from", "2d", "--endpoint-url", endpoint},
		"collect":            {"collect", "--from", "2d"},
	} {
		t.Run(name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "case.duckdb")
			start := time.Now()
			code, _, stderr := trailhound(t, append([]string{"--db", db}, args...)...)
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("took %v to fail, want a few seconds at most", took.Round(time.Second))
			}
			if code != ExitFailure {
				t.Errorf("exit %d, want %d", code, ExitFailure)
			}
			if want := "Hint: nothing answers at " + endpoint + " (connection refused)"; !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
			if strings.Contains(stderr, "retrying") {
				t.Errorf("a refused connection was retried:\n%s", stderr)
			}
		})
	}
}

// TestRetriesAreSaid: while an endpoint fails in a way worth retrying (503 here), stderr
// says what is retried, against which endpoint; the ingest then completes.
func TestRetriesAreSaid(t *testing.T) {
	f, m := fakeAWS(t)
	var calls atomic.Int64
	target, _ := url.Parse(f.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)
	t.Setenv("AWS_ENDPOINT_URL", flaky.URL)
	region := ""
	for r := range m.EventsByRegion {
		if region == "" || r < region {
			region = r
		}
	}
	from, to := window(m)
	db := filepath.Join(t.TempDir(), "case.duckdb")
	code, _, stderr := trailhound(t, "--db", db, "ingest", "history", "--from", from, "--to", to, "--region", region)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{`msg="retrying an AWS call" endpoint=` + flaky.URL, "attempt=2", "err=\"HTTP 503"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestIngestChild is not a test on its own: TestHostileInputMemory runs the test binary
// with TRAILHOUND_TEST_INGEST set (a JSON list of arguments) to ingest in a process of its
// own, whose peak RSS it reads.
func TestIngestChild(t *testing.T) {
	spec := os.Getenv("TRAILHOUND_TEST_INGEST")
	if spec == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(Main(t.Context(), args, strings.NewReader(""), os.Stdout, os.Stderr))
}

// gzipOf compresses n bytes: head, then spaces (as a stream, never n bytes in memory).
func gzipOf(t *testing.T, head string, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write([]byte(head))
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for left := n - int64(len(head)); left > 0; left -= int64(len(chunk)) {
		zw.Write(chunk[:min(int64(len(chunk)), left)])
	}
	zw.Close()
	return buf.Bytes()
}

// TestHostileInputMemory: gzip bombs decoded at once (their trailers lying about their size,
// or telling it), a gzip of zeros, a 900 MB file and a 200 MB plain JSON, among good files,
// with 4 workers: the ingest's peak RSS (of its own process) stays under 1 GiB, every bad
// input is rejected by name, and the good files are stored. Before the memory budget each
// bomb cost about 1.8 GB (7.4 GB for four, measured with 2 workers).
func TestHostileInputMemory(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "good", "plaso.jsonl"), readTestFile(t, realdata+"/plaso-lookup-events/aws_cloudtrail.jsonl"))
	writeTestFile(t, filepath.Join(dir, "good", "bedrock.json"),
		readTestFile(t, realdata+"/stratus-red-team-detonation-logs/aws.defense-evasion.bedrock-guardrail-delete.json"))
	const bomb = 600 << 20
	honest := gzipOf(t, `{"Records":[`, bomb)
	lying := bytes.Clone(honest)
	binary.LittleEndian.PutUint32(lying[len(lying)-4:], 4096)
	var bombs []string
	for i := range 4 {
		bombs = append(bombs, writeTestFile(t, filepath.Join(dir, fmt.Sprintf("bomb-lying-%d.json.gz", i)), lying))
	}
	for i := range 2 {
		bombs = append(bombs, writeTestFile(t, filepath.Join(dir, fmt.Sprintf("bomb-honest-%d.json.gz", i)), honest))
	}
	var zeros bytes.Buffer
	zw := gzip.NewWriter(&zeros)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	zeroFile := writeTestFile(t, filepath.Join(dir, "zeros.json.gz"), zeros.Bytes())
	huge := filepath.Join(dir, "huge.json")
	hf, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := hf.Truncate(900 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	hf.Close()
	plain := filepath.Join(dir, "plain-array.json")
	pf, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	pf.WriteString("[")
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for range 200 {
		pf.Write(spaces)
	}
	pf.WriteString(`{"eventVersion":"1.08","eventID":"in-the-big-one","eventName":"X"}]`)
	pf.Close()

	db := filepath.Join(t.TempDir(), "case.duckdb")
	args, _ := json.Marshal([]string{"--db", db, "ingest", "files", dir})
	child := exec.Command(os.Args[0], "-test.run=^TestIngestChild$")
	child.Env = append(os.Environ(), "TRAILHOUND_TEST_INGEST="+string(args), "GOMAXPROCS=4")
	var stderr bytes.Buffer
	child.Stderr = &stderr
	err = child.Run()
	code := child.ProcessState.ExitCode()
	rss := child.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	t.Logf("peak RSS %.0f MiB", float64(rss)/(1<<20))
	if code != ExitPartial {
		t.Fatalf("exit %d (%v), want %d\n%s", code, err, ExitPartial, stderr.String())
	}
	if rss >= 1<<30 {
		t.Errorf("peak RSS %.0f MiB, want under 1 GiB", float64(rss)/(1<<20))
	}
	for _, b := range bombs {
		if !strings.Contains(stderr.String(), b+": decompresses to more than 256 MiB (a gzip bomb?): not read; raise --max-decompressed to read it") {
			t.Errorf("%s not rejected as a bomb:\n%s", b, stderr.String())
		}
	}
	for _, want := range []string{
		zeroFile + ": gzip of binary data, not JSON",
		huge + ": the file is 900 MiB, larger than the 256 MiB limit for one file: not read; raise --max-decompressed to read it",
		"files read:      3", "events new:      8", "files rejected:  8",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if got := sqlCSV(t, db, "SELECT count(*) FROM events WHERE event_id = 'in-the-big-one'"); got != "1" {
		t.Errorf("the 200 MB file's event is not stored")
	}
}
