package synth

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// ---- helpers ---------------------------------------------------------------

func gunzip(t *testing.T, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return b
}

// files returns every regular file under dir as slash-separated relative paths.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

type userIdentity struct {
	Type           string `json:"type"`
	PrincipalID    string `json:"principalId"`
	Arn            string `json:"arn"`
	AccountID      string `json:"accountId"`
	AccessKeyID    string `json:"accessKeyId"`
	UserName       string `json:"userName"`
	InvokedBy      string `json:"invokedBy"`
	SessionContext *struct {
		SessionIssuer struct {
			Type string `json:"type"`
			Arn  string `json:"arn"`
		} `json:"sessionIssuer"`
		Attributes struct {
			CreationDate     string `json:"creationDate"`
			MfaAuthenticated string `json:"mfaAuthenticated"`
		} `json:"attributes"`
	} `json:"sessionContext"`
}

type record struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       userIdentity    `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AwsRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	EventID            string          `json:"eventID"`
	ReadOnly           *bool           `json:"readOnly"`
	EventType          string          `json:"eventType"`
	ManagementEvent    *bool           `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`

	raw  json.RawMessage
	file string
	t    time.Time
}

type logFile struct {
	rel     string
	acct    string
	region  string
	ts      time.Time
	records []*record
	sum     [32]byte // sha256 of the uncompressed content
}

type digestFile struct {
	AwsAccountID                string  `json:"awsAccountId"`
	DigestStartTime             string  `json:"digestStartTime"`
	DigestEndTime               string  `json:"digestEndTime"`
	DigestS3Bucket              string  `json:"digestS3Bucket"`
	DigestS3Object              string  `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string  `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string  `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string `json:"newestEventTime"`
	OldestEventTime             *string `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string `json:"previousDigestSignature"`
	LogFiles                    []struct {
		S3Bucket        string `json:"s3Bucket"`
		S3Object        string `json:"s3Object"`
		HashValue       string `json:"hashValue"`
		HashAlgorithm   string `json:"hashAlgorithm"`
		NewestEventTime string `json:"newestEventTime"`
		OldestEventTime string `json:"oldestEventTime"`
	} `json:"logFiles"`

	rel string
	sum [32]byte
}

type tree struct {
	logs    []*logFile
	digests []*digestFile
	records []*record // every record as written, duplicates included
}

var (
	logNameRE    = regexp.MustCompile(`^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)
	digestNameRE = regexp.MustCompile(`^(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_([A-Za-z0-9.-]+)_([a-z0-9-]+)_(\d{8}T\d{6}Z)\.json\.gz$`)
	guidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// load decodes the whole tree. root is the expected key prefix up to and
// including "AWSLogs/" plus an optional org folder.
func load(t *testing.T, dir, root string) *tree {
	t.Helper()
	tr := &tree{}
	for _, rel := range files(t, dir) {
		if !strings.HasPrefix(rel, root) {
			t.Fatalf("%s: not under %s", rel, root)
		}
		parts := strings.Split(strings.TrimPrefix(rel, root), "/")
		if len(parts) != 7 {
			t.Fatalf("%s: unexpected depth", rel)
		}
		acct, kind, region, yyyy, mm, dd, name := parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]
		folderDay := yyyy + mm + dd
		data := gunzip(t, filepath.Join(dir, filepath.FromSlash(rel)))
		switch kind {
		case "CloudTrail":
			sm := logNameRE.FindStringSubmatch(name)
			if sm == nil || sm[1] != acct || sm[2] != region || sm[3][:8] != folderDay {
				t.Fatalf("%s: bad log file name for its folder", rel)
			}
			ts, err := time.Parse("20060102T1504Z", sm[3])
			if err != nil || ts.Minute()%5 != 0 {
				t.Fatalf("%s: bad delivery stamp", rel)
			}
			var doc struct {
				Records []json.RawMessage `json:"Records"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			lf := &logFile{rel: rel, acct: acct, region: region, ts: ts, sum: sha256.Sum256(data)}
			for _, raw := range doc.Records {
				r := &record{raw: raw, file: rel}
				if err := json.Unmarshal(raw, r); err != nil {
					t.Fatalf("%s: %v", rel, err)
				}
				r.t, err = time.Parse("2006-01-02T15:04:05Z", r.EventTime)
				if err != nil {
					t.Fatalf("%s: eventTime %q: %v", rel, r.EventTime, err)
				}
				lf.records = append(lf.records, r)
				tr.records = append(tr.records, r)
			}
			tr.logs = append(tr.logs, lf)
		case "CloudTrail-Digest":
			sm := digestNameRE.FindStringSubmatch(name)
			if sm == nil || sm[1] != acct || sm[2] != region || sm[4] != trailHome || sm[5][:8] != folderDay {
				t.Fatalf("%s: bad digest file name for its folder", rel)
			}
			d := &digestFile{rel: rel, sum: sha256.Sum256(data)}
			if err := json.Unmarshal(data, d); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			tr.digests = append(tr.digests, d)
		default:
			t.Fatalf("%s: unexpected folder %s", rel, kind)
		}
	}
	return tr
}

// ---- tests -----------------------------------------------------------------

func TestDeterministic(t *testing.T) {
	t.Parallel()
	opts := Options{Seed: 42, Events: 2000, EventsPerFile: 25, DuplicateRate: 0.01, Workers: 3}
	d1, d2 := t.TempDir(), t.TempDir()
	m1, err := Generate(context.Background(), d1, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Workers = 1
	m2, err := Generate(context.Background(), d2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m1, m2) {
		t.Fatal("manifests differ between runs")
	}
	f1, f2 := files(t, d1), files(t, d2)
	if !slices.Equal(f1, f2) {
		t.Fatal("file lists differ between runs")
	}
	for _, rel := range f1 {
		b1, err1 := os.ReadFile(filepath.Join(d1, rel))
		b2, err2 := os.ReadFile(filepath.Join(d2, rel))
		if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("%s differs between runs", rel)
		}
	}

}

func TestGenerate(t *testing.T) {
	t.Parallel()
	accts := []string{"111122223333", "444455556666"}
	opts := Options{Seed: 7, Events: 9000, EventsPerFile: 30, DuplicateRate: 0.02, Accounts: accts}
	dir := t.TempDir()
	m, err := Generate(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr := load(t, dir, "AWSLogs/")

	t.Run("counts", func(t *testing.T) {
		if len(tr.logs) != m.Files || len(tr.digests) != m.DigestFiles {
			t.Fatalf("files on disk %d/%d, manifest %d/%d", len(tr.logs), len(tr.digests), m.Files, m.DigestFiles)
		}
		if len(tr.records) != m.Records {
			t.Fatalf("records on disk %d, manifest %d", len(tr.records), m.Records)
		}
		if m.Records < opts.Events*9/10 || m.Records > opts.Events*11/10 {
			t.Errorf("records %d far from requested %d", m.Records, opts.Events)
		}
		// The incident's and the owner's batches set a floor at small volumes.
		if lo, hi := m.Records/opts.EventsPerFile/2, m.Records/opts.EventsPerFile*3; m.Files < lo || m.Files > hi {
			t.Errorf("%d files for %d records at %d per file", m.Files, m.Records, opts.EventsPerFile)
		}
		first := map[string]*record{}
		byRegion := map[string]int{}
		byAcct := map[string]int{}
		var from, to time.Time
		dups := 0
		for _, r := range tr.records {
			if f, ok := first[r.EventID]; ok {
				dups++
				if !bytes.Equal(f.raw, r.raw) {
					t.Fatalf("duplicate %s differs from its first delivery", r.EventID)
				}
				if f.file == r.file {
					t.Fatalf("duplicate %s delivered twice in the same file", r.EventID)
				}
				continue
			}
			first[r.EventID] = r
			byRegion[r.AwsRegion]++
			byAcct[r.RecipientAccountID]++
			if from.IsZero() || r.t.Before(from) {
				from = r.t
			}
			if r.t.After(to) {
				to = r.t
			}
		}
		if len(first) != m.DistinctEvents || dups != m.DuplicateRecords || dups == 0 {
			t.Fatalf("distinct %d dups %d, manifest %d/%d", len(first), dups, m.DistinctEvents, m.DuplicateRecords)
		}
		if !reflect.DeepEqual(byRegion, m.EventsByRegion) {
			t.Errorf("per-region counts differ:\n disk %v\n manifest %v", byRegion, m.EventsByRegion)
		}
		if !reflect.DeepEqual(byAcct, m.EventsByAccount) {
			t.Errorf("per-account counts differ: %v vs %v", byAcct, m.EventsByAccount)
		}
		if !from.Equal(m.From) || !to.Equal(m.To) {
			t.Errorf("time range %v..%v, manifest %v..%v", from, to, m.From, m.To)
		}
		if len(byRegion) != 17 {
			t.Errorf("events in %d regions, want 17", len(byRegion))
		}
	})

	t.Run("delivery", func(t *testing.T) {
		where := map[string][]*logFile{}
		for _, lf := range tr.logs {
			for _, r := range lf.records {
				where[r.EventID] = append(where[r.EventID], lf)
			}
		}
		cross := 0
		for _, lf := range tr.logs {
			if len(lf.records) == 0 {
				t.Fatalf("%s is empty", lf.rel)
			}
			oldest := lf.records[0].t
			for _, r := range lf.records {
				if r.AwsRegion != lf.region || r.RecipientAccountID != lf.acct {
					t.Fatalf("%s holds a record of %s/%s", lf.rel, r.RecipientAccountID, r.AwsRegion)
				}
				if r.t.Before(oldest) {
					oldest = r.t
				}
				fs := where[r.EventID]
				if len(fs) > 2 {
					t.Fatalf("%s delivered %d times", r.EventID, len(fs))
				}
				first := fs[0]
				if len(fs) == 2 {
					if fs[0] == fs[1] || fs[0].ts.Equal(fs[1].ts) {
						t.Fatalf("duplicate %s not in a later file", r.EventID)
					}
					if fs[1].ts.Before(first.ts) {
						first = fs[1]
					}
				}
				if lf == first {
					if lag := lf.ts.Sub(r.t); lag <= 0 || lag > 15*time.Minute {
						t.Fatalf("%s: event at %v delivered %v later", lf.rel, r.t, lag)
					}
				}
			}
			if lf.ts.Format("20060102") > oldest.Format("20060102") {
				cross++
			}
		}
		if cross == 0 || cross != m.CrossMidnightFiles {
			t.Fatalf("%d files cross midnight, manifest %d", cross, m.CrossMidnightFiles)
		}
	})

	t.Run("records", func(t *testing.T) {
		for _, r := range tr.records {
			if r.EventVersion != "1.08" && r.EventVersion != "1.09" {
				t.Fatalf("eventVersion %q", r.EventVersion)
			}
			if !guidRE.MatchString(r.EventID) {
				t.Fatalf("eventID %q", r.EventID)
			}
			if r.ReadOnly == nil || r.ManagementEvent == nil || r.EventType == "" || r.EventCategory != "Management" ||
				r.UserIdentity.Type == "" || r.EventSource == "" || r.EventName == "" || r.SourceIPAddress == "" || r.UserAgent == "" {
				t.Fatalf("incomplete record %s", r.raw)
			}
			if r.RequestParameters == nil || r.ResponseElements == nil {
				t.Fatalf("requestParameters/responseElements missing in %s", r.raw)
			}
			if r.EventSource == "iam.amazonaws.com" && r.AwsRegion != "us-east-1" {
				t.Fatalf("IAM event in %s", r.AwsRegion)
			}
			ui := r.UserIdentity
			switch ui.Type {
			case "IAMUser":
				if ui.AccountID != r.RecipientAccountID || !strings.HasSuffix(ui.Arn, ":user/"+ui.UserName) {
					t.Fatalf("bad IAMUser identity %s", r.raw)
				}
				if r.EventName != "ConsoleLogin" && !strings.HasPrefix(ui.AccessKeyID, "AKIA") && !strings.HasPrefix(ui.AccessKeyID, "ASIA") {
					t.Fatalf("bad key in %s", r.raw)
				}
				if strings.HasPrefix(ui.AccessKeyID, "ASIA") && ui.SessionContext == nil {
					t.Fatalf("session key without sessionContext %s", r.raw)
				}
			case "AssumedRole":
				sc := ui.SessionContext
				if sc == nil || sc.SessionIssuer.Type != "Role" || !strings.Contains(ui.Arn, ":assumed-role/") {
					t.Fatalf("bad AssumedRole identity %s", r.raw)
				}
				role := strings.Split(strings.TrimPrefix(ui.Arn, "arn:aws:sts::"+ui.AccountID+":assumed-role/"), "/")[0]
				if !strings.HasSuffix(sc.SessionIssuer.Arn, "/"+role) {
					t.Fatalf("sessionIssuer %s does not match %s", sc.SessionIssuer.Arn, ui.Arn)
				}
				if ct, err := time.Parse(time.RFC3339, sc.Attributes.CreationDate); err != nil || ct.After(r.t) {
					t.Fatalf("bad creationDate in %s", r.raw)
				}
			case "AWSService":
				if ui.InvokedBy == "" || ui.InvokedBy != r.SourceIPAddress {
					t.Fatalf("bad AWSService identity %s", r.raw)
				}
			default:
				t.Fatalf("unexpected identity type %q", ui.Type)
			}
		}
	})

	t.Run("digests", func(t *testing.T) {
		checkDigests(t, m, tr, "trailhound-demo-trail", false)
	})

	t.Run("incident", func(t *testing.T) {
		checkIncident(t, m, tr)
	})
}

// checkDigests verifies every digest against the log files and its chain, and its
// signature (from the manifest, as S3 metadata would carry it) with the manifest's key.
func checkDigests(t *testing.T, m Manifest, tr *tree, bucket string, empty bool) {
	pub, err := x509.ParsePKCS1PublicKey(m.PublicKey.Value)
	if fp := md5.Sum(m.PublicKey.Value); err != nil || hex.EncodeToString(fp[:]) != m.PublicKey.Fingerprint {
		t.Fatalf("public key %s: %v", m.PublicKey.Fingerprint, err)
	}
	if len(m.DigestSignatures) != len(tr.digests) {
		t.Fatalf("%d signatures for %d digests", len(m.DigestSignatures), len(tr.digests))
	}
	for _, d := range tr.digests {
		prev := "null"
		if d.PreviousDigestSignature != nil {
			prev = *d.PreviousDigestSignature
		}
		signed := sha256.Sum256([]byte(d.DigestEndTime + "\n" + bucket + "/" + d.rel + "\n" + hex.EncodeToString(d.sum[:]) + "\n" + prev))
		sig, err := hex.DecodeString(m.DigestSignatures[d.rel])
		if err != nil || d.DigestPublicKeyFingerprint != m.PublicKey.Fingerprint ||
			rsa.VerifyPKCS1v15(pub, crypto.SHA256, signed[:], sig) != nil {
			t.Fatalf("%s: signature does not verify (%v)", d.rel, err)
		}
		if d.PreviousDigestS3Object != nil && prev != m.DigestSignatures[*d.PreviousDigestS3Object] {
			t.Fatalf("%s: previousDigestSignature is not %s's signature", d.rel, *d.PreviousDigestS3Object)
		}
	}
	logs := map[string]*logFile{}
	for _, lf := range tr.logs {
		logs[lf.rel] = lf
	}
	seen := map[string]int{}
	chains := map[string][]*digestFile{}
	for _, d := range tr.digests {
		if d.DigestS3Object != d.rel || d.DigestS3Bucket != bucket || d.DigestSignatureAlgorithm != "SHA256withRSA" {
			t.Fatalf("%s: bad digest header", d.rel)
		}
		st, err1 := time.Parse(time.RFC3339, d.DigestStartTime)
		en, err2 := time.Parse(time.RFC3339, d.DigestEndTime)
		if err1 != nil || err2 != nil || en.Sub(st) != time.Hour {
			t.Fatalf("%s: bad digest period", d.rel)
		}
		for _, f := range d.LogFiles {
			lf := logs[f.S3Object]
			if lf == nil {
				t.Fatalf("%s references missing %s", d.rel, f.S3Object)
			}
			seen[f.S3Object]++
			if f.HashAlgorithm != "SHA-256" || f.HashValue != hex.EncodeToString(lf.sum[:]) {
				t.Fatalf("%s: hash of %s does not match the file", d.rel, f.S3Object)
			}
		}
		k := path.Dir(d.rel)
		k = k[:strings.Index(k, "/CloudTrail-Digest/")+len("/CloudTrail-Digest/")] + strings.Split(strings.SplitN(k, "/CloudTrail-Digest/", 2)[1], "/")[0]
		chains[k] = append(chains[k], d)
	}
	for _, lf := range tr.logs {
		if seen[lf.rel] != 1 {
			t.Fatalf("%s is listed in %d digests", lf.rel, seen[lf.rel])
		}
	}
	for k, ds := range chains {
		slices.SortFunc(ds, func(a, b *digestFile) int { return strings.Compare(a.DigestEndTime, b.DigestEndTime) })
		for i, d := range ds {
			if i == 0 {
				if d.PreviousDigestS3Object != nil || d.PreviousDigestHashValue != nil {
					t.Fatalf("%s: first digest of %s has a predecessor", d.rel, k)
				}
				continue
			}
			p := ds[i-1]
			if d.DigestStartTime < p.DigestEndTime || (empty && d.DigestStartTime != p.DigestEndTime) {
				t.Fatalf("%s: overlaps or gap after %s", d.rel, p.rel)
			}
			if !empty && len(d.LogFiles) == 0 {
				t.Fatalf("%s: digest without log files", d.rel)
			}
			if d.PreviousDigestS3Object == nil || *d.PreviousDigestS3Object != p.rel ||
				d.PreviousDigestHashValue == nil || *d.PreviousDigestHashValue != hex.EncodeToString(p.sum[:]) ||
				d.PreviousDigestSignature == nil || len(*d.PreviousDigestSignature) != 512 {
				t.Fatalf("%s: broken previousDigest chain", d.rel)
			}
		}
	}
}

// checkIncident replays the chain-following algorithm of the reference over
// the records on disk and compares it with the manifest.
func checkIncident(t *testing.T, m Manifest, tr *tree) {
	var recs []*record
	seen := map[string]bool{}
	for _, r := range tr.records {
		if !seen[r.EventID] {
			seen[r.EventID] = true
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b *record) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	if !strings.HasPrefix(m.LeakedKey, "AKIA") || len(m.LeakedKey) != 20 {
		t.Fatalf("leaked key %q", m.LeakedKey)
	}
	seeds := map[string]time.Time{m.LeakedKey: {}}
	users := map[string]bool{}
	var derived []string
	for _, r := range recs {
		if r.RecipientAccountID != m.Account {
			continue
		}
		if _, ok := seeds[r.UserIdentity.AccessKeyID]; !ok || r.ErrorCode != "" {
			continue
		}
		var re struct {
			Credentials struct{ AccessKeyID string } `json:"credentials"`
			AccessKey   struct{ AccessKeyID string } `json:"accessKey"`
			User        struct{ UserName string }    `json:"user"`
		}
		_ = json.Unmarshal(r.ResponseElements, &re)
		for _, k := range []string{re.Credentials.AccessKeyID, re.AccessKey.AccessKeyID} {
			if k != "" {
				seeds[k] = r.t
				derived = append(derived, k)
			}
		}
		if r.EventName == "CreateUser" {
			users[re.User.UserName] = true
		}
	}
	slices.Sort(derived)
	if !slices.Equal(derived, m.DerivedKeys) {
		t.Fatalf("derived keys on disk %v\nmanifest %v", derived, m.DerivedKeys)
	}
	var ul []string
	for u := range users {
		ul = append(ul, u)
	}
	slices.Sort(ul)
	if !slices.Equal(ul, m.AttackerUsers) {
		t.Fatalf("attacker users %v, manifest %v", ul, m.AttackerUsers)
	}

	// The leaked key is not used after the owner deactivated it; the owner's
	// replacement key only after it was created.
	for _, r := range recs {
		k := r.UserIdentity.AccessKeyID
		if (k == m.LeakedKey && r.t.After(m.KeyDeactivated)) || (k == m.OwnerNewKey && r.t.Before(m.KeyDeactivated)) {
			t.Fatalf("%s used at %v, key deactivated at %v", k, r.t, m.KeyDeactivated)
		}
	}

	// Every derived key is used after it was minted.
	for _, k := range m.DerivedKeys {
		used := false
		for _, r := range recs {
			if r.UserIdentity.AccessKeyID == k && r.t.After(seeds[k]) {
				used = true
				break
			}
		}
		if !used {
			t.Errorf("derived key %s is never used", k)
		}
	}

	attackerIP := map[string]bool{}
	for _, ip := range m.AttackerIPs {
		attackerIP[ip] = true
	}
	consoleKey := map[string]bool{}
	for _, k := range m.AttackerConsoleKeys {
		consoleKey[k] = true
	}
	attackerUser := map[string]bool{}
	for _, u := range m.AttackerUsers {
		attackerUser[u] = true
	}
	count := 0
	run := map[string]int{}
	runFail := map[string]string{}
	tasks := map[string]int{}
	tasksByHour := map[string]int{}
	for _, r := range recs {
		k := r.UserIdentity.AccessKeyID
		_, seed := seeds[k]
		isDerived := consoleKey[k] || (seed && k != m.LeakedKey)
		atk := (k == m.LeakedKey && attackerIP[r.SourceIPAddress]) || isDerived ||
			(r.EventName == "ConsoleLogin" && attackerUser[r.UserIdentity.UserName])
		if k == m.LeakedKey && !attackerIP[r.SourceIPAddress] && r.SourceIPAddress != m.OwnerIP &&
			!(r.SourceIPAddress == m.QuarantineIP && r.t.Equal(m.Quarantine) && r.EventName == "PutUserPolicy") {
			t.Fatalf("leaked key used from unexpected IP %s", r.SourceIPAddress)
		}
		if !atk {
			continue
		}
		count++
		switch r.EventName {
		case "RunInstances":
			var rp struct{ InstanceType string }
			_ = json.Unmarshal(r.RequestParameters, &rp)
			if rp.InstanceType != "c5.xlarge" {
				t.Fatalf("RunInstances of %q", rp.InstanceType)
			}
			if r.ErrorCode != "" {
				runFail[r.AwsRegion] = r.ErrorCode
				continue
			}
			var re struct {
				InstancesSet struct {
					Items []struct{ InstanceID string } `json:"items"`
				} `json:"instancesSet"`
			}
			_ = json.Unmarshal(r.ResponseElements, &re)
			run[r.AwsRegion] += len(re.InstancesSet.Items)
			delete(runFail, r.AwsRegion)
		case "RunTask":
			if r.ErrorCode != "" {
				continue
			}
			var re struct {
				Tasks []struct{ TaskArn string } `json:"tasks"`
			}
			_ = json.Unmarshal(r.ResponseElements, &re)
			tasks[r.AwsRegion] += len(re.Tasks)
			tasksByHour[r.t.Truncate(time.Hour).Format(time.RFC3339)] += len(re.Tasks)
		}
	}
	if count != m.AttackerEvents {
		t.Errorf("attacker events on disk %d, manifest %d", count, m.AttackerEvents)
	}
	if !reflect.DeepEqual(run, m.RunInstances) {
		t.Errorf("RunInstances on disk %v, manifest %v", run, m.RunInstances)
	}
	if !reflect.DeepEqual(runFail, m.RunInstancesFailures) {
		t.Errorf("RunInstances failures on disk %v, manifest %v", runFail, m.RunInstancesFailures)
	}
	if len(run)+len(runFail) != 17 {
		t.Errorf("sweep covers %d regions", len(run)+len(runFail))
	}
	if d := m.SweepEnd.Sub(m.SweepStart); d < 20*time.Minute || d > 30*time.Minute {
		t.Errorf("sweep lasts %v", d)
	}
	if !reflect.DeepEqual(tasks, m.ECSTasks) || !reflect.DeepEqual(tasksByHour, m.ECSTasksByHour) {
		t.Errorf("ECS tasks on disk %v / %v, manifest %v / %v", tasks, tasksByHour, m.ECSTasks, m.ECSTasksByHour)
	}
	if len(m.ECSTasks) < 10 {
		t.Errorf("ECS tasks in only %d regions", len(m.ECSTasks))
	}

	// AWS's quarantine record and the sessions ecs-tasks opened in the attacker's role.
	quarantines, sessions := 0, 0
	for _, r := range recs {
		var rp struct{ PolicyName, RoleArn string }
		_ = json.Unmarshal(r.RequestParameters, &rp)
		if r.EventName == "PutUserPolicy" && rp.PolicyName == m.QuarantinePolicy {
			quarantines++
			if r.UserIdentity.AccessKeyID != m.LeakedKey || r.SourceIPAddress != m.QuarantineIP || !r.t.Equal(m.Quarantine) {
				t.Errorf("quarantine record %s", r.raw)
			}
		}
		if r.EventName == "AssumeRole" && r.UserIdentity.Type == "AWSService" && rp.RoleArn == m.AttackerRoles[0] {
			sessions++
		}
	}
	if quarantines != 1 || m.QuarantinePolicy == "" {
		t.Errorf("%d quarantine records of %q", quarantines, m.QuarantinePolicy)
	}
	if sessions != m.ServiceSessions || sessions == 0 {
		t.Errorf("ecs-tasks sessions on disk %d, manifest %d", sessions, m.ServiceSessions)
	}

	// What was created is either cleaned up or left running, never both; the owner misses
	// some instances and every RunTask task.
	kinds := map[string]int{}
	listed := map[Resource]bool{}
	for _, list := range [][]Resource{m.LeftRunning, m.CleanedUp} {
		for _, r := range list {
			if listed[r] {
				t.Fatalf("%v listed twice", r)
			}
			listed[r] = true
		}
	}
	for _, r := range m.LeftRunning {
		kinds[r.Type]++
	}
	nTasks := 0
	for _, n := range m.ECSTasks {
		nTasks += n
	}
	instances := 0
	for r := range listed {
		if r.Type == "instance" {
			instances++
		}
	}
	if kinds["task"] != nTasks || kinds["instance"] == 0 || instances != len(m.InstanceIDs) ||
		kinds["cluster"] != len(m.ECSClusters) || kinds["user"] != 0 {
		t.Errorf("left running %v (tasks %d, instances %d of %d)", kinds, nTasks, instances, len(m.InstanceIDs))
	}
}

func TestOrgLayoutAndPrefix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := Options{Seed: 3, Events: 2500, OrgID: "o-a1b2c3d4e5", Prefix: "/team/trails/", Bucket: "org-trail-bucket",
		Accounts: []string{"210987654321", "123456789012"}}
	m, err := Generate(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr := load(t, dir, "team/trails/AWSLogs/o-a1b2c3d4e5/")
	if len(tr.logs) != m.Files || len(tr.digests) != m.DigestFiles || len(tr.records) != m.Records {
		t.Fatal("manifest does not match the org tree")
	}
	accts := map[string]bool{}
	for _, lf := range tr.logs {
		accts[lf.acct] = true
	}
	if len(accts) != 2 {
		t.Fatalf("log files for %d accounts", len(accts))
	}
	checkDigests(t, m, tr, "org-trail-bucket", false)
	for _, d := range tr.digests {
		if d.DigestS3Bucket != "org-trail-bucket" || d.DigestS3Object != d.rel {
			t.Fatalf("%s: digest object %s in %s", d.rel, d.DigestS3Object, d.DigestS3Bucket)
		}
		for _, f := range d.LogFiles {
			if f.S3Bucket != "org-trail-bucket" || !strings.HasPrefix(f.S3Object, "team/trails/AWSLogs/o-a1b2c3d4e5/") {
				t.Fatalf("%s: bad log reference %s", d.rel, f.S3Object)
			}
		}
	}
	if m.Account != "210987654321" {
		t.Fatalf("incident in %s", m.Account)
	}
	checkIncident(t, m, tr)
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if _, err := Generate(ctx, dir, Options{Events: 3000}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestWriteError(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(context.Background(), filepath.Join(blocker, "sub"), Options{Events: 2000})
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("got %v, want an error naming the path", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []Options{
		{Events: -1},
		{EventsPerFile: -5},
		{Accounts: []string{"12345"}},
		{Accounts: []string{"111122223333", "111122223333"}},
		{DuplicateRate: 1.5},
		{OrgID: "o-a/b"},
		{Prefix: "../x"},
	} {
		if _, err := Generate(context.Background(), t.TempDir(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestEmptyDigests(t *testing.T) {
	t.Parallel()
	// Write only the first day of a plan so the unbroken hourly chains stay small.
	o, err := withDefaults(Options{Seed: 11, Events: 3000, EmptyDigests: true})
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(o)
	if err := g.plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	var keep []fileDesc
	for _, fd := range g.files {
		if fd.ts < g.day0+86400 {
			keep = append(keep, fd)
		}
	}
	g.files = keep
	dir := t.TempDir()
	if err := g.write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	tr := load(t, dir, "AWSLogs/")
	checkDigests(t, g.m, tr, "trailhound-demo-trail", true)
	empty := 0
	for _, d := range tr.digests {
		if len(d.LogFiles) == 0 {
			empty++
			if d.NewestEventTime != nil || d.OldestEventTime != nil {
				t.Fatalf("%s: empty digest with event times", d.rel)
			}
		}
	}
	if empty == 0 || len(tr.digests) != g.m.DigestFiles {
		t.Fatalf("%d digests (%d empty), manifest %d", len(tr.digests), empty, g.m.DigestFiles)
	}
}

func TestAccountEncodedInKeyIDs(t *testing.T) {
	o, err := withDefaults(Options{Events: 2000, Accounts: []string{"609629065308"}})
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(o)
	if err := g.plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := g.m
	for _, k := range append([]string{m.LeakedKey, m.OwnerNewKey}, m.DerivedKeys...) {
		if got := keyAccount(t, k); got != 609629065308 {
			t.Fatalf("%s decodes to account %d", k, got)
		}
		if k[4:12] != m.LeakedKey[4:12] {
			t.Fatalf("%s and %s do not share the account part", k, m.LeakedKey)
		}
	}
}

// keyAccount decodes the account id from an access key id.
func keyAccount(t *testing.T, key string) uint64 {
	t.Helper()
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var z uint64
	for _, c := range key[4:14] { // 10 chars = 50 bits, covering the first 6 bytes
		i := strings.IndexRune(b32, c)
		if i < 0 {
			t.Fatalf("bad key %s", key)
		}
		z = z<<5 | uint64(i)
	}
	z >>= 2 // keep 48 bits
	return (z & 0x7fffffffff80) >> 7
}

func BenchmarkGenerate1M(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		m, err := Generate(context.Background(), dir, Options{Events: 1_000_000, EventsPerFile: 29})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Files), "files")
	}
}

// TestTheftCase: the stolen session key case is the same on every run, and its records say
// what its ground truth says: one AssumeRole by Lambda issues the stolen key, which signs the
// function's own calls and the attacker's; S3's KMS calls come from AWS Internal.
func TestTheftCase(t *testing.T) {
	t.Parallel()
	d1, d2 := t.TempDir(), t.TempDir()
	m1, err := GenerateTheft(context.Background(), d1, TheftOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := GenerateTheft(context.Background(), d2, TheftOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m1, m2) {
		t.Fatal("manifests differ between runs")
	}
	f1 := files(t, d1)
	if !slices.Equal(f1, files(t, d2)) {
		t.Fatal("file lists differ between runs")
	}
	var recs []map[string]any
	for _, rel := range f1 {
		b1, _ := os.ReadFile(filepath.Join(d1, rel))
		b2, _ := os.ReadFile(filepath.Join(d2, rel))
		if !bytes.Equal(b1, b2) {
			t.Fatalf("%s differs between runs", rel)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b1))
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Records []map[string]any }
		if err := json.NewDecoder(zr).Decode(&file); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		recs = append(recs, file.Records...)
	}
	if len(recs) != m1.Records {
		t.Fatalf("%d records, manifest says %d", len(recs), m1.Records)
	}
	issued, fromFunction, fromAttacker, internal := 0, 0, 0, 0
	for _, r := range recs {
		id, _ := r["userIdentity"].(map[string]any)
		key, _ := id["accessKeyId"].(string)
		switch {
		case r["eventName"] == "AssumeRole" && id["type"] == "AWSService":
			if c, _ := r["responseElements"].(map[string]any)["credentials"].(map[string]any); c["accessKeyId"] == m1.StolenKey &&
				r["eventID"] == m1.IssuedEvent {
				issued++
			}
		case key == m1.StolenKey && r["sourceIPAddress"] == m1.FunctionIP:
			fromFunction++
		case key == m1.StolenKey && r["sourceIPAddress"] == m1.AttackerIP:
			fromAttacker++
		case r["sourceIPAddress"] == "AWS Internal":
			internal++
		}
	}
	if issued != 1 || fromFunction == 0 || fromAttacker == 0 || internal != m1.AWSInternal {
		t.Errorf("issued %d, function's calls %d, attacker's with the stolen key %d, AWS Internal %d (want %d)",
			issued, fromFunction, fromAttacker, internal, m1.AWSInternal)
	}
	if m1.BruteDenied < 10 || m1.BruteServices < 5 || !m1.FirstAttack.Before(m1.BruteFirst) {
		t.Errorf("brute force %d denied over %d services from %v", m1.BruteDenied, m1.BruteServices, m1.BruteFirst)
	}
}
