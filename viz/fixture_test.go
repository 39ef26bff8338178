package viz

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

const goldenDir = "../testdata/golden/pack"

// The hostile records added to the generated incident: attacker-controlled text where the pack
// shows it (a region name lands in chart legends, axes, the summary and CSV cells; a user agent
// in the summary and tables), and secrets the pack must redact.
const (
	xssRegion    = `</script><img src=x onerror=alert(1)>`
	xssAgent     = `</script><svg onload=alert(2)>`
	formulaAgent = `=HYPERLINK("http://example.invalid/x","click")`
	formulaRgn   = `=cmd|' /C calc'!A0`
	hostileIP    = "203.0.113.200"
	fakeSecret   = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" // the AWS documentation's example secret key
	fakePassword = "correct-horse-battery-staple"
)

// hostileTasks are the ECS tasks the hostile records start, by region.
var hostileTasks = map[string]int{xssRegion: 2, formulaRgn: 1}

// hostileHour is when the hostile records happen (day 6 of the default synth start).
var hostileHour = time.Date(2026, 11, 8, 12, 0, 0, 0, time.UTC)

// incident is a generated incident, ingested, shared by the tests of this package.
type incident struct {
	dir   string // the generated CloudTrail tree (and hostile.json)
	store string // the DuckDB file
	m     synth.Manifest
	st    *queries.Store // opened read-only
}

var (
	fixtureOnce sync.Once
	fixture     *incident
	fixtureErr  error
	fixtureTmp  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fixture != nil {
		fixture.st.Close()
	}
	if fixtureTmp != "" {
		os.RemoveAll(fixtureTmp)
	}
	os.Exit(code)
}

// readAt is the fixed time the fixture's files are ingested at, so that its provenance is the
// same on every run.
var readAt = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// getIncident generates (once) a small incident with the hostile records, ingests it, and opens
// the store read-only.
func getIncident(t *testing.T) *incident {
	t.Helper()
	fixtureOnce.Do(func() {
		fixture, fixtureErr = makeIncident()
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture
}

func makeIncident() (*incident, error) {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "trailhound-viz-test-")
	if err != nil {
		return nil, err
	}
	fixtureTmp = tmp
	inc := &incident{dir: filepath.Join(tmp, "trail"), store: filepath.Join(tmp, "case.duckdb")}
	inc.m, err = synth.Generate(ctx, inc.dir, synth.Options{Seed: 3, Events: 3000, EventsPerFile: 40})
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(hostileRecords(inc.m), "", "  ") // pretty: a record with newlines in the store
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(inc.dir, "hostile.json"), b, 0o644); err != nil {
		return nil, err
	}
	st, err := queries.Open(ctx, inc.store, queries.OpenOptions{})
	if err != nil {
		return nil, err
	}
	_, err = ingest.Run(ctx, st, ingest.Files{Paths: []string{inc.dir}},
		ingest.Options{Command: "test", Now: func() time.Time { return readAt }}, slog.New(slog.DiscardHandler))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	inc.st, err = queries.Open(ctx, inc.store, queries.OpenOptions{ReadOnly: true})
	return inc, err
}

// hostileRecords are made with the leaked key from a new IP, so they belong to its lineage
// and to the attacker.
func hostileRecords(m synth.Manifest) []map[string]any {
	ident := map[string]any{"type": "IAMUser", "principalId": "AIDAHOSTILEEXAMPLE01",
		"arn": "arn:aws:iam::" + m.Account + ":user/" + m.LeakedKeyUser, "accountId": m.Account,
		"accessKeyId": m.LeakedKey, "userName": m.LeakedKeyUser}
	rec := func(i int, source, name, region, agent string) map[string]any {
		return map[string]any{
			"eventVersion": "1.08", "userIdentity": ident,
			"eventTime":   hostileHour.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
			"eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": hostileIP,
			"userAgent": agent, "requestID": fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			"eventID": fmt.Sprintf("11111111-0000-4000-8000-%012d", i), "readOnly": false,
			"eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": m.Account,
			"eventCategory": "Management",
		}
	}
	tasks := func(region string, n int) map[string]any {
		var ts []any
		for i := range n {
			ts = append(ts, map[string]any{"taskArn": fmt.Sprintf("arn:aws:ecs:%s:%s:task/x/%d", region, m.Account, i),
				"lastStatus": "PROVISIONING", "launchType": "FARGATE"})
		}
		return map[string]any{"tasks": ts, "failures": []any{}}
	}
	r1 := rec(1, "ecs.amazonaws.com", "RunTask", xssRegion, xssAgent)
	r1["requestParameters"] = map[string]any{"cluster": "x", "taskDefinition": "x:1", "count": 2}
	r1["responseElements"] = tasks(xssRegion, 2)
	r2 := rec(2, "ecs.amazonaws.com", "RunTask", formulaRgn, formulaAgent)
	r2["requestParameters"] = map[string]any{"cluster": "x", "taskDefinition": "x:1", "count": 1}
	r2["responseElements"] = tasks(formulaRgn, 1)
	r3 := rec(3, "ssm.amazonaws.com", "PutParameter", "us-east-1", formulaAgent)
	r3["requestParameters"] = map[string]any{"name": "/ci/token", "type": "String",
		"description": "copied from .env: aws_secret_access_key=" + fakeSecret,
		"password":    fakePassword,
		"environment": map[string]any{"variables": map[string]any{"AWS_SECRET_ACCESS_KEY": "s3cr3t-" + fakePassword}}}
	r3["responseElements"] = map[string]any{"version": 1, "tier": "Standard"}
	out := []map[string]any{r1, r2, r3}
	for i := range 10 { // the hostile agent among the attacker's most used tools in the summary
		r := rec(10+i, "sts.amazonaws.com", "GetCallerIdentity", "us-east-1", xssAgent)
		r["readOnly"] = true
		out = append(out, r)
	}
	return out
}
