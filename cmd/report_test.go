package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/synth"
)

// incidentStore generates a small incident and ingests it with the CLI; it returns the store and
// the generator's manifest.
func incidentStore(t *testing.T) (string, synth.Manifest) {
	t.Helper()
	dir := t.TempDir()
	m, err := synth.Generate(t.Context(), filepath.Join(dir, "trail"), synth.Options{Seed: 5, Events: 2000})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "-q", "ingest", "files", filepath.Join(dir, "trail")); code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	return db, m
}

func TestReportAndChartCommands(t *testing.T) {
	db, m := incidentStore(t)
	out := filepath.Join(t.TempDir(), "evidence")
	args := []string{"--db", db, "report", "--key", m.LeakedKey, "--from", "2026-11-01", "--out", out}
	code, stdout, stderr := trailhound(t, args...)
	if code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	if stdout != out+"\n" {
		t.Errorf("report stdout %q, want the directory", stdout)
	}
	var man struct {
		Version string   `json:"version"`
		Command []string `json:"command_line"`
		RunBy   string   `json:"run_by"`
		RunAt   string   `json:"run_at"`
		Scope   struct {
			Keys []string
			From string
		}
		Files []struct{ Path string }
	}
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.Version != version() {
		t.Errorf("manifest version %q, --version says %q", man.Version, version())
	}
	if !slices.Equal(man.Command, append([]string{"trailhound"}, args...)) {
		t.Errorf("manifest command line %q", man.Command)
	}
	if man.RunBy == "" || man.Scope.From != "2026-11-01T00:00:00Z" || !slices.Equal(man.Scope.Keys, []string{m.LeakedKey}) {
		t.Errorf("manifest run_by %q, scope %+v", man.RunBy, man.Scope)
	}
	if at, err := time.Parse(time.RFC3339, man.RunAt); err != nil || time.Since(at) > time.Hour {
		t.Errorf("manifest run_at %q (%v)", man.RunAt, err)
	}
	for _, f := range []string{"index.html", "answers.md", "data/lineage-events.jsonl", "data/tasks-per-hour.csv"} {
		if !slices.ContainsFunc(man.Files, func(x struct{ Path string }) bool { return x.Path == f }) {
			t.Errorf("the manifest does not list %s", f)
		}
	}

	code, stdout, stderr = trailhound(t, "--db", db, "chart", "list")
	if code != ExitOK {
		t.Fatalf("chart list: exit %d\n%s", code, stderr)
	}
	for _, name := range []string{"tasks-per-hour", "instances-per-hour", "calls-per-hour", "region-heatmap", "key-timeline"} {
		if !strings.Contains(stdout, "\n "+name+" ") {
			t.Errorf("chart list lacks %s:\n%s", name, stdout)
		}
	}
	page := filepath.Join(t.TempDir(), "tasks.html")
	code, stdout, stderr = trailhound(t, "--db", db, "chart", "tasks-per-hour", "--key", m.LeakedKey, "--out", page)
	if code != ExitOK || stdout != page+"\n" {
		t.Fatalf("chart: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(html), `id="chart-tasks-per-hour"`) {
		t.Errorf("chart page: %v", err)
	}
}

func TestReportAndChartUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.duckdb")
	for name, args := range map[string][]string{
		"report without key": {"--db", db, "report", "--out", t.TempDir()},
		"empty key":          {"--db", db, "report", "--key", " ", "--out", t.TempDir()},
		"bad from":           {"--db", db, "report", "--key", "AKIAIOSFODNN7EXAMPLE", "--from", "yesterday"},
		"to before from":     {"--db", db, "chart", "calls-per-hour", "--from", "2026-11-08", "--to", "2026-11-07"},
		"chart without name": {"--db", db, "chart"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, _, stderr := trailhound(t, args...); code != ExitUsage {
				t.Errorf("exit %d, want %d\n%s", code, ExitUsage, stderr)
			}
		})
	}
	store, _ := incidentStore(t)
	// A key the store does not have: said once (not a warning and then an error), exit 2, nothing written.
	for _, args := range [][]string{
		{"report", "--key", "AKIAIOSFODNN7EXAMPLE", "--out", filepath.Join(t.TempDir(), "pack")},
		{"chart", "calls-per-hour", "--key", "AKIAIOSFODNN7EXAMPLE", "--out", filepath.Join(t.TempDir(), "c.html")},
	} {
		code, stdout, stderr := trailhound(t, append([]string{"--db", store}, args...)...)
		if code != ExitUsage || stdout != "" || strings.Count(stderr, "AKIAIOSFODNN7EXAMPLE") != 1 ||
			!strings.Contains(stderr, "in no event of "+store) || strings.Contains(stderr, "warning") {
			t.Errorf("%s for a key the store does not have: exit %d, stdout %q\n%s", args[0], code, stdout, stderr)
		}
		if _, err := os.Stat(args[len(args)-1]); err == nil {
			t.Errorf("%s wrote %s", args[0], args[len(args)-1])
		}
	}
	for _, name := range []string{"nosuch", "left-running"} { // unknown, and a query with no chart
		if code, _, stderr := trailhound(t, "--db", store, "chart", name, "--out", filepath.Join(t.TempDir(), "x.html")); code != ExitUsage {
			t.Errorf("chart %s: exit %d, want %d\n%s", name, code, ExitUsage, stderr)
		}
	}
}

// TestDemoWritesPack: the demo writes the evidence pack of its incident under --out.
func TestDemoWritesPack(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := trailhound(t, "demo", "--out", out, "--events", "2000", "--seed", "9")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	pack := filepath.Join(out, "evidence-pack")
	if !strings.Contains(stdout, "Evidence pack for AWS Support: "+pack) {
		t.Errorf("the demo does not say where the pack is:\n%s", stdout)
	}
	m, err := synth.Generate(t.Context(), t.TempDir(), synth.Options{Seed: 9, Events: 2000, EventsPerFile: 30, DuplicateRate: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(pack, "index.html"))
	if err != nil || !strings.Contains(string(b), m.LeakedKey) {
		t.Errorf("the pack's page does not name the leaked key %s (%v)", m.LeakedKey, err)
	}
	for _, f := range []string{"manifest.json", "answers.md", "data/lineage-events.jsonl"} {
		if _, err := os.Stat(filepath.Join(pack, f)); err != nil {
			t.Error(err)
		}
	}
}
