package cmd

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/ingest/synth"
)

// TestExportTimesketchPlaso: plaso's own CloudTrail sample (event history output, six
// events) exported for Timesketch gives, for its first event, the field values plaso's
// parser test expects of it (log2timeline/plaso tests/parsers/jsonl_plugins/
// aws_cloudtrail_log.py): the names Timesketch's CloudTrail analyzer reads are plaso's.
func TestExportTimesketchPlaso(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "files", realdata+"/plaso-lookup-events"); code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "plaso.jsonl")
	code, stdout, stderr := trailhound(t, "--db", db, "export", "timesketch", out)
	if code != ExitOK || stdout != "" || !strings.Contains(stderr, "wrote 6 events to") {
		t.Fatalf("export: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	lines := readJSONL(t, out)
	if len(lines) != 6 {
		t.Fatalf("%d lines, want the sample's 6", len(lines))
	}
	var first map[string]any
	for _, l := range lines {
		if l["event_name"] == "DescribeInstances" {
			first = l
		}
	}
	// plaso's recorded_time 2022-02-08T09:23:37.000000+11:00, in UTC as Timesketch wants it.
	for k, want := range map[string]any{
		"access_key": "0123456789ABCDEFGHIJ", "event_name": "DescribeInstances", "event_source": "ec2.amazonaws.com",
		"datetime": "2022-02-07T22:23:37.000000+00:00", "source_ip": "1.2.3.4",
		"user_identity_arn": "arn:aws:iam::012345678901:user/fakeusername", "user_name": "fakeusername",
		"data_type": "aws:cloudtrail:entry", "timestamp_desc": "Recorded Time", "timestamp": float64(1644272617000000),
	} {
		if first[k] != want {
			t.Errorf("%s = %#v, want %#v (plaso's)", k, first[k], want)
		}
	}
	if msg, _ := first["message"].(string); msg != "User fakeusername performed DescribeInstances on [] using access key 0123456789ABCDEFGHIJ from IP address 1.2.3.4" {
		t.Errorf("message = %q", msg)
	}
}

// TestExportTimesketchIncident: the generated incident's lineage, with a hostile event
// beside it, exported as Timesketch reads an import (python3 checks each line as
// timesketch/lib/utils.py's read_and_validate_jsonl does: the three required fields, a
// datetime with an explicit offset from which the timestamp in microseconds follows), one
// line per event of the timeline, the record whole, no raw control byte; an existing file
// is never replaced.
func TestExportTimesketchIncident(t *testing.T) {
	dir := t.TempDir()
	m, err := synth.Generate(t.Context(), filepath.Join(dir, "trail"), synth.Options{Seed: 3, Events: 1500})
	if err != nil {
		t.Fatal(err)
	}
	hostile := filepath.Join(dir, "hostile.json")
	rec := `{"Records":[{"eventVersion":"1.08","eventID":"hostile-1","eventTime":"2026-11-05T10:00:00Z","eventSource":"iam.amazonaws.com",` +
		`"eventName":"ListUsers\u001b[2J","awsRegion":"us-east-1","sourceIPAddress":"=cmd|' /C calc'!A0","userAgent":"<script>alert(1)</script>",` +
		`"userIdentity":{"type":"IAMUser","userName":"mallory\r\nUser admin performed Nothing","accessKeyId":"` + m.LeakedKey + `"}}]}`
	if err := os.WriteFile(hostile, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "files", filepath.Join(dir, "trail"), hostile); code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "incident.jsonl")
	if code, _, stderr := trailhound(t, "--db", db, "export", "timesketch", out, "--key", m.LeakedKey); code != ExitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	code, timeline, stderr := trailhound(t, "--db", db, "query", "timeline", "--key", m.LeakedKey, "--format", "jsonl")
	if code != ExitOK {
		t.Fatalf("timeline: exit %d\n%s", code, stderr)
	}
	want := strings.Count(timeline, "\n")
	check := `
import json, sys, datetime
n, last = 0, None
with open(sys.argv[1], 'rb') as f:
    for raw in f:
        assert all(b >= 0x20 for b in raw.rstrip(b'\n')), 'raw control byte in line %d' % (n + 1)
        e = json.loads(raw)
        for k in ('message', 'datetime', 'timestamp_desc'):
            assert isinstance(e.get(k), str) and e[k], 'line %d lacks %s' % (n + 1, k)
        dt = datetime.datetime.fromisoformat(e['datetime'])
        assert dt.utcoffset() == datetime.timedelta(0), e['datetime']
        assert e['timestamp'] == int(dt.timestamp() * 1000000), (e['timestamp'], e['datetime'])
        assert last is None or e['timestamp'] >= last, 'not in time order at line %d' % (n + 1)
        last = e['timestamp']
        rec = json.loads(e['cloud_trail_event'])
        assert rec['eventID'] == e['event_id'] and rec['eventName'] == e['event_name'], e['event_id']
        assert e['data_type'] == 'aws:cloudtrail:entry'
        n += 1
print(n)
`
	py, err := exec.Command("python3", "-c", check, out).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 rejects the export: %v\n%s", err, py)
	}
	if got := strings.TrimSpace(string(py)); got != strconv.Itoa(want) || want < 100 {
		t.Errorf("python3 read %s events; the timeline has %d", got, want)
	}
	var h map[string]any
	for _, l := range readJSONL(t, out) {
		if l["event_id"] == "hostile-1" {
			h = l
		}
	}
	if h == nil || h["event_name"] != "ListUsers\x1b[2J" || h["user_name"] != "mallory\r\nUser admin performed Nothing" {
		t.Errorf("the hostile event is not exported as it was recorded: %v", h)
	}

	before, _ := os.ReadFile(out)
	code, _, stderr = trailhound(t, "--db", db, "export", "timesketch", out)
	if code != ExitUsage || !strings.Contains(stderr, "never replaces") {
		t.Errorf("export over an existing file: exit %d\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("the existing file was changed")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v: %q", path, err, sc.Text())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
