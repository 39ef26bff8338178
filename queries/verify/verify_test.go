package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/ingest/awsfake"
	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/verify"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testKey is this test binary's own CloudTrail signing key.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// trail is a generated trail on disk, signed with testKey.
type trail struct {
	dir string
	m   synth.Manifest
}

func newTrail(t *testing.T, seed uint64) trail {
	t.Helper()
	dir := t.TempDir()
	m, err := synth.Generate(context.Background(), dir, synth.Options{Seed: seed, Events: 3000, EventsPerFile: 20,
		SigningKey: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	return trail{dir, m}
}

// keys is the trail's public key as --public-keys would give it.
func (tr trail) keys() []verify.PublicKey {
	k := tr.m.PublicKey
	return []verify.PublicKey{{Fingerprint: k.Fingerprint, Value: k.Value, ValidFrom: k.ValidFrom, ValidTo: k.ValidTo, Source: "test"}}
}

func ingestInto(t *testing.T, db string, src ingest.Source) ingest.Summary {
	t.Helper()
	ctx := context.Background()
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sum, err := ingest.Run(ctx, st, src, ingest.Options{Command: "test"}, quiet)
	if err != nil && !errors.Is(err, ingest.ErrPartial) {
		t.Fatal(err)
	}
	return sum
}

// result is a verify run: its summary, error and findings.
type result struct {
	sum      verify.Summary
	err      error
	findings []finding
	verdicts map[string]string // uri -> verdict
}

type finding struct {
	kind, object, listedBy, detail string
	tampering                      bool
}

func runVerify(t *testing.T, db string, o verify.Options) result {
	t.Helper()
	ctx := context.Background()
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var r result
	r.sum, r.err = verify.Run(ctx, st, o, quiet)
	if r.err != nil && !errors.Is(r.err, verify.ErrTampering) {
		t.Fatal(r.err)
	}
	rows, err := st.DB.Query(`SELECT kind, coalesce(object, ''), coalesce(listed_by, ''), detail, tampering FROM verify_findings ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f finding
		if err := rows.Scan(&f.kind, &f.object, &f.listedBy, &f.detail, &f.tampering); err != nil {
			t.Fatal(err)
		}
		r.findings = append(r.findings, f)
	}
	rows.Close()
	r.verdicts = map[string]string{}
	vrows, err := st.DB.Query(`SELECT f.uri, v.verdict FROM verify_files v JOIN source_files f USING (file_id)`)
	if err != nil {
		t.Fatal(err)
	}
	defer vrows.Close()
	for vrows.Next() {
		var u, v string
		if err := vrows.Scan(&u, &v); err != nil {
			t.Fatal(err)
		}
		r.verdicts[u] = v
	}
	return r
}

// tampering lists the tampering findings as "kind key" (the object's path under root).
func (r result) tampering(root string) []string {
	var out []string
	for _, f := range r.findings {
		if f.tampering {
			out = append(out, f.kind+" "+relKey(f.object, root))
		}
	}
	sort.Strings(out)
	return out
}

func relKey(object, root string) string {
	object = strings.TrimPrefix(object, root+string(filepath.Separator))
	if _, k, ok := strings.Cut(object, "/AWSLogs/"); ok && strings.HasPrefix(object, "s3://") {
		return "AWSLogs/" + k
	}
	return filepath.ToSlash(object)
}

func (r result) kinds() map[string]int {
	m := map[string]int{}
	for _, f := range r.findings {
		m[f.kind]++
	}
	return m
}

// chains counts the trail's digest chains (one per account and region).
func chains(m synth.Manifest) int {
	seen := map[string]bool{}
	for k := range m.DigestSignatures {
		seen[k[:strings.Index(k, "/20")]] = true
	}
	return len(seen)
}

// checkClean asserts a run over an untouched trail: no tampering, every digest valid but
// the newest of each chain (unverifiable without its S3 metadata), every log file
// verified or matching only those newest digests.
func checkClean(t *testing.T, r result, m synth.Manifest) {
	t.Helper()
	if r.err != nil || r.sum.Tampering != 0 {
		t.Errorf("tampering on a clean trail: %v %v", r.err, r.tampering(""))
	}
	n := chains(m)
	if r.sum.Digests != m.DigestFiles || r.sum.DigestsValid != m.DigestFiles-n || r.sum.DigestsUnverifiable != n {
		t.Errorf("digests %d valid %d unverifiable %d; generator wrote %d in %d chains",
			r.sum.Digests, r.sum.DigestsValid, r.sum.DigestsUnverifiable, m.DigestFiles, n)
	}
	if r.sum.LogFiles != m.Files || r.sum.LogFilesVerified+r.sum.LogFilesUnverified != m.Files || r.sum.LogFilesVerified < m.Files*3/4 {
		t.Errorf("log files %d: %d verified, %d unverified; generator wrote %d", r.sum.LogFiles,
			r.sum.LogFilesVerified, r.sum.LogFilesUnverified, m.Files)
	}
	for _, f := range r.findings {
		if f.kind != verify.KindUnverifiable || !strings.Contains(f.detail, "no signature") {
			t.Errorf("finding on a clean trail: %+v", f)
		}
	}
}

// fakeKeys serves tr's key through a fake ListPublicKeys (every region) and returns the
// endpoint and the KeyAPI option reaching it.
func fakeKeys(t *testing.T, serve ...awsfake.PublicKey) (*awsfake.Server, func(context.Context, string) (verify.PublicKeysAPI, error)) {
	t.Helper()
	f := awsfake.New()
	t.Cleanup(f.Close)
	f.PublicKeys = map[string][]awsfake.PublicKey{}
	for _, r := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1", "eu-west-1",
		"eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
		"ap-northeast-3", "ap-southeast-1", "ap-southeast-2"} {
		f.PublicKeys[r] = serve
	}
	return f, func(_ context.Context, region string) (verify.PublicKeysAPI, error) {
		return cloudtrail.New(cloudtrail.Options{Region: region, BaseEndpoint: aws.String(f.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", ""), Retryer: ingest.NewRetryer(quiet)()}), nil
	}
}

func served(m synth.Manifest) awsfake.PublicKey {
	k := m.PublicKey
	return awsfake.PublicKey{Fingerprint: k.Fingerprint, Value: k.Value, ValidFrom: k.ValidFrom, ValidTo: k.ValidTo}
}

// TestCleanTrailListPublicKeys: an untouched trail verifies, from the store alone (the files
// are gone); the keys come from ListPublicKeys (the real awsJson1.1 protocol, per region),
// are kept in the store, and a second run makes no call.
func TestCleanTrailListPublicKeys(t *testing.T) {
	tr := newTrail(t, 3)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	if err := os.RemoveAll(tr.dir); err != nil { // verify reads no file
		t.Fatal(err)
	}
	f, api := fakeKeys(t, served(tr.m))
	r := runVerify(t, db, verify.Options{KeyAPI: api})
	checkClean(t, r, tr.m)
	regions := len(tr.m.EventsByRegion)
	if got := f.Other("cloudtrail.ListPublicKeys"); got != int64(regions) || f.Other("cloudtrail.ListPublicKeys eu-west-3") != 1 {
		t.Errorf("ListPublicKeys called %d times, want once in each of %d regions", got, regions)
	}
	if r.sum.KeysFetched != regions || len(r.sum.KeyRegions) != regions {
		t.Errorf("fetched %d keys in %v", r.sum.KeysFetched, r.sum.KeyRegions)
	}
	for u, v := range r.verdicts {
		if v != "verified" && v != "unverified" && v != "unverifiable" {
			t.Errorf("%s: %s", u, v)
		}
	}
	f.Reset()
	again := runVerify(t, db, verify.Options{KeyAPI: api})
	checkClean(t, again, tr.m)
	if n := f.Other("cloudtrail.ListPublicKeys"); n != 0 {
		t.Errorf("second run called ListPublicKeys %d times: the keys are in the store", n)
	}
}

// TestTampered: each change to the trail is reported as the right kind, naming the file;
// no untouched file is called tampered; the events of the tampered files are listed.
func TestTampered(t *testing.T) {
	tr := newTrail(t, 5)
	changed, err := synth.Tamper(tr.dir, tr.m, synth.Tampering{Edit: 1, Delete: 1, Forge: 1, Swap: 1, Shuffle: 1,
		Append: 1, DeleteDigest: 1, AlterSignature: 1, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range changed {
		want = append(want, c.Kind+" "+c.Key)
	}
	sort.Strings(want)
	if len(want) != 10 {
		t.Fatalf("tampered %v", want)
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	r := runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true})
	if !errors.Is(r.err, verify.ErrTampering) {
		t.Errorf("err %v", r.err)
	}
	if os.Getenv("TH_DEBUG") != "" {
		for _, f := range r.findings {
			t.Logf("%s | %s | %s | %s", f.kind, relKey(f.object, tr.dir), relKey(f.listedBy, tr.dir), f.detail)
		}
	}
	if got := r.tampering(tr.dir); !slices.Equal(got, want) {
		t.Errorf("tampering findings:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, c := range changed {
		if c.Kind == "missing" || c.Kind == "digest-missing" {
			for _, f := range r.findings {
				if f.kind == c.Kind && strings.HasSuffix(f.object, c.Key) && !strings.HasSuffix(f.listedBy, c.Digest) {
					t.Errorf("%s %s: listed by %s, want %s", c.Kind, c.Key, f.listedBy, c.Digest)
				}
			}
		}
	}
	// Untouched files: verified, or listed by digests that cannot be checked (the newest
	// of a chain; the digest before a deleted or altered one; the deleted one's hour).
	touched := map[string]bool{}
	for _, c := range changed {
		touched[c.Key] = true
	}
	for u, v := range r.verdicts {
		if touched[relKey(u, tr.dir)] {
			continue
		}
		if v != "verified" && v != "unverified" && v != "unverifiable" && v != "no-digest" {
			t.Errorf("untouched %s: %s", u, v)
		}
	}
	if k := r.kinds(); k[verify.KindNoDigest] != 1 || k[verify.KindNotIngested] != 0 {
		t.Errorf("finding kinds %v: want the deleted digest's hour as the one hour without a digest", k)
	}
	// The events of the tampered files, in SQL.
	st, err := queries.Open(context.Background(), db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, _ := queries.Lookup("tampered-events")
	rows, err := q.Run(context.Background(), st.DB, queries.Params{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := queries.WriteRows(&buf, queries.FormatCSV, rows)
	if err != nil {
		t.Fatal(err)
	}
	var inTampered int
	if err := st.DB.QueryRow(`SELECT count(DISTINCT event_id) FROM event_integrity WHERE tampering`).Scan(&inTampered); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n < inTampered || !strings.Contains(buf.String(), "modified") || !strings.Contains(buf.String(), "unlisted") {
		t.Errorf("tampered-events: %d rows for %d events\n%s", n, inTampered, buf.String())
	}
}

// TestLayouts: a local copy flattened into one folder verifies like the tree; a file
// renamed by the user is found by its content; kept as the bucket was under another
// prefix changes nothing.
func TestLayouts(t *testing.T) {
	tr := newTrail(t, 7)
	flat := t.TempDir()
	var renamed string
	err := filepath.WalkDir(tr.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name := d.Name()
		if renamed == "" && strings.Contains(p, "/CloudTrail/eu-west-1/") {
			renamed, name = name, "evidence-copy-1.json.gz"
		}
		return os.WriteFile(filepath.Join(flat, name), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{flat}})
	r := runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true})
	checkClean(t, r, tr.m)
	if v := r.verdicts[filepath.Join(flat, "evidence-copy-1.json.gz")]; v != "verified" && v != "unverified" {
		t.Errorf("renamed %s: %s", renamed, v)
	}
}

// TestWrongPublicKey: another key offered under the digests' fingerprint, or no key with
// their fingerprint: every digest is unverifiable and says why; nothing is called tampered.
func TestWrongPublicKey(t *testing.T) {
	tr := newTrail(t, 11)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wrong := synth.PublicKeysJSON(synth.Manifest{PublicKey: synth.PublicKey{Fingerprint: tr.m.PublicKey.Fingerprint,
		Value: mustDER(other), ValidFrom: tr.m.PublicKey.ValidFrom, ValidTo: tr.m.PublicKey.ValidTo}})
	unknown := synth.PublicKeysJSON(synth.Manifest{PublicKey: synth.PublicKey{Fingerprint: verify.Fingerprint(mustDER(other)),
		Value: mustDER(other), ValidFrom: tr.m.PublicKey.ValidFrom, ValidTo: tr.m.PublicKey.ValidTo}})
	for name, c := range map[string]struct {
		json []byte
		want string
	}{
		"another key under the fingerprint": {wrong, "is another key"},
		"unknown fingerprint":               {unknown, "public key not found in region"},
	} {
		t.Run(name, func(t *testing.T) {
			keys, err := verify.ParsePublicKeys(c.json, "keys.json")
			if err != nil {
				t.Fatal(err)
			}
			db2 := filepath.Join(t.TempDir(), "s.duckdb")
			copyFile(t, db, db2)
			r := runVerify(t, db2, verify.Options{Keys: keys, KeysGiven: true})
			if r.err != nil || r.sum.Tampering != 0 || r.sum.DigestsValid != 0 || r.sum.DigestsUnverifiable != tr.m.DigestFiles {
				t.Errorf("%v: %d tampering, %d valid, %d unverifiable of %d", r.err, r.sum.Tampering, r.sum.DigestsValid,
					r.sum.DigestsUnverifiable, tr.m.DigestFiles)
			}
			found := false
			for _, f := range r.findings {
				found = found || (f.kind == verify.KindUnverifiable && strings.Contains(f.detail, c.want) &&
					strings.Contains(f.detail, tr.m.PublicKey.Fingerprint))
			}
			if !found {
				t.Errorf("no unverifiable finding saying %q with the fingerprint: %+v", c.want, r.findings)
			}
		})
	}
}

// TestBadInput: a digest that is not JSON and a truncated log file are each reported by
// name, with the reason ingest could not read them; the rest still verifies.
func TestBadInput(t *testing.T) {
	tr := newTrail(t, 13)
	changed, err := synth.Tamper(tr.dir, tr.m, synth.Tampering{DeleteDigest: 1, Delete: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	var notJSON, truncated string
	for _, c := range changed {
		p := filepath.Join(tr.dir, filepath.FromSlash(c.Key))
		switch c.Kind {
		case "digest-missing": // put garbage where the digest was
			notJSON = c.Key
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write([]byte("this is not JSON"))
			zw.Close()
			writeFile(t, p, b.Bytes())
		case "missing": // put back a truncated copy of a log file
			truncated = c.Key
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(bytes.Repeat([]byte(`{"Records":[]}`), 2000))
			zw.Close()
			writeFile(t, p, b.Bytes()[:b.Len()/2])
		}
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	sum := ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	if len(sum.Rejected) != 2 {
		t.Fatalf("rejected %+v", sum.Rejected)
	}
	r := runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true})
	want := []string{"unreadable " + notJSON, "unreadable " + truncated}
	sort.Strings(want)
	if got := r.tampering(tr.dir); !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	for _, f := range r.findings {
		if f.kind == verify.KindUnreadable && strings.HasSuffix(f.object, truncated) && !strings.Contains(f.detail, "truncated gzip") {
			t.Errorf("truncated: %s", f.detail)
		}
		if f.kind == verify.KindUnreadable && strings.HasSuffix(f.object, notJSON) && !strings.Contains(f.detail, "not JSON") {
			t.Errorf("not JSON: %s", f.detail)
		}
	}
}

// TestS3Metadata: through S3, every digest's signature is in its object metadata, so every
// digest verifies, the newest too; a signature that is not hex, a deleted log file inside
// the window read and one outside it are each reported.
func TestS3Metadata(t *testing.T) {
	tr := newTrail(t, 17)
	f := awsfake.New()
	defer f.Close()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")})
	ctx := context.Background()
	bucket := "trailhound-demo-trail"
	var badSig, gone string
	keys := make([]string, 0, len(tr.m.DigestSignatures))
	for k := range tr.m.DigestSignatures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	i := len(keys) / 2
	for path.Dir(path.Dir(path.Dir(keys[i]))) != path.Dir(path.Dir(path.Dir(keys[i+1]))) {
		i++ // a digest with a next one in its chain
	}
	badSig = keys[i]
	err := filepath.WalkDir(tr.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		key, _ := filepath.Rel(tr.dir, p)
		key = filepath.ToSlash(key)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)}
		if sig, ok := tr.m.DigestSignatures[key]; ok {
			if key == badSig {
				sig = "zz" + sig[2:]
			}
			in.Metadata = map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}
		} else if gone == "" && strings.Contains(key, "/CloudTrail/us-east-1/") && strings.Contains(key, "T1") {
			gone = key // not uploaded: deleted from the bucket
			return nil
		}
		_, err = c.PutObject(ctx, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	src := ingest.NewS3Source(c, ingest.S3Options{Bucket: bucket, From: tr.m.From.Add(-time.Hour), To: tr.m.To.Add(time.Hour)}, quiet)
	ingestInto(t, db, src)
	r := runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true})
	if r.sum.DigestsValid != tr.m.DigestFiles || r.sum.DigestsUnverifiable != 0 {
		t.Errorf("%d of %d digests valid, %d unverifiable: the S3 metadata holds every signature",
			r.sum.DigestsValid, tr.m.DigestFiles, r.sum.DigestsUnverifiable)
	}
	want := []string{"missing " + gone, "signature-invalid " + badSig}
	if got := r.tampering(""); !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	for _, f := range r.findings {
		if f.kind == verify.KindSignatureInvalid && !strings.Contains(f.detail, "not hex") {
			t.Errorf("signature-invalid: %s", f.detail)
		}
	}
	if r.sum.LogFilesVerified != tr.m.Files-1 {
		t.Errorf("%d of %d log files verified", r.sum.LogFilesVerified, tr.m.Files-1)
	}
}

// TestRealDigest: a real CloudTrail digest (its key unknown here, its signature not kept,
// its log files not ingested) is reported as unverifiable, its log files as not ingested:
// nothing is called tampered.
func TestRealDigest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{"../../testdata/integrity/elastic-cloudtrail-digest.json"}})
	r := runVerify(t, db, verify.Options{KeysGiven: true})
	if r.err != nil || r.sum.Digests != 1 || r.sum.DigestsUnverifiable != 1 {
		t.Fatalf("%v %+v", r.err, r.sum)
	}
	k := r.kinds()
	if len(r.findings) != 2 || k[verify.KindUnverifiable] != 1 || k[verify.KindNotIngested] != 1 {
		t.Errorf("findings %+v", r.findings)
	}
	for _, f := range r.findings {
		if f.kind == verify.KindNotIngested && f.object != "3 log files" {
			t.Errorf("not ingested: %+v", f)
		}
	}
}

// TestStoreBeforeVersion4: files read before content hashes existed are reported as not
// verifiable (re-ingest), never as modified; ingesting them again reads them again and
// they verify.
func TestStoreBeforeVersion4(t *testing.T) {
	tr := newTrail(t, 19)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	first := ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	st, err := queries.Open(context.Background(), db, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE source_files SET content_sha256 = NULL, trailing_bytes = NULL",
		"UPDATE digests SET raw = NULL, signature = NULL, signature_algorithm = NULL",
		"DELETE FROM ingest_windows",
		"UPDATE meta SET value = '2' WHERE key = 'schema_version'",
	} {
		if _, err := st.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	r := runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true})
	if r.err != nil || r.sum.Tampering != 0 || r.sum.NeedsReingest != tr.m.Files+tr.m.DigestFiles {
		t.Errorf("%v: %d tampering, %d to re-ingest of %d", r.err, r.sum.Tampering, r.sum.NeedsReingest, tr.m.Files+tr.m.DigestFiles)
	}
	if k := r.kinds(); len(k) != 1 || k[verify.KindNeedsReingest] != 1 || !strings.Contains(r.findings[0].detail, "re-ingest") {
		t.Errorf("findings %+v", r.findings)
	}
	again := ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	if again.FilesSkipped != 0 || again.FilesRead != first.FilesRead {
		t.Errorf("re-ingest read %d, skipped %d (first %d)", again.FilesRead, again.FilesSkipped, first.FilesRead)
	}
	checkClean(t, runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true}), tr.m)
}

func mustDER(k *rsa.PrivateKey) []byte {
	return x509.MarshalPKCS1PublicKey(&k.PublicKey)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, b)
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(fmt.Errorf("write %s: %w", p, err))
	}
}

// handTrail writes a small trail by hand: log files, and digests signed with key (their
// signatures returned by key), as CloudTrail writes them.
type handTrail struct {
	dir  string
	sigs map[string]string
	meta map[string]map[string]string // S3 metadata by key
}

type handDigest struct {
	key        string
	start, end time.Time
	logs       []string
	prev       string // key of the previous digest, "" for a chain's first
	signer     *rsa.PrivateKey
	generated  time.Time // backfill generation time
}

func (h *handTrail) log(t *testing.T, key, content string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(content))
	zw.Close()
	p := filepath.Join(h.dir, filepath.FromSlash(key))
	os.MkdirAll(filepath.Dir(p), 0o755)
	writeFile(t, p, b.Bytes())
	return key
}

func (h *handTrail) digest(t *testing.T, d handDigest, raws map[string][]byte) {
	t.Helper()
	const bucket = "hand-trail"
	q := func(s string) string { return `"` + s + `"` }
	var logs []string
	for _, k := range d.logs {
		raw, err := os.ReadFile(filepath.Join(h.dir, filepath.FromSlash(k)))
		if err != nil {
			t.Fatal(err)
		}
		zr, _ := gzip.NewReader(bytes.NewReader(raw))
		content, _ := io.ReadAll(zr)
		sum := sha256Hex(content)
		logs = append(logs, `{"s3Bucket":"hand-trail","s3Object":`+q(k)+`,"hashValue":`+q(sum)+`,"hashAlgorithm":"SHA-256",`+
			`"newestEventTime":"2026-11-02T10:00:00Z","oldestEventTime":"2026-11-02T10:00:00Z"}`)
	}
	prev := `"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null`
	var prevSig *string
	if d.prev != "" {
		s := h.sigs[d.prev]
		prevSig = &s
		prev = `"previousDigestS3Bucket":"hand-trail","previousDigestS3Object":` + q(d.prev) + `,"previousDigestHashValue":` +
			q(sha256Hex(raws[d.prev])) + `,"previousDigestHashAlgorithm":"SHA-256","previousDigestSignature":` + q(s)
	}
	fp := verify.Fingerprint(x509.MarshalPKCS1PublicKey(&d.signer.PublicKey))
	end := d.end.Format(time.RFC3339)
	raw := []byte(`{"awsAccountId":"111122223333","digestStartTime":` + q(d.start.Format(time.RFC3339)) + `,"digestEndTime":` + q(end) +
		`,"digestS3Bucket":"hand-trail","digestS3Object":` + q(d.key) + `,"digestPublicKeyFingerprint":` + q(fp) +
		`,"digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,` + prev +
		`,"logFiles":[` + strings.Join(logs, ",") + `]}`)
	h.sigs[d.key] = signHex(t, d.signer, verify.StringToSign(end, bucket, d.key, raw, prevSig))
	raws[d.key] = raw
	h.meta[d.key] = map[string]string{"signature": h.sigs[d.key], "signature-algorithm": "SHA256withRSA"}
	if !d.generated.IsZero() {
		h.meta[d.key]["backfill-generation-timestamp"] = d.generated.Format(time.RFC3339)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	zw.Close()
	p := filepath.Join(h.dir, filepath.FromSlash(d.key))
	os.MkdirAll(filepath.Dir(p), 0o755)
	writeFile(t, p, b.Bytes())
}

// TestBackfillDigest: a log file that only a backfill digest lists (delivered late) is
// verified, not unlisted; the backfill digest's chain is its own (its null previous is no
// chain restart), and its key is chosen by when it was generated (its S3 metadata), not by
// its end time. In a local copy, where that metadata is lost, it is unverifiable, and the
// late file is still listed.
func TestBackfillDigest(t *testing.T) {
	k1, k2 := testKey(), otherKey()
	h := &handTrail{dir: t.TempDir(), sigs: map[string]string{}, meta: map[string]map[string]string{}}
	day := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T"
	dd := "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261102T"
	rec := func(id string) string {
		return `{"Records":[{"eventVersion":"1.08","eventID":"` + id + `","eventTime":"2026-11-02T10:00:00Z","eventName":"ListBuckets","awsRegion":"us-east-1"}]}`
	}
	l1 := h.log(t, day+"1005Z_aaaaaaaaaaaaaaa1.json.gz", rec("e1"))
	l2 := h.log(t, day+"1020Z_aaaaaaaaaaaaaaa2.json.gz", rec("e2"))
	late := h.log(t, day+"1050Z_aaaaaaaaaaaaaaa3.json.gz", rec("e3"))
	l4 := h.log(t, day+"1110Z_aaaaaaaaaaaaaaa4.json.gz", rec("e4"))
	at := func(hh, mm int) time.Time { return time.Date(2026, 11, 2, hh, mm, 30, 0, time.UTC) }
	raws := map[string][]byte{}
	h.digest(t, handDigest{key: dd + "110030Z.json.gz", start: at(10, 0), end: at(11, 0), logs: []string{l1, l2}, signer: k1}, raws)
	h.digest(t, handDigest{key: dd + "120030Z.json.gz", start: at(11, 0), end: at(12, 0), logs: []string{l4}, prev: dd + "110030Z.json.gz", signer: k1}, raws)
	h.digest(t, handDigest{key: dd + "130030Z.json.gz", start: at(12, 0), end: at(13, 0), prev: dd + "120030Z.json.gz", signer: k1}, raws)
	h.digest(t, handDigest{key: dd + "110030Z_backfill.json.gz", start: at(10, 0), end: at(11, 0), logs: []string{late}, signer: k2,
		generated: at(20, 0)}, raws)
	// k1 signs until noon, k2 from 18:00: the backfill digest is signed at 20:00.
	keys := []verify.PublicKey{
		{Fingerprint: verify.Fingerprint(x509.MarshalPKCS1PublicKey(&k1.PublicKey)), Value: x509.MarshalPKCS1PublicKey(&k1.PublicKey),
			ValidFrom: at(0, 0), ValidTo: at(12, 0)},
		{Fingerprint: verify.Fingerprint(x509.MarshalPKCS1PublicKey(&k2.PublicKey)), Value: x509.MarshalPKCS1PublicKey(&k2.PublicKey),
			ValidFrom: at(18, 0), ValidTo: at(23, 0)},
	}
	f := awsfake.New()
	defer f.Close()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")})
	for _, key := range []string{l1, l2, late, l4, dd + "110030Z.json.gz", dd + "120030Z.json.gz", dd + "130030Z.json.gz", dd + "110030Z_backfill.json.gz"} {
		b, err := os.ReadFile(filepath.Join(h.dir, filepath.FromSlash(key)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("hand-trail"), Key: aws.String(key),
			Body: bytes.NewReader(b), Metadata: h.meta[key]}); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.NewS3Source(c, ingest.S3Options{Bucket: "hand-trail", From: at(9, 0), To: at(12, 0)}, quiet))
	r := runVerify(t, db, verify.Options{Keys: keys, KeysGiven: true})
	if r.err != nil || len(r.findings) != 0 || r.sum.DigestsValid != 4 || r.sum.LogFilesVerified != 4 {
		t.Errorf("over S3: %v, %d of 4 digests and %d of 4 log files verified, findings %+v", r.err, r.sum.DigestsValid,
			r.sum.LogFilesVerified, r.findings)
	}
	local := filepath.Join(t.TempDir(), "l.duckdb")
	ingestInto(t, local, ingest.Files{Paths: []string{h.dir}})
	r = runVerify(t, local, verify.Options{Keys: keys, KeysGiven: true})
	if r.err != nil || r.sum.Tampering != 0 || r.verdicts[filepath.Join(h.dir, filepath.FromSlash(late))] != "unverified" ||
		r.sum.DigestsValid != 2 || r.kinds()[verify.KindChainRestart] != 0 {
		t.Errorf("local copy: %v %+v %+v", r.err, r.sum, r.findings)
	}
}

var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func signHex(t *testing.T, k *rsa.PrivateKey, msg string) string {
	t.Helper()
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// TestAnotherTrailWithoutDigests: a second trail of the same account and regions, kept in
// another place and without log file validation, is not called unlisted by the first
// trail's digests: its hours have no digest.
func TestAnotherTrailWithoutDigests(t *testing.T) {
	a := newTrail(t, 29)
	b := newTrail(t, 31)
	if err := os.RemoveAll(filepath.Join(b.dir, "AWSLogs", "111122223333", "CloudTrail-Digest")); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{a.dir, b.dir}})
	r := runVerify(t, db, verify.Options{Keys: a.keys(), KeysGiven: true})
	if r.err != nil || r.sum.Tampering != 0 || r.sum.LogFiles != a.m.Files+b.m.Files || r.sum.LogFilesNoDigest != b.m.Files {
		t.Errorf("%v: %d tampering; %d log files, %d without a digest; trails of %d and %d", r.err, r.sum.Tampering,
			r.sum.LogFiles, r.sum.LogFilesNoDigest, a.m.Files, b.m.Files)
	}
	for u, v := range r.verdicts {
		if strings.HasPrefix(u, b.dir) && v != verify.KindNoDigest {
			t.Errorf("%s: %s", u, v)
		}
	}
}

// TestIntegrityViews: the views the evidence pack reads give every source file its
// verdict and mark the events of tampered files.
func TestIntegrityViews(t *testing.T) {
	tr := newTrail(t, 37)
	changed, err := synth.Tamper(tr.dir, tr.m, synth.Tampering{Edit: 1, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true})
	st, err := queries.Open(context.Background(), db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var files, withVerdict, modified int
	if err := st.DB.QueryRow(`SELECT count(*), count(verdict), count(*) FILTER (WHERE verdict = 'modified' AND tampering
		AND uri LIKE '%' || ?) FROM file_integrity`, changed[0].Key).Scan(&files, &withVerdict, &modified); err != nil {
		t.Fatal(err)
	}
	if files != tr.m.Files+tr.m.DigestFiles || withVerdict != files || modified != 1 {
		t.Errorf("file_integrity: %d files, %d with a verdict, %d modified", files, withVerdict, modified)
	}
	var marked, inFile int
	if err := st.DB.QueryRow(`SELECT count(*) FROM event_marks WHERE verdicts = ['modified'] AND uncorroborated`).Scan(&marked); err != nil {
		t.Fatal(err)
	}
	if err := st.DB.QueryRow(`SELECT count(*) FROM event_sources JOIN source_files USING (file_id) WHERE uri LIKE '%' || ?`,
		changed[0].Key).Scan(&inFile); err != nil {
		t.Fatal(err)
	}
	if marked == 0 || marked != inFile {
		t.Errorf("event_marks: %d events marked, the modified file holds %d", marked, inFile)
	}
}

// TestListPublicKeysDenied: credentials that may not call ListPublicKeys leave every
// digest unverifiable with one warning naming the permission; it is no failure, and
// nothing is called tampered.
func TestListPublicKeysDenied(t *testing.T) {
	tr := newTrail(t, 41)
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.Files{Paths: []string{tr.dir}})
	f, api := fakeKeys(t, served(tr.m))
	for r := range f.PublicKeys {
		f.SetFail(r, "AccessDeniedException")
	}
	r := runVerify(t, db, verify.Options{KeyAPI: api})
	if r.err != nil || r.sum.Tampering != 0 || r.sum.DigestsUnverifiable != tr.m.DigestFiles || len(r.sum.Warnings) != 1 ||
		!strings.Contains(r.sum.Warnings[0], "cloudtrail:ListPublicKeys") {
		t.Errorf("%v: %+v", r.err, r.sum)
	}
}

// TestReplicatedBucket: digests read from a copy of the trail's bucket verify, and the
// copy is said once, not called tampering.
func TestReplicatedBucket(t *testing.T) {
	tr := newTrail(t, 43)
	f := awsfake.New()
	defer f.Close()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")})
	err := filepath.WalkDir(tr.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		key, _ := filepath.Rel(tr.dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		in := &s3.PutObjectInput{Bucket: aws.String("replica"), Key: aws.String("backup/" + filepath.ToSlash(key)), Body: bytes.NewReader(b)}
		if sig, ok := tr.m.DigestSignatures[filepath.ToSlash(key)]; ok {
			in.Metadata = map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}
		}
		_, err = c.PutObject(context.Background(), in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "s.duckdb")
	ingestInto(t, db, ingest.NewS3Source(c, ingest.S3Options{Bucket: "replica", Prefix: "backup",
		From: tr.m.From.Add(-time.Hour), To: tr.m.To.Add(time.Hour)}, quiet))
	r := runVerify(t, db, verify.Options{Keys: tr.keys(), KeysGiven: true})
	if r.err != nil || r.sum.DigestsValid != tr.m.DigestFiles || r.sum.LogFilesVerified != tr.m.Files {
		t.Errorf("%v: %d of %d digests, %d of %d log files verified", r.err, r.sum.DigestsValid, tr.m.DigestFiles,
			r.sum.LogFilesVerified, tr.m.Files)
	}
	if len(r.findings) != 1 || r.findings[0].kind != verify.KindDigestMoved || r.findings[0].tampering ||
		!strings.Contains(r.findings[0].detail, "s3://trailhound-demo-trail/AWSLogs/") {
		t.Errorf("findings %+v", r.findings)
	}
}
