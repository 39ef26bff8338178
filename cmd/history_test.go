package cmd

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/awsfake"
	"github.com/trailhound/trailhound/ingest/synth"
)

// fakeAWS serves a small generated incident's event history, and isolates the SDK from
// the developer's own AWS configuration: static test credentials, no profile files.
func fakeAWS(t *testing.T) (*awsfake.Server, synth.Manifest) {
	t.Helper()
	dir := t.TempDir()
	m, err := synth.Generate(t.Context(), dir, synth.Options{Seed: 31, Events: 300})
	if err != nil {
		t.Fatal(err)
	}
	f := awsfake.New()
	t.Cleanup(f.Close)
	if _, err := f.LoadTrailTree(dir); err != nil {
		t.Fatal(err)
	}
	for r := range m.EventsByRegion {
		f.Regions = append(f.Regions, awsfake.Region{Name: r, OptInStatus: "opt-in-not-required"})
	}
	f.Regions = append(f.Regions, awsfake.Region{Name: "af-south-1", OptInStatus: "not-opted-in"})
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
	return f, m
}

func window(m synth.Manifest) (string, string) {
	return m.From.Add(-time.Hour).Format(time.RFC3339), m.To.Add(time.Hour).Format(time.RFC3339)
}

func storedEvents(t *testing.T, db string) int {
	t.Helper()
	code, out, stderr := trailhound(t, "--db", db, "sql", "--format", "csv", "SELECT count(*) AS n FROM events")
	if code != ExitOK {
		t.Fatalf("sql: exit %d: %s", code, stderr)
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(out, "n\n")))
	if err != nil {
		t.Fatalf("sql output %q", out)
	}
	return n
}

// TestIngestHistoryCommand: the per-service endpoint variables are honoured; every
// enabled region is read at the real rate (2 requests/s); a second run reads nothing.
func TestIngestHistoryCommand(t *testing.T) {
	f, m := fakeAWS(t)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", f.URL)
	t.Setenv("AWS_ENDPOINT_URL_EC2", f.URL)
	db := filepath.Join(t.TempDir(), "case.duckdb")
	from, to := window(m)
	code, out, stderr := trailhound(t, "--db", db, "ingest", "history", "--from", from, "--to", to)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if out != "" {
		t.Errorf("ingest history wrote to stdout: %q", out)
	}
	if n := storedEvents(t, db); n != m.DistinctEvents {
		t.Errorf("stored %d events, generator wrote %d", n, m.DistinctEvents)
	}
	for r, n := range m.EventsByRegion {
		if !strings.Contains(stderr, "  "+r+" ") || !strings.Contains(stderr, " done ") {
			t.Errorf("the region table lacks %s (%d events):\n%s", r, n, stderr)
		}
	}
	if strings.Contains(stderr, "af-south-1") {
		t.Errorf("a region the account has not enabled was read:\n%s", stderr)
	}
	code, _, stderr = trailhound(t, "--db", db, "ingest", "history", "--from", from, "--to", to)
	if code != ExitOK || !strings.Contains(stderr, "events new:      0") || !strings.Contains(stderr, "already read by an earlier run") {
		t.Errorf("second run: exit %d\n%s", code, stderr)
	}
	if c := f.Calls(); len(c) != len(m.EventsByRegion) {
		t.Errorf("LookupEvents called in %d regions over both runs, want %d (the first run only)", len(c), len(m.EventsByRegion))
	}
}

// TestCollectCommand: with AWS_ENDPOINT_URL (every service) and no trail, collect prints
// who it is and the plan, reads event history in every region, and prints the coverage.
func TestCollectCommand(t *testing.T) {
	f, m := fakeAWS(t)
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	db := filepath.Join(t.TempDir(), "case.duckdb")
	from, to := window(m)
	code, out, stderr := trailhound(t, "--db", db, "collect", "--from", from, "--to", to)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if out != "" {
		t.Errorf("collect wrote to stdout: %q", out)
	}
	for _, want := range []string{"identity:  " + f.Arn + " (account " + f.Account + ")", "trails:    none",
		"plan:", "coverage (events stored in the window", "all sources (distinct)", "events new:      " + strconv.Itoa(m.DistinctEvents)} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Index(stderr, "plan:") > strings.Index(stderr, "coverage") {
		t.Errorf("the plan is not printed before the coverage:\n%s", stderr)
	}
	if n := storedEvents(t, db); n != m.DistinctEvents {
		t.Errorf("stored %d events, generator wrote %d", n, m.DistinctEvents)
	}
}

// TestCollectErrors: expired credentials give the fix; a missing --from is a usage error.
func TestCollectErrors(t *testing.T) {
	f, m := fakeAWS(t)
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	f.STSError = "ExpiredToken"
	db := filepath.Join(t.TempDir(), "case.duckdb")
	from, to := window(m)
	code, _, stderr := trailhound(t, "--db", db, "collect", "--from", from, "--to", to)
	if code != ExitFailure || !strings.Contains(stderr, "Hint: the AWS credentials have expired") {
		t.Errorf("expired credentials: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := trailhound(t, "--db", db, "collect", "--to", to); code != ExitUsage {
		t.Errorf("no --from: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "history", "--from", to, "--to", from); code != ExitUsage {
		t.Errorf("--from after --to: exit %d\n%s", code, stderr)
	}
}
