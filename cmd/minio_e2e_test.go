package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/trailhound/trailhound/ingest/synth"
)

// startMinIO runs a real MinIO server on loopback for the test (built into .tools/bin by
// .ci/minio when missing) and returns its endpoint URL and credentials.
func startMinIO(t *testing.T) (endpoint, user, password string) {
	t.Helper()
	out, err := exec.Command("bash", "../.ci/minio").Output()
	if err != nil {
		t.Fatalf("MinIO server: .ci/minio: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	ports := make([]int, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	user, password = "trailhound", "trailhound-test-secret"
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", ports[1]), t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+password,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	endpoint = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return endpoint, user, password
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// uploadTree creates bucket and puts every file under dir into it (the test's own server:
// trailhound itself only reads).
func uploadTree(t *testing.T, c *s3.Client, bucket, dir string) {
	t.Helper()
	uploadTreeMeta(t, c, bucket, dir, nil)
}

// uploadTreeMeta is uploadTree with user metadata (x-amz-meta-*) for the keys meta names.
func uploadTreeMeta(t *testing.T, c *s3.Client, bucket, dir string, meta map[string]map[string]string) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		g.Go(func() error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = c.PutObject(gctx, &s3.PutObjectInput{Bucket: aws.String(bucket),
				Key: aws.String(filepath.ToSlash(rel)), Body: bytes.NewReader(b), Metadata: meta[filepath.ToSlash(rel)]})
			return err
		})
		return nil
	})
	if werr := g.Wait(); werr != nil || err != nil {
		t.Fatalf("upload: %v", errors.Join(werr, err))
	}
}

// TestIngestS3MinIO: end to end against a real S3 server. A generated multi-region,
// multi-account organization trail is uploaded; `trailhound ingest s3` finds the layout
// through AWS_ENDPOINT_URL_S3 and stores what the generator wrote; narrowing by account
// and region stores exactly that part; a second run fetches nothing.
func TestIngestS3MinIO(t *testing.T) {
	endpoint, user, password := startMinIO(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", user)
	t.Setenv("AWS_SECRET_ACCESS_KEY", password)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)

	dir := t.TempDir()
	accounts := []string{"111122223333", "444455556666", "777788889999"}
	m, err := synth.Generate(context.Background(), dir, synth.Options{Seed: 11, Events: 6000,
		OrgID: "o-q1w2e3r4t5", Prefix: "org-trail", Accounts: accounts, DuplicateRate: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(user, password, "")})
	uploadTree(t, c, "victim-trail", dir)

	from := m.From.Truncate(24 * time.Hour).Format("2006-01-02")
	to := m.To.Add(time.Hour).Format(time.RFC3339)

	// Narrowed: one account, one region.
	db := filepath.Join(t.TempDir(), "case.duckdb")
	code, _, stderr := trailhound(t, "--db", db, "ingest", "s3", "s3://victim-trail/org-trail",
		"--from", from, "--to", to, "--account", accounts[0], "--region", "us-east-1")
	if code != ExitOK {
		t.Fatalf("narrowed ingest: exit %d\n%s", code, stderr)
	}
	got := sqlInt(t, db, "SELECT count(*) FROM events")
	want := sqlInt(t, db, "SELECT count(*) FROM events WHERE aws_region = 'us-east-1' AND recipient_account_id = '"+accounts[0]+"'")
	if got != want || got == 0 {
		t.Errorf("narrowed ingest stored %d events, %d of them us-east-1 in %s", got, want, accounts[0])
	}

	// Everything.
	code, _, stderr = trailhound(t, "--db", db, "ingest", "s3", "s3://victim-trail/org-trail", "--from", from, "--to", to)
	if code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	if n := sqlInt(t, db, "SELECT count(*) FROM events"); n != m.DistinctEvents {
		t.Errorf("stored %d events, the generator wrote %d distinct", n, m.DistinctEvents)
	}
	for acct, n := range m.EventsByAccount {
		if got := sqlInt(t, db, "SELECT count(*) FROM events WHERE recipient_account_id = '"+acct+"'"); got != n {
			t.Errorf("account %s: %d events, generator %d", acct, got, n)
		}
	}
	if n := sqlInt(t, db, "SELECT count(*) FROM digests"); n != m.DigestFiles {
		t.Errorf("%d digests, generator wrote %d", n, m.DigestFiles)
	}
	for _, want := range []string{"o-q1w2e3r4t5", strings.Join(accounts, ", "), "LIST", "GET"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}

	// Again: every object is known by key and ETag; nothing is fetched.
	code, _, stderr = trailhound(t, "--db", db, "ingest", "s3", "s3://victim-trail/org-trail", "--from", from, "--to", to)
	if code != ExitOK || !strings.Contains(stderr, " 0 GET") {
		t.Errorf("second run: exit %d, want no GET:\n%s", code, stderr)
	}
}

// TestVerifyMinIO: the trail through a real S3 server, each digest's signature in its
// object metadata as CloudTrail puts it: ingest s3 records it, and every digest verifies,
// the newest of each chain too, with every log file.
func TestVerifyMinIO(t *testing.T) {
	endpoint, user, password := startMinIO(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", user)
	t.Setenv("AWS_SECRET_ACCESS_KEY", password)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)

	dir := t.TempDir()
	m, err := synth.Generate(context.Background(), dir, synth.Options{Seed: 23, Events: 4000, Prefix: "trail", Bucket: "signed-trail"})
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]map[string]string{}
	for k, sig := range m.DigestSignatures {
		meta[k] = map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}
	}
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(user, password, "")})
	uploadTreeMeta(t, c, "signed-trail", dir, meta)
	keys := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keys, synth.PublicKeysJSON(m), 0o644); err != nil {
		t.Fatal(err)
	}

	db := filepath.Join(t.TempDir(), "case.duckdb")
	from := m.From.Truncate(24 * time.Hour).Format("2006-01-02")
	to := m.To.Add(time.Hour).Format(time.RFC3339)
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "s3", "s3://signed-trail/trail", "--from", from, "--to", to); code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	if n := sqlInt(t, db, "SELECT count(*) FROM digests WHERE signature IS NOT NULL AND signature_algorithm = 'SHA256withRSA'"); n != m.DigestFiles {
		t.Errorf("%d digests with their signature recorded, generator wrote %d", n, m.DigestFiles)
	}
	code, stdout, stderr := trailhound(t, "--db", db, "verify", "--public-keys", keys, "--format", "csv")
	want := fmt.Sprintf("digests:         %d checked: %d signatures valid, 0 unverifiable, 0 invalid", m.DigestFiles, m.DigestFiles)
	wantLogs := fmt.Sprintf("log files:       %d: %d verified, 0 match only unverifiable digests, 0 not covered", m.Files, m.Files)
	if code != ExitOK || !strings.Contains(stderr, want) || !strings.Contains(stderr, wantLogs) {
		t.Errorf("verify: exit %d, want %q and %q\n%s", code, want, wantLogs, stderr)
	}
	if strings.TrimSpace(stdout) != "kind,tampering,region,object,listed_by,delivered,expected,actual,detail" {
		t.Errorf("findings on a clean trail:\n%s", stdout)
	}
}

func sqlInt(t *testing.T, db, q string) int {
	t.Helper()
	code, out, stderr := trailhound(t, "--db", db, "sql", "--format", "csv", q)
	if code != ExitOK {
		t.Fatalf("%s: exit %d: %s", q, code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var n int
	if _, err := fmt.Sscan(lines[len(lines)-1], &n); err != nil {
		t.Fatalf("%s: %q", q, out)
	}
	return n
}
