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
	// 312 + 6 records; one eventID appears in three of the anonymised Stratus files.
	code, out, stderr := trailhound(t, "--db", db, "ingest", "files",
		realdata+"/stratus-red-team-detonation-logs", realdata+"/plaso-lookup-events")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if out != "" {
		t.Errorf("ingest wrote to stdout: %q", out)
	}
	for _, want := range []string{"files read:      38", "events new:      316", "events present:  2", "files rejected:  0"} {
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
		"## aws-markers", m.QuarantinePolicy} {
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
	if !strings.Contains(stderr, `evil\u001b]0;pwned\u0007\u202e.json: not JSON`) {
		t.Errorf("summary does not name the file escaped:\n%s", stderr)
	}
}
