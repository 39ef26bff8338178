package ingest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// realdata is the shared corpus of real CloudTrail files (../shared/realdata beside the clone).
const realdata = "../../shared/realdata"

func readInput(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("test input missing (is ../shared beside the clone?): %v", err)
	}
	defer f.Close()
	stored, err := readStored(f, DefaultMaxDecompressed)
	if err != nil {
		t.Fatal(err)
	}
	p, err := readPayload(stored, DefaultMaxDecompressed)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return p.Content
}

func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		path    string
		shape   Shape
		records int
	}{
		{realdata + "/sans-504-s3-ransomware-lab/us-east-1/2021/07/29/342082656213_CloudTrail_us-east-1_20210729T2355Z_MDyKg5ywb22HcLIj.json.gz", ShapeRecords, 0},
		{realdata + "/invictus-ir-aws-dataset/CloudTrail/218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json", ShapeRecords, 0},
		{realdata + "/stratus-red-team-detonation-logs/aws.persistence.iam-create-admin-user.json", ShapeArray, 0},
		{realdata + "/stratus-red-team-detonation-logs/aws.defense-evasion.bedrock-guardrail-delete.json", ShapeObject, 1},
		{realdata + "/sekoia-intake-formats/sekoia_cloudtrail_test_events.jsonl", ShapeJSONL, 15},
		{realdata + "/plaso-lookup-events/aws_cloudtrail.jsonl", ShapeJSONL, 6},
		{"../testdata/shapes/lookup-events-export.json", ShapeLookup, 4},
		{realdata + "/elastic-integrations-samples/test-cloudtrail-digest-json.log", ShapeDigest, 0},
		{realdata + "/traildiscover-samples/logExamples/CreateAccessKey.json.cloudtrail", ShapeArray, 0},
		{realdata + "/traildiscover-samples/logExamples/CreateFilter.json.cloudtrail", ShapeArray, -1}, // an empty array
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			d, err := Decode(readInput(t, tt.path))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d.Shape != tt.shape {
				t.Errorf("shape = %s, want %s", d.Shape, tt.shape)
			}
			if tt.records > 0 && len(d.Records) != tt.records {
				t.Errorf("records = %d, want %d", len(d.Records), tt.records)
			}
			if tt.shape == ShapeDigest {
				if d.Digest == nil || d.Digest.AccountID != "123456789123" || d.Digest.LogFiles == 0 || len(d.Records) != 0 {
					t.Errorf("digest = %+v, records %d", d.Digest, len(d.Records))
				}
				return
			}
			if tt.records < 0 {
				if len(d.Records) != 0 {
					t.Errorf("records = %d, want none", len(d.Records))
				}
				return
			}
			if len(d.Records) == 0 {
				t.Errorf("no records")
			}
			for _, r := range d.Records {
				if r.EventID == "" || r.Time.IsZero() || len(r.Raw) == 0 || r.Raw[0] != '{' {
					t.Errorf("record missing id/name/time: %+v", r)
				}
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"csv", realdata + "/otrf-security-datasets/AWS_S3_HoneyBucketLogs.csv", "not JSON"},
		{"malformed array", realdata + "/stratus-datadog-forwarder-2022/aws.execution.ec2-user-data.json", "malformed JSON at line 112"},
		{"malformed records", realdata + "/aws-cloudtrail-processing-library-fixtures/SerializerTestFileBadJsonFormat.json", "malformed JSON at line"},
		{"sns envelope", realdata + "/aws-cloudtrail-processing-library-fixtures/SQSMessageBody.json", "not CloudTrail"},
		{"knowledge base", realdata + "/traildiscover-samples/traildiscover_events_knowledgebase.json", "not a CloudTrail event"},
		{"labels jsonl", realdata + "/panther-analysis-tests/panther_cloudtrail_test_labels.jsonl", "line 1 is not a CloudTrail event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(readInput(t, tt.input))
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("Decode = %v, want a RejectError", err)
			}
			if !strings.Contains(re.Reason, tt.want) {
				t.Errorf("reason %q does not contain %q", re.Reason, tt.want)
			}
		})
	}
	for name, in := range map[string]string{
		"empty":          "  \n",
		"scalar":         "42",
		"hostile text":   "\x1b]0;pwned\x07 not json",
		"jsonl no event": "{\"eventVersion\":\n{\"other\":1}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(in))
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("Decode = %v, want a RejectError", err)
			}
			if strings.ContainsAny(re.Reason, "\x1b\x07") {
				t.Errorf("reason carries control characters: %q", re.Reason)
			}
		})
	}
}

func TestRecordFieldsTolerateRealQuirks(t *testing.T) {
	// Non-ISO eventTime (Grimoire/bedrock), @timestamp instead of eventTime (Logstash export),
	// booleans as strings, fake regions.
	bedrock, err := Decode(readInput(t, realdata+"/stratus-red-team-detonation-logs/aws.defense-evasion.bedrock-guardrail-delete.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bedrock.Records[0].Time, time.Date(2025, 3, 26, 16, 43, 57, 0, time.UTC); !got.Equal(want) {
		t.Errorf("bedrock eventTime = %v, want %v", got, want)
	}
	otrf, err := Decode(readInput(t, realdata+"/otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range otrf.Records {
		if r.Time.IsZero() || r.Time.Year() != 2020 {
			t.Fatalf("@timestamp not used: %v (%s)", r.Time, r.EventID)
		}
	}
	if r := parseRecord([]byte(`{"eventVersion":"1.08","eventTime":"redacted"}`)); !r.Time.IsZero() || !strings.HasPrefix(r.EventID, "th-") {
		t.Errorf("redacted time / missing id: %+v", r)
	}
}

func TestSyntheticIDIsStableAcrossFormatting(t *testing.T) {
	arr, err := Decode(readInput(t, "../testdata/shapes/no-event-id.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := Decode(readInput(t, "../testdata/shapes/no-event-id.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(arr.Records) != 2 || len(lines.Records) != 2 {
		t.Fatalf("records: %d and %d", len(arr.Records), len(lines.Records))
	}
	for i := range arr.Records {
		a, b := arr.Records[i].EventID, lines.Records[i].EventID
		if !strings.HasPrefix(a, "th-") || a != b {
			t.Errorf("record %d: ids %q and %q", i, a, b)
		}
	}
	if arr.Records[0].EventID == arr.Records[1].EventID {
		t.Errorf("two different records got the same synthetic id")
	}
}

func TestLookupEventsUnwrapCloudTrailEvent(t *testing.T) {
	d, err := Decode(readInput(t, realdata+"/plaso-lookup-events/aws_cloudtrail.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	r := d.Records[0]
	if r.EventID != "0828c0d2-3589-4390-b954-c78b4a7df44b" || !bytes.HasPrefix(r.Raw, []byte(`{"eventVersion"`)) {
		t.Errorf("first lookup record = %s %s", r.EventID, r.Raw[:min(40, len(r.Raw))])
	}
	// The inner record's UTC time wins over the export's local-time EventTime.
	if want := time.Date(2022, 2, 7, 22, 23, 37, 0, time.UTC); !r.Time.Equal(want) {
		t.Errorf("time = %v, want %v", r.Time, want)
	}
}
