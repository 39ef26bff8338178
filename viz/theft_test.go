package viz

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

// theftPack generates the stolen session key case, ingests it and writes its pack for the
// stolen key.
func theftPack(t *testing.T) (synth.TheftCase, string) {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	m, err := synth.GenerateTheft(ctx, filepath.Join(tmp, "trail"), synth.TheftOptions{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(tmp, "theft.duckdb")
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ingest.Run(ctx, st, ingest.Files{Paths: []string{filepath.Join(tmp, "trail")}},
		ingest.Options{Command: "test", Now: func() time.Time { return readAt }}, slog.New(slog.DiscardHandler))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err = queries.Open(ctx, db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := filepath.Join(tmp, "pack")
	o := PackOptions{Dir: dir, Params: queries.Params{Keys: []string{m.StolenKey}}, Version: "test",
		Command: []string{"trailhound", "report", "--key", m.StolenKey, "--out", "pack"}, RunBy: "tester@example",
		RunAt: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), StorePath: "case.duckdb"}
	if _, err := WritePack(t.Context(), st.DB, o, nil); err != nil {
		t.Fatal(err)
	}
	return m, dir
}

// summaryItems reads the page's "What happened" list: label -> the item's text, its list
// items joined by newlines, as a reader sees them (HTML unescaped).
func summaryItems(t *testing.T, page string) (map[string]string, string) {
	t.Helper()
	i, j := strings.Index(page, `<section id="summary">`), strings.Index(page, "</section>")
	if i < 0 || j < i {
		t.Fatal("no summary section")
	}
	sec := page[i:j]
	items := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<dt>(.*?)</dt>\s*<dd>(.*?)</dd>`).FindAllStringSubmatch(sec, -1) {
		text := strings.ReplaceAll(strings.ReplaceAll(m[2], "<li>", "\n"), "</li>", "")
		text = regexp.MustCompile(`</?ul>`).ReplaceAllString(text, "")
		items[html.UnescapeString(m[1])] = html.UnescapeString(text)
	}
	return items, html.UnescapeString(sec)
}

// markdownText undoes answers.md's escaping of Markdown punctuation.
func markdownText(s string) string {
	return regexp.MustCompile(`\\([!-/:-@\[-`+"`"+`{-~])`).ReplaceAllString(s, "$1")
}

// TestPackStolenSessionKey: the pack of a stolen Lambda session key says, in the victim's
// words, that the key was stolen, names only the foreign address as the attacker's, never
// AWS, and lists the data read, written and deleted and what was made public.
func TestPackStolenSessionKey(t *testing.T) {
	m, dir := theftPack(t)
	items, sec := summaryItems(t, string(readFile(t, filepath.Join(dir, "index.html"))))
	answers := markdownText(string(readFile(t, filepath.Join(dir, "answers.md"))))

	stolen := fmt.Sprintf("The session key %s issued to Lambda function %s (execution role invoice-export-role) was used "+
		"from %s from %s to %s: it was stolen. Why: the function's own calls came from %s (Lambda runtime); this address "+
		"is not one of them.", m.StolenKey, m.Function, m.AttackerIP, fmtTime(m.FirstAttack), fmtTime(m.ForeignLast), m.FunctionIP)
	if got := items["Stolen session keys"]; strings.TrimSpace(got) != stolen {
		t.Errorf("stolen session keys:\n got %q\nwant %q", got, stolen)
	}
	if !strings.Contains(answers, stolen) {
		t.Errorf("answers.md does not say %q", stolen)
	}
	if got := items["Attacker's source IP addresses"]; got != m.AttackerIP {
		t.Errorf("attacker IPs %q, want only %s", got, m.AttackerIP)
	}
	for label, text := range items {
		if strings.Contains(text, "AWS Internal") || strings.Contains(text, m.FunctionIP) && label != "Stolen session keys" {
			t.Errorf("summary item %q names AWS's or the function's own address: %q", label, text)
		}
	}
	if !strings.Contains(sec, "from "+m.FunctionIP+" (where its own runtime or agent called), are the workload's, not the attacker's") {
		t.Errorf("the summary does not say the function's own address is left out")
	}
	data := fmt.Sprintf("s3://%s: read 2 objects (config/deploy.json, emergency.txt); wrote 1 object (README-RECOVER-FILES.txt); "+
		"deleted %d objects (%s and %d more); listed its objects", m.Bucket, len(m.ObjectsGone),
		strings.Join(m.ObjectsGone[:4], ", "), len(m.ObjectsGone)-4)
	if got := strings.TrimSpace(items["Data read or changed"]); got != data {
		t.Errorf("data read or changed:\n got %q\nwant %q", got, data)
	}
	if !strings.Contains(answers, "## 9. Data read or changed") || !strings.Contains(answers, data) {
		t.Errorf("answers.md has no data section saying %q", data)
	}
	for _, want := range []string{"made bucket " + m.Bucket + " public (AllUsers READ)",
		`made bucket ` + m.Bucket + ` public (its policy lets anyone, Principal "*", s3:GetObject)`,
		"removed the public access block of bucket " + m.Bucket,
		"shared snapshot " + m.Snapshot + " with account " + m.ExposedTo} {
		if !strings.Contains(items["Made public or shared"], want) || !strings.Contains(answers, want) {
			t.Errorf("the page or answers.md does not say %q", want)
		}
	}
	brute := fmt.Sprintf("%d denied calls over %d services in %d seconds from %s with key %s from %s: permission brute-forcing",
		m.BruteDenied, m.BruteServices, int(m.BruteLast.Sub(m.BruteFirst).Seconds()), fmtTime(m.BruteFirst), m.StolenKey, m.AttackerIP)
	if !strings.HasPrefix(strings.TrimSpace(items["Permission brute-forcing"]), brute) || !strings.Contains(answers, brute) {
		t.Errorf("brute-forcing: %q, want it to begin %q", items["Permission brute-forcing"], brute)
	}
	// The function created nothing: the cleanup answer must not claim it was all deleted.
	if got := items["Still there"]; got != "nothing: "+nothingCreated {
		t.Errorf("still there: %q", got)
	}
	if strings.Contains(answers, "was later stopped or deleted") {
		t.Error("answers.md says what was created was deleted, but nothing was created")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "credential-misuse.csv")); err != nil {
		t.Error(err)
	}
}
