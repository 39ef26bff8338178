package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetectCommand: trailhound detect over the Invictus sample (Stratus detonations in
// one account), built-in rules plus SigmaHQ's, whole store and scoped to a key.
func TestDetectCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "files", realdata+"/invictus-ir-aws-dataset"); code != ExitOK {
		t.Fatalf("ingest exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(dir, "rules")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "broken.yml"), []byte("title: [x\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "evil.yml"), []byte("title: \"\\e]0;pwned\\a\"\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    s:\n        eventName|bogus: x\n    condition: s\n"), 0o644)

	code, out, stderr := trailhound(t, "--db", db, "detect", "--rules", "../../shared/sigma/rules", "--rules", bad, "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) == 0 {
		t.Fatal("no findings on the Invictus detonations")
	}
	titles := map[string]bool{}
	for _, r := range rows {
		for _, c := range []string{"rule_id", "title", "level", "tags", "author", "event_id", "event_time", "region", "event_name", "access_key_id", "source_ip"} {
			if _, ok := r[c]; !ok {
				t.Fatalf("row lacks %s: %v", c, r)
			}
		}
		if r["author"] == "" || r["author"] == nil {
			t.Errorf("finding without the rule's author: %v", r)
		}
		titles[r["title"].(string)] = true
	}
	for _, want := range []string{"IAM user created", "Console password set for an IAM user", "AWS CloudTrail Important Change"} {
		if !titles[want] {
			t.Errorf("no finding of %q", want)
		}
	}
	for _, want := range []string{"rules loaded:", "rules skipped: 2", "broken.yml", "unknown modifier \"bogus\"", "rules fired:", "findings:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	if strings.ContainsRune(stderr, 0x1b) || strings.ContainsRune(stderr, 0x07) {
		t.Errorf("summary passes control characters through:\n%q", stderr)
	}

	// --level and --key narrow it
	code, out, stderr = trailhound(t, "--db", db, "detect", "--level", "high", "--key", "AKIATFQR7NSC8Q4X20BJ", "--format", "csv")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "rule_id,title,level,tags,author,event_id,variant,event_time,region,event_name,access_key_id,source_ip" {
		t.Errorf("csv header %q", lines[0])
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, ",high,") && !strings.Contains(l, ",critical,") {
			t.Errorf("--level high shows %s", l)
		}
	}
	if len(lines) < 2 {
		t.Errorf("no high finding on the key's lineage:\n%s", stderr)
	}

	for _, args := range [][]string{{"detect", "--no-builtin"}, {"detect", "--level", "severe"}, {"detect", "--format", "xml"}, {"detect", "--key", ""}} {
		if code, _, stderr := trailhound(t, append([]string{"--db", db}, args...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUsage, stderr)
		}
	}
}
