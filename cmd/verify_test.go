package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/ingest/awsfake"
	"github.com/trailhound/trailhound/ingest/synth"
)

// TestVerifyCommand: a clean demo trail verifies (exit 0) with its public keys file, the
// findings are data on stdout in the format asked for and the summary is on stderr; the
// same trail tampered with exits 4 and names the changed files; a keys file of the wrong
// shape is a usage error naming the file.
func TestVerifyCommand(t *testing.T) {
	for _, tamper := range []bool{false, true} {
		out := t.TempDir()
		args := []string{"demo", "--out", out, "--events", "3000", "--generate-only"}
		if tamper {
			args = append(args, "--tamper")
		}
		code, _, stderr := trailhound(t, args...)
		if code != ExitOK {
			t.Fatalf("demo: exit %d\n%s", code, stderr)
		}
		db := filepath.Join(out, "case.duckdb")
		if code, _, stderr := trailhound(t, "--db", db, "ingest", "files", filepath.Join(out, "trail")); code != ExitOK {
			t.Fatalf("ingest: exit %d\n%s", code, stderr)
		}
		keys := filepath.Join(out, "public-keys.json")
		code, stdout, vstderr := trailhound(t, "--db", db, "verify", "--public-keys", keys, "--format", "json")
		var rows []struct {
			Kind      string `json:"kind"`
			Tampering bool   `json:"tampering"`
			Object    string `json:"object"`
			Detail    string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
			t.Fatalf("--format json: %v\n%s", err, stdout)
		}
		if !tamper {
			if code != ExitOK || !strings.Contains(vstderr, "result:          no tampering or loss found") {
				t.Errorf("clean trail: exit %d\n%s", code, vstderr)
			}
			for _, r := range rows {
				if r.Tampering {
					t.Errorf("clean trail: %+v", r)
				}
			}
			continue
		}
		if code != ExitTampered || !strings.Contains(vstderr, "TAMPERING OR LOSS: 2 findings") {
			t.Errorf("tampered trail: exit %d\n%s", code, vstderr)
		}
		// The demo names what it changed on stderr: "tampered: KEY (kind)".
		changed := regexp.MustCompile(`tampered: (\S+) \((\S+)\)`).FindAllStringSubmatch(stderr, -1)
		if len(changed) != 2 {
			t.Fatalf("demo --tamper says %q", stderr)
		}
		for _, c := range changed {
			found := false
			for _, r := range rows {
				found = found || (r.Tampering && r.Kind == c[2] && strings.HasSuffix(r.Object, c[1]))
			}
			if !found {
				t.Errorf("verify does not report %s as %s: %+v", c[1], c[2], rows)
			}
		}
		code, stdout, _ = trailhound(t, "--db", db, "query", "tampered-events", "--format", "csv")
		if code != ExitOK || !strings.Contains(stdout, "RunInstances") || !strings.Contains(stdout, "eu-west-3") {
			t.Errorf("tampered-events: exit %d\n%s", code, stdout)
		}
	}
	bad := filepath.Join(t.TempDir(), "keys.json")
	os.WriteFile(bad, []byte(`{"Keys": []}`), 0o644)
	code, _, stderr := trailhound(t, "--db", filepath.Join(t.TempDir(), "x.duckdb"), "verify", "--public-keys", bad)
	if code != ExitUsage || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "PublicKeyList") {
		t.Errorf("wrong-shape keys file: exit %d\n%s", code, stderr)
	}
	code, _, stderr = trailhound(t, "verify", "--format", "xml")
	if code != ExitUsage {
		t.Errorf("--format xml: exit %d\n%s", code, stderr)
	}
}

// TestVerifyListPublicKeys: without --public-keys, verify asks CloudTrail for the keys
// through the SDK's endpoint variables (the in-process endpoint, awsJson1.1), keeps them,
// and a second run makes no AWS call at all.
func TestVerifyListPublicKeys(t *testing.T) {
	f, _ := fakeAWS(t)
	dir := t.TempDir()
	m, err := synth.Generate(t.Context(), dir, synth.Options{Seed: 5, Events: 2000})
	if err != nil {
		t.Fatal(err)
	}
	k := m.PublicKey
	f.PublicKeys = map[string][]awsfake.PublicKey{}
	for r := range m.EventsByRegion {
		f.PublicKeys[r] = []awsfake.PublicKey{{Fingerprint: k.Fingerprint, Value: k.Value, ValidFrom: k.ValidFrom, ValidTo: k.ValidTo}}
	}
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
	db := filepath.Join(t.TempDir(), "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "files", dir); code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	code, _, stderr := trailhound(t, "--db", db, "verify")
	if code != ExitOK || !strings.Contains(stderr, "fetched with ListPublicKeys") || !strings.Contains(stderr, "no tampering or loss found") {
		t.Errorf("first run: exit %d\n%s", code, stderr)
	}
	if n := f.Other("cloudtrail.ListPublicKeys"); n != int64(len(m.EventsByRegion)) {
		t.Errorf("ListPublicKeys called %d times for %d regions", n, len(m.EventsByRegion))
	}
	f.Reset()
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens: any call would fail
	code, _, stderr = trailhound(t, "--db", db, "verify")
	if code != ExitOK || strings.Contains(stderr, "warning") || strings.Contains(stderr, "ListPublicKeys") {
		t.Errorf("second run: exit %d\n%s", code, stderr)
	}
}
