package viz

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

// TestPackConflicts: a store whose logs hold ten sign-ins under two eventIDs gives a pack
// that lists all ten (data/conflicts.csv, with time, identity, address and file) and says
// in answers.md that they were kept; a store without such records says nothing of them.
func TestPackConflicts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "trail")
	m, err := synth.Generate(t.Context(), dir, synth.Options{Seed: 5, Events: 1500, ReusedIDSignIns: 10})
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "case.duckdb")
	st, err := queries.Open(t.Context(), store, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Run(t.Context(), st, ingest.Files{Paths: []string{dir}}, ingest.Options{}, slog.New(slog.DiscardHandler))
	st.Close()
	if err != nil || sum.EventsConflicting != 8 {
		t.Fatalf("ingest: %v, %d conflicting", err, sum.EventsConflicting)
	}
	ro, err := queries.Open(t.Context(), store, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	pack := filepath.Join(t.TempDir(), "pack")
	if _, err := WritePack(t.Context(), ro.DB, packOptions(&incident{m: m}, pack), nil); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(pack, "data", "conflicts.csv"))
	if len(rows) != 10 {
		t.Fatalf("data/conflicts.csv has %d rows, want 10", len(rows))
	}
	users := map[string]bool{}
	for _, r := range rows {
		if r["event_id"] != m.ReusedIDs[0] && r["event_id"] != m.ReusedIDs[1] || r["source_ip"] == "" ||
			r["event_time"] == "" || !strings.HasPrefix(r["sources"], dir) {
			t.Errorf("row %v", r)
		}
		users[r["identity"]] = true
	}
	if len(users) != 10 {
		t.Errorf("%d identities, want 10", len(users))
	}
	answers := string(readFile(t, filepath.Join(pack, "answers.md")))
	const said = "the logs hold 10 records under 2 eventIDs with different content"
	if !strings.Contains(answers, said) || !strings.Contains(answers, "data/conflicts.csv") {
		t.Errorf("answers.md does not say %q:\n%s", said, answers)
	}
	page := string(readFile(t, filepath.Join(pack, "index.html")))
	if !strings.Contains(page, "Records that share an eventID with different content") {
		t.Error("the page has no conflicts table")
	}

	_, clean := testPack(t)
	if rows := readCSV(t, filepath.Join(clean, "data", "conflicts.csv")); len(rows) != 0 {
		t.Errorf("the fixture's pack lists %d conflicting records", len(rows))
	}
	if a := string(readFile(t, filepath.Join(clean, "answers.md"))); strings.Contains(a, "share an eventID") {
		t.Error("answers.md speaks of records sharing an eventID when none do")
	}
}
