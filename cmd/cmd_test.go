package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

const realdata = "../../shared/realdata"

// trailhound runs the whole CLI in-process and returns its exit code, stdout and stderr.
func trailhound(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestIngestFilesAndSQL(t *testing.T) {
	db := filepath.Join(t.TempDir(), "case.duckdb")
	// 312 + 6 records; one eventID appears in three of the anonymised Stratus files, on
	// three different events (LogLicker wrote one placeholder id): all three are kept, two
	// of them counted as sharing an eventID with different content.
	code, out, stderr := trailhound(t, "--db", db, "ingest", "files",
		realdata+"/stratus-red-team-detonation-logs", realdata+"/plaso-lookup-events")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if out != "" {
		t.Errorf("ingest wrote to stdout: %q", out)
	}
	for _, want := range []string{"files read:      38", "events new:      318", "events present:  0",
		"conflicting:     2 records share an eventID with different content", "files rejected:  0"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	code, out, stderr = trailhound(t, "--db", db, "sql", "--format", "json",
		"SELECT event_name, count(*) AS n FROM events WHERE aws_region = 'ap-southeast-2' GROUP BY ALL ORDER BY event_name")
	if code != ExitOK {
		t.Fatalf("sql exit %d: %s", code, stderr)
	}
	var rows []struct {
		EventName string `json:"event_name"`
		N         int    `json:"n"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("sql --format json: %v\n%s", err, out)
	}
	if len(rows) != 6 || rows[0].EventName != "CreateSecurityGroup" || rows[0].N != 1 {
		t.Errorf("rows = %+v", rows)
	}
}

func TestIngestPartialExitCode(t *testing.T) {
	db := filepath.Join(t.TempDir(), "case.duckdb")
	code, _, stderr := trailhound(t, "--db", db, "ingest", "files",
		realdata+"/stratus-datadog-forwarder-2022", realdata+"/otrf-security-datasets")
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, stderr)
	}
	for _, want := range []string{
		"aws.execution.ec2-user-data.json: malformed JSON at line 112",
		"AWS_S3_HoneyBucketLogs.csv: not JSON",
		"files rejected:  2",
		"events new:      115",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "case.duckdb")
	for name, args := range map[string][]string{
		"no paths":     {"--db", db, "ingest", "files"},
		"missing path": {"--db", db, "ingest", "files", "/nonexistent/trail"},
		"bad flag":     {"--db", db, "ingest", "files", "--bogus", "."},
		"bad format":   {"--db", db, "sql", "--format", "xml", "SELECT 1"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := trailhound(t, args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d\n%s", code, ExitUsage, stderr)
			}
		})
	}
}

func TestDBFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.duckdb")
	t.Setenv("TRAILHOUND_DB", db)
	code, _, stderr := trailhound(t, "ingest", "files", realdata+"/plaso-lookup-events")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("TRAILHOUND_DB not used: %v", err)
	}
}

// TestHoldStore is not a test on its own: TestLockedStore runs the test binary with
// TRAILHOUND_TEST_HOLD set to make a second process that holds the store open.
func TestHoldStore(t *testing.T) {
	path := os.Getenv("TRAILHOUND_TEST_HOLD")
	if path == "" {
		return
	}
	st, err := queries.Open(context.Background(), path, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	os.Stdout.WriteString("ready\n")
	bufio.NewReader(os.Stdin).ReadString('\n') // hold until the parent closes stdin
}

func TestLockedStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "case.duckdb")
	holder := exec.Command(os.Args[0], "-test.run=^TestHoldStore$")
	holder.Env = append(os.Environ(), "TRAILHOUND_TEST_HOLD="+db)
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer stdin.Close()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("holder said %q", line)
	}
	code, _, stderr := trailhound(t, "--db", db, "ingest", "files", realdata+"/plaso-lookup-events")
	if code != ExitFailure || !strings.Contains(stderr, "another trailhound is using "+db) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, "goroutine") || strings.Count(stderr, "\n") > 2 {
		t.Errorf("want one clear line, got:\n%s", stderr)
	}
}

// TestDemo runs the main job on a small incident and checks what it prints against the
// generator's own ground truth (regenerated here with the same options).
func TestDemo(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := trailhound(t, "demo", "--out", out, "--events", "5000", "--seed", "7")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	m, err := synth.Generate(t.Context(), t.TempDir(), synth.Options{Seed: 7, Events: 5000, EventsPerFile: 30, DuplicateRate: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{m.LeakedKey, "## lineage", "## compute-launches", "## iam-changes", "## left-running",
		"## aws-markers", m.QuarantinePolicy, "## cost-total", "Estimated cost of the compute launched in this scope: USD ",
		"## integrity", "no tampering or loss found", fmt.Sprintf(" of %d digest signatures valid", m.DigestFiles)} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, list := range [][]string{m.AttackerUsers, m.DerivedKeys, m.AttackerConsoleKeys} {
		for _, s := range list {
			if !strings.Contains(stdout, s) {
				t.Errorf("demo output does not show %s", s)
			}
		}
	}
	if strings.Contains(stdout, m.OwnerNewKey) {
		t.Errorf("demo shows the owner's new key %s as derived from the leaked one", m.OwnerNewKey)
	}
	ec2, tasks := 0, 0
	for _, n := range m.RunInstances {
		ec2 += n
	}
	for _, n := range m.ECSTasks {
		tasks += n
	}
	left := map[string]int{}
	for _, r := range m.LeftRunning {
		left[r.Service+" "+r.Type]++
	}
	for _, want := range []string{
		fmt.Sprintf("%-22s %6d started", "ec2 RunInstances", ec2),
		fmt.Sprintf("%-22s %6d started", "ecs RunTask", tasks),
		fmt.Sprintf("%-22s %6d in", "ecs task", left["ecs task"]),
		fmt.Sprintf("%-22s %6d in", "ec2 instance", left["ec2 instance"]),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	st, err := queries.Open(t.Context(), filepath.Join(out, "demo.duckdb"), queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.DB.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil || n != m.DistinctEvents {
		t.Errorf("events = %d (%v), generator wrote %d distinct", n, err, m.DistinctEvents)
	}
}

// TestHostileFileNamesStayInert: a file name or content quoted in the summary cannot
// drive the terminal.
func TestHostileFileNamesStayInert(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "evil\x1b]0;pwned\x07\u202e.json")
	if err := os.WriteFile(name, []byte("\x1b[2Jnot json"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := trailhound(t, "--db", filepath.Join(t.TempDir(), "c.duckdb"), "ingest", "files", dir)
	if code != ExitPartial {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if strings.ContainsAny(stderr, "\x1b\x07\u202e") {
		t.Errorf("raw control characters reached stderr: %q", stderr)
	}
	if !strings.Contains(stderr, `evil\x1b]0;pwned\x07\u202e.json: not JSON`) {
		t.Errorf("summary does not name the file escaped:\n%s", stderr)
	}
}

func TestQueryCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "files", realdata+"/invictus-ir-aws-dataset"); code != ExitOK {
		t.Fatalf("ingest exit %d\n%s", code, stderr)
	}
	const key = "AKIATFQR7NSC8Q4X20BJ"

	t.Run("list", func(t *testing.T) {
		code, out, stderr := trailhound(t, "query", "list", "--format", "json") // needs no store
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var list []map[string]string
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		qs, _ := queries.Canned()
		if len(list) != len(qs) {
			t.Fatalf("%d queries listed, %d canned", len(list), len(qs))
		}
		for i, q := range qs {
			if list[i]["name"] != q.Name || list[i]["description"] != q.Description || list[i]["parameters"] != q.Parameters {
				t.Errorf("row %d = %v, want %s", i, list[i], q.Name)
			}
		}
		code, out, _ = trailhound(t, "query", "list")
		if code != ExitOK || !strings.HasPrefix(out, " name ") || !strings.Contains(out, " lineage ") {
			t.Errorf("table list: exit %d\n%s", code, out)
		}
	})

	t.Run("json is an array of objects named by column", func(t *testing.T) {
		code, out, stderr := trailhound(t, "--db", db, "query", "lineage", "--key", key, "--format", "json")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) < 10 {
			t.Fatalf("%v: %d rows\n%s", err, len(rows), out)
		}
		for _, col := range []string{"access_key_id", "parent_access_key_id", "via", "created_at", "principal", "note"} {
			if _, ok := rows[0][col]; !ok {
				t.Errorf("no column %s in %v", col, rows[0])
			}
		}
		if rows[0]["access_key_id"] != key || rows[0]["via"] != "seed" {
			t.Errorf("first row %v", rows[0])
		}
	})

	t.Run("window", func(t *testing.T) {
		code, out, stderr := trailhound(t, "--db", db, "query", "iam-changes", "--key", key,
			"--from", "2023-07-10T12:20:00Z", "--to", "2023-07-10T12:25:00Z", "--format", "csv")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 5 {
			t.Fatalf("%d lines:\n%s", len(lines), out)
		}
		for _, l := range lines[1:] {
			if l[:20] < "2023-07-10T12:20:00Z" || l[:20] >= "2023-07-10T12:25:00Z" {
				t.Errorf("row outside [from, to): %s", l)
			}
		}
	})

	t.Run("relative time", func(t *testing.T) {
		// 1000 weeks back reaches 2023: every event of the store is in the window.
		_, all, _ := trailhound(t, "--db", db, "query", "regions", "--format", "csv")
		code, out, stderr := trailhound(t, "--db", db, "query", "regions", "--from", "1000w", "--format", "csv")
		if code != ExitOK || out != all {
			t.Errorf("exit %d (%s), output with --from 1000w differs:\n%s\n%s", code, stderr, out, all)
		}
	})

	t.Run("unknown key", func(t *testing.T) {
		// A key the store does not know prints no made-up "seed" row: one error, exit 2.
		code, out, stderr := trailhound(t, "--db", db, "query", "lineage", "--key", "AKIANOTINTHESTORE000")
		if code != ExitUsage || out != "" || strings.Count(stderr, "AKIANOTINTHESTORE000") != 1 ||
			!strings.HasPrefix(stderr, "Error: key AKIANOTINTHESTORE000: in no event of "+db) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		// With a known key beside it: one warning, and the known key's lineage alone.
		code, out, stderr = trailhound(t, "--db", db, "query", "lineage", "--key", "AKIANOTINTHESTORE000,"+key, "--format", "csv")
		if code != ExitOK || stderr != "warning: key AKIANOTINTHESTORE000 appears in no event of "+db+": left out of the scope\n" {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		if strings.Contains(out, "AKIANOTINTHESTORE000") || !strings.Contains(out, key+",,seed,") {
			t.Errorf("lineage of the known key:\n%s", out)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for name, args := range map[string][]string{
			"unknown query":   {"query", "nope"},
			"no name":         {"query"},
			"malformed from":  {"query", "timeline", "--from", "yesterday"},
			"malformed to":    {"query", "timeline", "--to", "2023-13-01"},
			"to before from":  {"query", "timeline", "--from", "2023-07-11", "--to", "2023-07-10"},
			"key on coverage": {"query", "coverage", "--key", key},
			"from on lineage": {"query", "lineage", "--key", key, "--from", "7d"},
			"empty key":       {"query", "timeline", "--key", ""},
			"bad format":      {"query", "timeline", "--format", "xml"},
			"bad list format": {"query", "list", "--format", "xml"},
			"extra list args": {"query", "list", "extra"},
		} {
			t.Run(name, func(t *testing.T) {
				code, out, stderr := trailhound(t, append([]string{"--db", db}, args...)...)
				if code != ExitUsage || out != "" {
					t.Errorf("exit %d, %d bytes on stdout, stderr %s", code, len(out), stderr)
				}
			})
		}
	})
}

// TestIngestSaysConflicts: ten sign-ins under two eventIDs are all stored; the summary
// says 8 of them share an eventID with different content and where to look, and `query
// conflicts` lists the ten. A second ingest of the same files says nothing of conflicts.
func TestIngestSaysConflicts(t *testing.T) {
	trail := t.TempDir()
	m, err := synth.Generate(t.Context(), trail, synth.Options{Seed: 8, Events: 1200, ReusedIDSignIns: 10})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "case.duckdb")
	code, _, stderr := trailhound(t, "--db", db, "ingest", "files", trail)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	const line = "conflicting:     8 records share an eventID with different content: kept, see `trailhound query conflicts`\n"
	if !strings.Contains(stderr, line) || !strings.Contains(stderr, fmt.Sprintf("events new:      %d\n", m.DistinctEvents)) {
		t.Errorf("summary lacks %q or %d new events:\n%s", line, m.DistinctEvents, stderr)
	}
	code, out, stderr := trailhound(t, "--db", db, "query", "conflicts", "--format", "json")
	if code != ExitOK {
		t.Fatalf("query conflicts: exit %d\n%s", code, stderr)
	}
	var rows []struct {
		EventID  string `json:"event_id"`
		Identity string `json:"identity"`
		SourceIP string `json:"source_ip"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ips := map[string]bool{}
	for _, r := range rows {
		ips[r.SourceIP] = true
	}
	if len(rows) != 10 || len(ips) != 10 {
		t.Errorf("query conflicts: %d rows, %d addresses; want 10 and 10\n%s", len(rows), len(ips), out)
	}
	_, _, stderr = trailhound(t, "--db", db, "ingest", "files", trail)
	if strings.Contains(stderr, "conflicting:") || !strings.Contains(stderr, "events new:      0\n") {
		t.Errorf("second ingest:\n%s", stderr)
	}
}
