package cmd

import (
	"encoding/csv"
	"encoding/json"
	"html"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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

// TestReportIntegrity: the demo verifies its store before writing the pack. Untampered, the
// pack says every file behind it verified and the manifest gives each source file its
// verdict; tampered (demo --tamper), it names the modified file in answers.md, on the page
// and in the manifest, and marks exactly the lineage's events that tampered-events lists in
// the timeline (and key-usage counts them).
func TestReportIntegrity(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		out := t.TempDir()
		args := []string{"demo", "--out", out, "--events", "3000"}
		if tamper {
			args = append(args, "--tamper")
		}
		code, _, stderr := trailhound(t, args...)
		if code != ExitOK {
			t.Fatalf("demo: exit %d\n%s", code, stderr)
		}
		pack := filepath.Join(out, "evidence-pack")
		b, err := os.ReadFile(filepath.Join(pack, "answers.md"))
		if err != nil {
			t.Fatal(err)
		}
		answers := regexp.MustCompile(`\\([!-/:-@\[-`+"`"+`{-~])`).ReplaceAllString(string(b), "$1")
		page, err := os.ReadFile(filepath.Join(pack, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Sources []struct {
				Kind    string  `json:"kind"`
				URI     string  `json:"uri"`
				Verdict *string `json:"verdict"`
			} `json:"sources"`
		}
		mb, _ := os.ReadFile(filepath.Join(pack, "manifest.json"))
		if err := json.Unmarshal(mb, &m); err != nil || len(m.Sources) == 0 {
			t.Fatalf("manifest: %v, %d sources", err, len(m.Sources))
		}
		verdicts := map[string]string{}
		for _, s := range m.Sources {
			if s.Verdict == nil {
				t.Errorf("manifest: source %s has no verdict after verify", s.URI)
				continue
			}
			verdicts[s.URI] = *s.Verdict
		}
		timeline := readCSVFile(t, filepath.Join(pack, "data", "timeline.csv"))
		marked := map[string]bool{}
		for _, r := range timeline {
			if r["integrity"] != "" {
				marked[r["event_id"]] = true
			}
		}
		if !tamper {
			if !strings.Contains(answers, "Verified: all ") || !strings.Contains(string(page), "Verified: all ") {
				t.Errorf("untampered: the pack does not say the files verified:\n%s", answers[strings.Index(answers, "## 14."):])
			}
			n := 0
			for uri, v := range verdicts {
				// (the newest digests of a local copy have no signature to check: unverifiable,
				// and the log files they list unverified; never tampering)
				if !slices.Contains([]string{"verified", "unverified", "unverifiable"}, v) {
					t.Errorf("untampered: %s has verdict %s", uri, v)
				}
				if v == "verified" {
					n++
				}
			}
			if n == 0 {
				t.Error("untampered: no source file verified")
			}
			if len(marked) != 0 {
				t.Errorf("untampered: %d events marked in the timeline", len(marked))
			}
			continue
		}
		changed := regexp.MustCompile(`tampered: (\S+) \(modified\)`).FindStringSubmatch(stderr)
		if changed == nil {
			t.Fatalf("demo --tamper names no modified file:\n%s", stderr)
		}
		var uri string
		for u, v := range verdicts {
			if strings.HasSuffix(u, changed[1]) {
				uri = u
				if v != "modified" {
					t.Errorf("manifest: %s has verdict %s, want modified", u, v)
				}
			}
		}
		if uri == "" {
			t.Fatalf("manifest lists no source %s", changed[1])
		}
		if !strings.Contains(answers, "NOT VERIFIED") || !strings.Contains(answers, uri+" (modified)") {
			t.Errorf("answers.md does not name %s as modified:\n%s", uri, answers[strings.Index(answers, "## 14."):])
		}
		if !strings.Contains(html.UnescapeString(string(page)), uri+" (modified)") {
			t.Errorf("the page does not name %s as modified", uri)
		}
		db := filepath.Join(out, "demo.duckdb")
		key := regexp.MustCompile(`the leaked key is (\S+)`).FindStringSubmatch(stderr)
		if key == nil {
			t.Fatalf("demo does not name the key:\n%s", stderr)
		}
		code, stdout, qerr := trailhound(t, "--db", db, "query", "tampered-events", "--key", key[1], "--format", "csv")
		if code != ExitOK {
			t.Fatalf("tampered-events: exit %d\n%s", code, qerr)
		}
		want := map[string]bool{}
		for _, r := range readCSVText(t, stdout) {
			want[r["event_id"]] = true
		}
		if len(want) == 0 || !maps.Equal(marked, want) {
			t.Errorf("timeline marks %d events, tampered-events lists %d: %v vs %v", len(marked), len(want), marked, want)
		}
		markedKeys := 0
		for _, r := range readCSVFile(t, filepath.Join(pack, "data", "key-usage.csv")) {
			if r["integrity"] != "" {
				n, _ := strconv.Atoi(r["marked_events"])
				markedKeys += n
				if !strings.Contains(r["integrity"], "modified") {
					t.Errorf("key-usage: integrity %q, want modified", r["integrity"])
				}
			}
		}
		if markedKeys == 0 || markedKeys > len(marked) {
			t.Errorf("key-usage counts %d marked events, the timeline %d", markedKeys, len(marked))
		}
	}
}

func readCSVFile(t *testing.T, path string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readCSVText(t, string(b))
}

func readCSVText(t *testing.T, s string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("csv: %v", err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}
