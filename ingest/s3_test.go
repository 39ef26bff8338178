package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailhound/trailhound/ingest/synth"
)

// fakeS3 is an in-process S3 server (gofakes3) behind an optional wrapper handler.
type fakeS3 struct {
	srv    *httptest.Server
	client *s3.Client
	gets   atomic.Int64
	// deny answers 403 AccessDenied to requests whose prefix or key contains it.
	deny string
	// onGet runs on every GetObject.
	onGet func(n int64)
	// fault, when set, may answer a GetObject itself: it returns true when it did.
	fault func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	backend := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.URL.Path + "?" + r.URL.Query().Get("prefix")
		if f.deny != "" && strings.Contains(target, f.deny) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "" && strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0 {
			n := f.gets.Add(1)
			if f.onGet != nil {
				f.onGet(n)
			}
			if f.fault != nil && f.fault(w, r) {
				return
			}
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.client = s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(f.srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", ""),
		Retryer:      NewRetryer(discard())(),
	})
	return f
}

// upload puts every file under dir into bucket, keyed by its path relative to dir.
func (f *fakeS3) upload(t *testing.T, bucket, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		n++
		return f.put(t.Context(), bucket, filepath.ToSlash(rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fakeS3) put(ctx context.Context, bucket, key string, b []byte) error {
	_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)})
	return err
}

// generated writes a small synthetic incident and returns its directory and manifest.
func generated(t *testing.T, o synth.Options) (string, synth.Manifest) {
	t.Helper()
	dir := t.TempDir()
	if o.Events == 0 {
		o.Events = 4000
	}
	m, err := synth.Generate(t.Context(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// everything is a window holding every event of m.
func everything(m synth.Manifest) (time.Time, time.Time) {
	return m.From.Add(-time.Hour), m.To.Add(time.Hour)
}

// TestS3Layouts: plain and organization layouts, a key prefix, several accounts: every
// event the generator wrote is stored once, and the walk reports what it found.
func TestS3Layouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    synth.Options
		url  string // the prefix the user gives
	}{
		{"plain", synth.Options{Seed: 3}, ""},
		{"org with prefix", synth.Options{Seed: 4, OrgID: "o-a1b2c3d4e5", Prefix: "trails/main",
			Accounts: []string{"111122223333", "444455556666"}}, "trails/main"},
		{"prefix reaching into the layout", synth.Options{Seed: 5, Prefix: "ct"}, "ct/AWSLogs/111122223333/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := generated(t, tc.o)
			f := newFakeS3(t)
			f.upload(t, "trail", dir)
			st := openStore(t)
			from, to := everything(m)
			src := NewS3Source(f.client, S3Options{Bucket: "trail", Prefix: tc.url, From: from, To: to}, discard())
			sum, err := run(t, t.Context(), st, src, Options{From: from, To: to, Concurrency: 8})
			if err != nil {
				t.Fatal(err)
			}
			if got := count(t, st, "SELECT count(*) FROM events"); got != int64(m.DistinctEvents) {
				t.Errorf("stored %d events, generator wrote %d distinct", got, m.DistinctEvents)
			}
			if sum.Digests != m.DigestFiles || sum.FilesRead != m.Files+m.DigestFiles {
				t.Errorf("read %d objects (%d digests), generator wrote %d log + %d digest files",
					sum.FilesRead, sum.Digests, m.Files, m.DigestFiles)
			}
			l := src.Layout()
			var regions []string
			for r := range m.EventsByRegion {
				regions = append(regions, r)
			}
			if len(l.Regions) < len(regions)-1 || len(l.Accounts) != max(1, len(tc.o.Accounts)) {
				t.Errorf("layout: %d accounts %v, %d regions; generator: %d accounts, %d regions",
					len(l.Accounts), l.Accounts, len(l.Regions), max(1, len(tc.o.Accounts)), len(regions))
			}
			if tc.o.OrgID != "" && (len(l.OrgIDs) != 1 || l.OrgIDs[0] != tc.o.OrgID) {
				t.Errorf("org ids %v, want %s", l.OrgIDs, tc.o.OrgID)
			}
			if n := count(t, st, "SELECT count(*) FROM source_files WHERE kind = 's3' AND (etag IS NULL OR sha256 IS NULL OR last_modified IS NULL OR uri NOT LIKE 's3://trail/%')"); n != 0 {
				t.Errorf("%d objects without full provenance", n)
			}
		})
	}
}

// TestS3WindowAcrossMidnight: a window ending at midnight stores exactly the events a
// full local ingest has in that window, including those delivered in the next day's
// folder; the day folders outside the window are not listed.
func TestS3WindowAcrossMidnight(t *testing.T) {
	dir, m := generated(t, synth.Options{Seed: 6})
	if m.CrossMidnightFiles == 0 {
		t.Fatal("the generator wrote no file across midnight: the test would not test it")
	}
	f := newFakeS3(t)
	f.upload(t, "trail", dir)
	// The incident's busiest nights: day 5 evening to day 7 midnight.
	day := time.Date(m.FirstAttackerEvent.Year(), m.FirstAttackerEvent.Month(), m.FirstAttackerEvent.Day(), 0, 0, 0, 0, time.UTC)
	from, to := day.Add(12*time.Hour), day.AddDate(0, 0, 2)

	all := openStore(t)
	if _, err := run(t, t.Context(), all, Files{Paths: []string{dir}}, Options{}); err != nil {
		t.Fatal(err)
	}
	want := count(t, all, "SELECT count(*) FROM events WHERE event_time >= ? AND event_time < ?", from, to)

	st := openStore(t)
	src := NewS3Source(f.client, S3Options{Bucket: "trail", From: from, To: to}, discard())
	if _, err := run(t, t.Context(), st, src, Options{From: from, To: to}); err != nil {
		t.Fatal(err)
	}
	if got := count(t, st, "SELECT count(*) FROM events"); got != want || want == 0 {
		t.Errorf("window stored %d events, a full ingest has %d in it", got, want)
	}
	if got := count(t, st, "SELECT count(*) FROM events WHERE event_time < ? OR event_time >= ?", from, to); got != 0 {
		t.Errorf("%d events outside the window", got)
	}
	if n := count(t, st, "SELECT count(*) FROM source_files WHERE uri NOT SIMILAR TO ?",
		".*/("+day.Format("2006/01/02")+"|"+day.AddDate(0, 0, 1).Format("2006/01/02")+"|"+day.AddDate(0, 0, 2).Format("2006/01/02")+")/.*"); n != 0 {
		t.Errorf("%d objects read from day folders outside the window", n)
	}
}

// TestS3CorruptAndDenied: a corrupt object and a region that denies listing are reported
// with the reason (naming the missing permission); everything else is stored.
func TestS3CorruptAndDenied(t *testing.T) {
	dir, m := generated(t, synth.Options{Seed: 7})
	f := newFakeS3(t)
	f.upload(t, "trail", dir)
	from, to := everything(m)
	day := from.Format("2006/01/02")
	bad := "AWSLogs/111122223333/CloudTrail/us-east-1/" + day + "/111122223333_CloudTrail_us-east-1_" +
		from.Add(2*time.Hour).Format("20060102T1504") + "Z_corrupt.json.gz"
	if err := f.put(t.Context(), "trail", bad, []byte("\x1f\x8bnot really gzip")); err != nil {
		t.Fatal(err)
	}
	const denied = "eu-west-1"
	f.deny = "/CloudTrail/" + denied + "/"

	st := openStore(t)
	src := NewS3Source(f.client, S3Options{Bucket: "trail", From: from, To: to}, discard())
	sum, err := run(t, t.Context(), st, src, Options{From: from, To: to})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("Run = %v, want ErrPartial", err)
	}
	var sawBad, sawDenied bool
	for _, r := range sum.Rejected {
		switch {
		case r.URI == "s3://trail/"+bad && strings.Contains(r.Reason, "gzip"):
			sawBad = true
		case strings.Contains(r.URI, "/CloudTrail/"+denied+"/") && strings.Contains(r.Reason, "s3:ListBucket"):
			sawDenied = true
		default:
			t.Errorf("unexpected rejection %s: %s", r.URI, r.Reason)
		}
	}
	if !sawBad || !sawDenied {
		t.Errorf("rejections %v: want the corrupt object and the denied region", sum.Rejected)
	}
	want := int64(m.DistinctEvents - m.EventsByRegion[denied])
	// Events of the denied region delivered by other regions' files do not exist: each
	// region's files hold that region's events.
	if got := count(t, st, "SELECT count(*) FROM events"); got != want {
		t.Errorf("stored %d events, want %d (all but %s)", got, want, denied)
	}
	if n := count(t, st, "SELECT count(*) FROM ingest_errors"); n != int64(len(sum.Rejected)) {
		t.Errorf("ingest_errors has %d rows, summary %d", n, len(sum.Rejected))
	}
}

// TestS3Resume: an interrupted run leaves a consistent store; the next run fetches only
// what the first did not store, and a third fetches nothing (same keys and ETags).
func TestS3Resume(t *testing.T) {
	dir, m := generated(t, synth.Options{Seed: 8})
	f := newFakeS3(t)
	objects := int64(f.upload(t, "trail", dir))
	from, to := everything(m)
	st := openStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	f.onGet = func(n int64) {
		if n == objects/2 {
			cancel()
		}
	}
	src := NewS3Source(f.client, S3Options{Bucket: "trail", From: from, To: to}, discard())
	if _, err := run(t, ctx, st, src, Options{From: from, To: to, Concurrency: 4}); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run = %v, want interrupted", err)
	}
	f.onGet = nil
	first := count(t, st, "SELECT count(*) FROM source_files")

	f.gets.Store(0)
	src = NewS3Source(f.client, S3Options{Bucket: "trail", From: from, To: to}, discard())
	if _, err := run(t, t.Context(), st, src, Options{From: from, To: to}); err != nil {
		t.Fatal(err)
	}
	if got := count(t, st, "SELECT count(*) FROM events"); got != int64(m.DistinctEvents) {
		t.Errorf("after resume: %d events, want %d", got, m.DistinctEvents)
	}
	if g := f.gets.Load(); g != objects-first {
		t.Errorf("resume fetched %d objects, want %d (%d of %d were stored before the interrupt)", g, objects-first, first, objects)
	}
	f.gets.Store(0)
	src = NewS3Source(f.client, S3Options{Bucket: "trail", From: from, To: to}, discard())
	sum, err := run(t, t.Context(), st, src, Options{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if f.gets.Load() != 0 || int64(sum.FilesSkipped) != objects || src.Stats().GetRequests != 0 {
		t.Errorf("third run: %d GETs, %d skipped, want 0 and %d", f.gets.Load(), sum.FilesSkipped, objects)
	}
}

func TestNameTime(t *testing.T) {
	for key, want := range map[string]string{
		"AWSLogs/1/CloudTrail/us-east-1/2021/11/27/111122223333_CloudTrail_us-east-1_20211127T1315Z_AbC.json.gz":                         "2021-11-27T13:15:00Z",
		"AWSLogs/1/CloudTrail-Digest/eu-west-1/2021/11/27/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20211127T131501Z.json.gz": "2021-11-27T13:15:00Z",
		"AWSLogs/1/CloudTrail/us-east-1/2021/11/27/renamed.json":                                                                         "",
	} {
		got, ok := nameTime(key)
		if (want == "") == ok || (ok && got.Format(time.RFC3339) != want) {
			t.Errorf("nameTime(%s) = %v, %v; want %q", key, got, ok, want)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestS3Faults: throttling (503 SlowDown) and bodies cut off mid-download are retried;
// nothing is lost and nothing is reported as unreadable.
func TestS3Faults(t *testing.T) {
	dir, m := generated(t, synth.Options{Seed: 9})
	f := newFakeS3(t)
	f.upload(t, "trail", dir)
	var mu sync.Mutex
	attempts := map[string]int{}
	var throttled, cut atomic.Int64
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if len(r.URL.Path)%8 != 0 { // an eighth of the objects misbehave
			return false
		}
		mu.Lock()
		attempts[r.URL.Path]++
		n := attempts[r.URL.Path]
		mu.Unlock()
		switch n {
		case 1:
			throttled.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return true
		case 2: // promise 1 MiB, send a few bytes, drop the connection
			cut.Add(1)
			w.Header().Set("Content-Length", "1048576")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte{0x1f, 0x8b, 8, 0})
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return true
		}
		return false
	}
	from, to := everything(m)
	st := openStore(t)
	src := NewS3Source(f.client, S3Options{Bucket: "trail", From: from, To: to}, discard())
	sum, err := run(t, t.Context(), st, src, Options{From: from, To: to, Concurrency: 16})
	if err != nil {
		t.Fatalf("Run = %v, rejected %v", err, sum.Rejected)
	}
	if throttled.Load() == 0 || cut.Load() == 0 {
		t.Fatalf("no fault injected (throttled %d, cut %d)", throttled.Load(), cut.Load())
	}
	if got := count(t, st, "SELECT count(*) FROM events"); got != int64(m.DistinctEvents) {
		t.Errorf("stored %d events, want %d", got, m.DistinctEvents)
	}
}
