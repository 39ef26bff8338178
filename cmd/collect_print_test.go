package cmd

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest"
)

// TestWritePlan: the plan names each trail with its bucket, the permission a denied bucket
// needs, what event history reads per region, and attacker-chosen names print inert.
func TestWritePlan(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	win := ingest.Span{From: t0, To: t0.Add(48 * time.Hour)}
	p := &ingest.Plan{Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/ir", Window: win,
		Regions: []string{"eu-west-1", "us-east-1"}, Unavailable: map[string]string{"af-south-1": "not opted in"},
		Trails: []ingest.Trail{{Name: "main\x1b[2J", HomeRegion: "us-east-1", Bucket: "logs", MultiRegion: true,
			Regions: []string{"us-east-1"}, StatusKnown: true, Logging: true, Started: t0, Covers: win}},
		Buckets: []ingest.Bucket{{Name: "logs", Region: "us-east-1", Readable: true, Regions: []string{"us-east-1"}},
			{Name: "org", Reason: "access denied: the credentials need s3:ListBucket"}},
		S3:      map[string][]string{"us-east-1": {"main\x1b[2J"}},
		History: map[string][]ingest.Span{"eu-west-1": {win}},
	}
	var b bytes.Buffer
	writePlan(&b, p, map[string][]ingest.HistoryCursor{"eu-west-1": {{Region: "eu-west-1", QueryStart: win.From, QueryEnd: win.To, Pages: 3}}})
	out := b.String()
	flat := strings.Join(strings.Fields(out), " ") // the table's columns, aligned with spaces
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape sequence reached the terminal:\n%q", out)
	}
	for _, want := range []string{"identity: arn:aws:iam::111122223333:user/ir (account 111122223333)",
		"s3: s3://logs (bucket in us-east-1)", "s3://org: not read: access denied: the credentials need s3:ListBucket",
		"us-east-1 s3 (trail main", "eu-west-1 event history (resumes after page 3)", "af-south-1 not read not opted in"} {
		if !strings.Contains(flat, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}
