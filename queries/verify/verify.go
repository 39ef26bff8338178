// Package verify validates the store's copies of CloudTrail log files and digests against
// CloudTrail's signed digest chains, offline: it reads only what ingest recorded (each
// object's content hash, a digest's exact bytes and S3 signature metadata), never the
// files themselves, and writes one row per finding to verify_findings and a verdict per
// source file to verify_files.
//
// What it checks, beyond the AWS CLI's validate-logs (which never compares
// previousDigestHashValue or previousDigestSignature with the previous digest, and never
// reports log files no digest lists):
//   - every digest's signature (SHA256withRSA over its end time, location, content hash and
//     the previous digest's signature), with the signature from its S3 metadata or, for a
//     local copy, from the next digest's previousDigestSignature;
//   - the chain: each digest's previousDigestHashValue and previousDigestSignature against
//     the previous digest, and holes (a digest the next one points to is absent);
//   - every log file a digest lists: its content hash (modified), whether the store has it
//     (missing, or simply outside what was ingested), bytes after its gzip stream;
//   - every log file of the store: whether some digest lists it when digests cover its
//     region and delivery time (unlisted), and the hours no digest covers.
package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
)

// The kinds of finding. The first group is tampering or loss (trailhound verify exits 4);
// the second is what could not be checked or was not ingested, which is no evidence of
// tampering.
const (
	KindModified         = "modified"                    // a log file's content does not hash to what its digest lists
	KindMissing          = "missing"                     // a log file a digest lists is not in the store, though the store holds its hour
	KindUnlisted         = "unlisted"                    // a log file no digest lists, though digests cover its region and delivery time
	KindTrailingData     = "trailing-data"               // a log file with bytes after its gzip stream
	KindUnreadable       = "unreadable"                  // a CloudTrail log file or digest the store could not read (truncated, corrupt)
	KindSignatureInvalid = "signature-invalid"           // a digest whose signature does not verify
	KindDigestInvalid    = "digest-invalid"              // a digest that is not what CloudTrail writes (a member missing or of the wrong type)
	KindPrevHash         = "previous-hash-mismatch"      // previousDigestHashValue is not the hash of the previous digest
	KindPrevSignature    = "previous-signature-mismatch" // previousDigestSignature is not the previous digest's signature
	KindDigestMissing    = "digest-missing"              // a hole in a chain: the digest the next one points to is absent

	KindNotIngested   = "not-ingested"   // a log file a digest lists, outside what was ingested
	KindUnverifiable  = "unverifiable"   // a digest whose signature cannot be checked (no signature, no key)
	KindNoDigest      = "no-digest"      // hours of a region with log files that no digest covers
	KindChainRestart  = "chain-restart"  // a digest that starts a new chain after older ones
	KindDigestMoved   = "digest-moved"   // S3 digests read from another place than where CloudTrail delivered them (a copy)
	KindNeedsReingest = "needs-reingest" // objects read before trailhound recorded what validation needs
)

var tamperingKinds = map[string]bool{KindModified: true, KindMissing: true, KindUnlisted: true, KindTrailingData: true,
	KindUnreadable: true, KindSignatureInvalid: true, KindDigestInvalid: true, KindPrevHash: true, KindPrevSignature: true,
	KindDigestMissing: true}

// IsTampering reports whether a kind of finding is tampering or loss.
func IsTampering(kind string) bool { return tamperingKinds[kind] }

// ErrTampering means at least one finding is tampering or loss.
var ErrTampering = errors.New("tampering or loss found")

// Finding is one row of verify_findings.
type Finding struct {
	Kind      string
	Account   string
	Region    string
	Object    string // S3 URI or path of what the finding is about
	FileID    int64  // its source file, 0 when it is not in the store
	ListedBy  string // the digest that lists it, or points to it
	ListedID  int64
	Delivered time.Time
	Expected  string
	Actual    string
	Detail    string
}

// Options tune Run.
type Options struct {
	// Keys are public keys from --public-keys files. When KeysGiven, no AWS call is made:
	// keys are the store's and these.
	Keys      []PublicKey
	KeysGiven bool
	// KeyAPI returns a ListPublicKeys client for a region (the standard credential chain);
	// it is called only for regions whose digests name keys the store does not have.
	KeyAPI func(ctx context.Context, region string) (PublicKeysAPI, error)
	Now    func() time.Time
}

// Summary is what a run checked and found.
type Summary struct {
	Digests, DigestsValid, DigestsInvalid, DigestsUnverifiable int
	LogFiles, LogFilesVerified, LogFilesUnverified             int
	LogFilesNoDigest                                           int
	NeedsReingest                                              int // log files and digests read before version 4
	HistoryPages, OtherFiles                                   int // not log files: nothing to check them against
	Kinds                                                      map[string]int
	Tampering, Findings                                        int
	KeysFetched                                                int      // from ListPublicKeys this run
	KeyRegions                                                 []string // regions ListPublicKeys was called in
	Warnings                                                   []string
	Elapsed                                                    time.Duration
}

// Run verifies the store and records the findings (replacing the last run's). It returns
// ErrTampering (wrapped) when a finding is tampering or loss.
func Run(ctx context.Context, st *queries.Store, opts Options, log *slog.Logger) (Summary, error) {
	start := time.Now()
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	v := &run{opts: opts, log: log, sum: Summary{Kinds: map[string]int{}}, reported: map[string]bool{}}
	lap := time.Now()
	phase := func(name string) {
		log.Debug("verify", "phase", name, "took", time.Since(lap).Round(time.Millisecond))
		lap = time.Now()
	}
	if err := v.load(ctx, st.DB); err != nil {
		return v.sum, err
	}
	phase("read the store")
	if err := v.keys(ctx, st.DB); err != nil {
		return v.sum, err
	}
	phase("public keys")
	v.checkDigests()
	phase("digests")
	v.checkLogFiles()
	v.checkErrors()
	v.verdicts()
	phase("log files")
	if err := v.write(ctx, st.DB, start); err != nil {
		return v.sum, err
	}
	phase("record the findings")
	v.sum.Elapsed = time.Since(start)
	if v.sum.Tampering > 0 {
		return v.sum, fmt.Errorf("%d findings: %w", v.sum.Tampering, ErrTampering)
	}
	return v.sum, nil
}

// srcFile is one source file (the latest read of each URI).
type srcFile struct {
	id                      int64
	kind, uri, shape, base  string
	content                 string // hex SHA-256 of the content; "" when read before version 4
	trailing                int64  // -1 when not gzipped
	readAt                  time.Time
	name                    logName
	named                   bool
	listings                []listing
	verdict, detail, listed string
	renamed                 bool // matched to a listing by its content, not its name
}

type listing struct {
	d *digest
	e *logEntry
}

func (f *srcFile) isLog() bool { return f.shape == "records" && (f.kind == "file" || f.kind == "s3") }

type ingestError struct {
	uri, reason string
	at          time.Time
}

type window struct {
	prefix                    string
	accounts, regions, orgIDs []string
	from, to                  time.Time
}

type run struct {
	opts Options
	log  *slog.Logger
	sum  Summary

	files    []*srcFile
	byID     map[int64]*srcFile
	byBase   map[string][]*srcFile
	byHash   map[string][]*srcFile
	digests  []*digest
	byLoc    map[string][]*digest
	errs     map[string]ingestError // by URI
	errBase  map[string]ingestError // by base name
	windows  []window
	ring     *keyring
	lastFile int64
	newest   map[string]time.Time // the newest digest's end per chain
	oldLoc   map[string]bool      // locations of digests read before version 4

	findings           []Finding
	pendingNotIngested []Finding       // gathered per account and region by verdicts
	reported           map[string]bool // objects with an unreadable finding already
}

func baseName(uri string) string {
	return uri[strings.LastIndexAny(uri, `/\`)+1:]
}

func (v *run) load(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT file_id, kind, uri, shape, coalesce(content_sha256, ''),
			coalesce(trailing_bytes, -1), read_at
		FROM source_files
		QUALIFY row_number() OVER (PARTITION BY uri ORDER BY file_id DESC) = 1
		ORDER BY file_id`)
	if err != nil {
		return fmt.Errorf("read source_files: %w", err)
	}
	v.byID, v.byBase, v.byHash = map[int64]*srcFile{}, map[string][]*srcFile{}, map[string][]*srcFile{}
	for rows.Next() {
		f := &srcFile{}
		if err := rows.Scan(&f.id, &f.kind, &f.uri, &f.shape, &f.content, &f.trailing, &f.readAt); err != nil {
			rows.Close()
			return fmt.Errorf("read source_files: %w", err)
		}
		f.base = baseName(f.uri)
		f.name, f.named = parseLogName(f.base)
		v.files = append(v.files, f)
		v.byID[f.id] = f
		v.lastFile = max(v.lastFile, f.id)
		if f.kind != "history" {
			v.byBase[f.base] = append(v.byBase[f.base], f)
		}
		if f.isLog() && f.content != "" {
			v.byHash[f.content] = append(v.byHash[f.content], f)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read source_files: %w", err)
	}
	v.log.Debug("verify: source files read", "files", len(v.files))

	drows, err := db.QueryContext(ctx, `SELECT file_id, raw, coalesce(signature, ''), coalesce(signature_algorithm, ''),
			coalesce(backfill_generated, ''), coalesce(digest_s3_bucket, ''), coalesce(digest_s3_object, '')
		FROM digests ORDER BY file_id`)
	if err != nil {
		return fmt.Errorf("read digests: %w", err)
	}
	v.byLoc = map[string][]*digest{}
	for drows.Next() {
		d := &digest{}
		var id int64
		if err := drows.Scan(&id, &d.raw, &d.sigMeta, &d.sigAlgMeta, &d.backfillMeta, &d.bucket, &d.obj); err != nil {
			drows.Close()
			return fmt.Errorf("read digests: %w", err)
		}
		f := v.byID[id]
		if f == nil || f.shape != "digest" {
			continue // an older read of the same object
		}
		d.file = f
		v.digests = append(v.digests, d)
	}
	drows.Close()
	if err := drows.Err(); err != nil {
		return fmt.Errorf("read digests: %w", err)
	}
	v.log.Debug("verify: digests read", "digests", len(v.digests))
	parallel(len(v.digests), func(i int) {
		if d := v.digests[i]; d.raw != nil { // nil: read before version 4
			d.rawHash = d.file.content
			d.parse()
		}
	})
	v.oldLoc = map[string]bool{}
	for _, d := range v.digests {
		switch {
		case d.raw == nil: // where ingest said it was, for the chain
			v.oldLoc[d.loc()] = true
		case d.formatErr == "":
			v.byLoc[d.loc()] = append(v.byLoc[d.loc()], d)
		}
	}

	v.log.Debug("verify: digests parsed")
	erows, err := db.QueryContext(ctx, `SELECT uri, reason, occurred_at FROM ingest_errors ORDER BY occurred_at, uri`)
	if err != nil {
		return fmt.Errorf("read ingest_errors: %w", err)
	}
	v.errs, v.errBase = map[string]ingestError{}, map[string]ingestError{}
	for erows.Next() {
		var e ingestError
		if err := erows.Scan(&e.uri, &e.reason, &e.at); err != nil {
			erows.Close()
			return fmt.Errorf("read ingest_errors: %w", err)
		}
		v.errs[e.uri] = e
	}
	erows.Close()
	if err := erows.Err(); err != nil {
		return fmt.Errorf("read ingest_errors: %w", err)
	}
	for uri, e := range v.errs {
		if f := v.storedURI(uri); f != nil && !f.readAt.Before(e.at) {
			delete(v.errs, uri) // read fine since
			continue
		}
		v.errBase[baseName(uri)] = e
	}

	v.log.Debug("verify: errors read")
	wrows, err := db.QueryContext(ctx, `SELECT prefix, array_to_string(accounts, ','), array_to_string(regions, ','),
			array_to_string(org_ids, ','), name_from, name_to
		FROM ingest_windows ORDER BY run_id`)
	if err != nil {
		return fmt.Errorf("read ingest_windows: %w", err)
	}
	defer wrows.Close()
	for wrows.Next() {
		var w window
		var a, r, o string
		if err := wrows.Scan(&w.prefix, &a, &r, &o, &w.from, &w.to); err != nil {
			return fmt.Errorf("read ingest_windows: %w", err)
		}
		w.accounts, w.regions, w.orgIDs = splitList(a), splitList(r), splitList(o)
		v.windows = append(v.windows, w)
	}
	return wrows.Err()
}

// parallel runs fn(i) for i in [0, n) on every core.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// storedURI is the stored file of uri, if any.
func (v *run) storedURI(uri string) *srcFile {
	for _, f := range v.byBase[baseName(uri)] {
		if f.uri == uri {
			return f
		}
	}
	return nil
}

// keys gathers the public keys the digests need: from the store, the files given, and
// (without files) ListPublicKeys for the regions still missing one.
func (v *run) keys(ctx context.Context, db *sql.DB) error {
	stored, err := loadKeys(ctx, db)
	if err != nil {
		return err
	}
	v.ring = newKeyring(stored)
	v.ring.add(v.opts.Keys) // from files: Region "", any region
	if err := saveKeys(ctx, db, v.opts.Keys, v.opts.Now()); err != nil {
		return err
	}
	if v.opts.KeysGiven || v.opts.KeyAPI == nil {
		return nil
	}
	type span struct{ from, to time.Time }
	need := map[string]*span{}
	for _, d := range v.digests {
		if d.raw == nil || d.formatErr != "" || v.ring.has(d.region(), d.fingerprint) || d.region() == "" {
			continue
		}
		t := d.signedAt()
		if t.IsZero() {
			t = d.end
		}
		s := need[d.region()]
		if s == nil {
			s = &span{t, t}
			need[d.region()] = s
		}
		if t.Before(s.from) {
			s.from = t
		}
		if t.After(s.to) {
			s.to = t
		}
	}
	regions := make([]string, 0, len(need))
	for r := range need {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	now := v.opts.Now()
	for _, region := range regions {
		s := need[region]
		from, to := s.from.Add(-RotationAllowance), s.to.Add(RotationAllowance)
		if to.After(now) {
			to = now
		}
		api, err := v.opts.KeyAPI(ctx, region)
		var keys []PublicKey
		if err == nil {
			keys, err = fetchKeys(ctx, api, region, from, to)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if ingest.IsAccessDenied(err) {
				err = &ingest.AWSHint{Err: err, Hint: "access denied: the credentials need cloudtrail:ListPublicKeys (read-only)"}
			}
			err = ingest.ExplainAWSError(err, "")
			var hint *ingest.AWSHint
			if errors.As(err, &hint) {
				// No usable credentials: no other region will do better.
				for _, r := range regions {
					v.ring.fetchErr[r] = err.Error() + "; " + hint.Hint
				}
				v.sum.Warnings = append(v.sum.Warnings, fmt.Sprintf("ListPublicKeys: %v; %s; "+
					"pass the keys with --public-keys FILE (aws cloudtrail list-public-keys --region R --start-time ... > FILE)", err, hint.Hint))
				return nil
			}
			v.ring.fetchErr[region] = err.Error()
			v.sum.Warnings = append(v.sum.Warnings, fmt.Sprintf("ListPublicKeys in %s: %v", region, err))
			v.log.Debug("could not fetch CloudTrail's public keys; the digests of the region are reported unverifiable",
				"region", region, "err", err)
			continue
		}
		v.ring.add(keys)
		v.sum.KeyRegions = append(v.sum.KeyRegions, region)
		v.sum.KeysFetched += len(keys)
		if err := saveKeys(ctx, db, keys, now); err != nil {
			return err
		}
	}
	return nil
}

func (v *run) add(f Finding) {
	v.findings = append(v.findings, f)
}

func (v *run) uriOfLoc(loc string) string { return "s3://" + loc }

// checkDigests validates every digest's signature and its link to the previous digest.
func (v *run) checkDigests() {
	// Successors first: a local copy's signature comes from the next digest.
	var parsed []*digest
	for _, d := range v.digests {
		switch {
		case d.raw == nil:
			d.status = unverifiable
			d.reason = "read before trailhound recorded digests' bytes"
		case d.formatErr != "":
			d.status = badFormat
			v.add(Finding{Kind: KindDigestInvalid, Object: d.file.uri, FileID: d.file.id,
				Detail: "not a CloudTrail digest file: " + d.formatErr})
		default:
			parsed = append(parsed, d)
		}
	}
	for _, d := range parsed {
		if d.prevObject != nil && d.prevBucket != nil {
			for _, p := range v.byLoc[*d.prevBucket+"/"+*d.prevObject] {
				p.successors = append(p.successors, d)
			}
		}
	}
	v.newest = map[string]time.Time{}
	for _, d := range parsed {
		if d.end.After(v.newest[d.chain()]) {
			v.newest[d.chain()] = d.end
		}
	}
	sort.SliceStable(parsed, func(i, j int) bool {
		if !parsed[i].end.Equal(parsed[j].end) {
			return parsed[i].end.After(parsed[j].end)
		}
		return parsed[i].file.uri < parsed[j].file.uri
	})
	// The RSA verifications, on every core; the decisions, which follow the chain from the
	// newest digest, after.
	checks := make([]map[string]error, len(parsed))
	parallel(len(parsed), func(i int) { checks[i] = v.verifySignatures(parsed[i]) })
	for i, d := range parsed {
		v.checkSignature(d, checks[i])
	}
	// Chains, oldest first per chain, for the chain-restart findings.
	older := map[string][]*digest{}
	for i := len(parsed) - 1; i >= 0; i-- {
		d := parsed[i]
		older[d.chain()] = append(older[d.chain()], d)
	}
	// S3 digests read from elsewhere than where they say CloudTrail delivered them (a
	// copied or replicated bucket): one finding per place. Their signature covers the
	// place CloudTrail wrote, so they verify all the same; deletions show in the chain.
	moved := map[string][]*digest{}
	var places []string
	for _, d := range parsed {
		v.checkLink(d, older[d.chain()])
		if want := v.uriOfLoc(d.loc()); d.file.kind == "s3" && d.file.uri != want {
			k := place(d.file.uri) + "\x00" + place(want)
			if len(moved[k]) == 0 {
				places = append(places, k)
			}
			moved[k] = append(moved[k], d)
		}
	}
	sort.Strings(places)
	for _, k := range places {
		ds := moved[k]
		d := ds[0]
		f := Finding{Kind: KindDigestMoved, Account: d.account, Region: d.region(), Object: d.file.uri, FileID: d.file.id,
			Delivered: d.end, Expected: v.uriOfLoc(d.loc()),
			Detail: "read from another place than the one it says CloudTrail delivered it to, " + v.uriOfLoc(d.loc()) +
				" (a copy): its signature covers that place, so it is checked all the same"}
		if len(ds) > 1 {
			f.Object, f.FileID, f.Expected = fmt.Sprintf("%d digests under %s", len(ds), strings.Split(k, "\x00")[0]), 0, ""
			f.Detail = fmt.Sprintf("read from another place than the one they say CloudTrail delivered them to, %s… (a copy): "+
				"their signatures cover that place, so they are checked all the same", strings.Split(k, "\x00")[1])
		}
		v.add(f)
	}
}

// place is where a trail's objects are: up to AWSLogs/, or the object's folder.
func place(uri string) string {
	if r := logRoot(uri); r != "" {
		return r
	}
	return uri[:len(uri)-len(path.Base(uri))]
}

// signatures are the signatures that may be d's: from its S3 metadata, and the one each
// digest that points to it records.
func signatures(d *digest) []string {
	var sigs []string
	if d.sigMeta != "" {
		sigs = append(sigs, d.sigMeta)
	}
	for _, s := range d.successors {
		if s.prevSig != nil {
			sigs = append(sigs, *s.prevSig)
		}
	}
	return sigs
}

// verifySignatures checks each signature that may be d's, when its key is known.
func (v *run) verifySignatures(d *digest) map[string]error {
	key, _ := v.ring.keyFor(d)
	sigs := signatures(d)
	if key == nil || len(sigs) == 0 {
		return nil
	}
	signed := StringToSign(d.endRaw, d.bucket, d.obj, d.raw, d.prevSig)
	out := map[string]error{}
	for _, s := range sigs {
		if _, done := out[s]; !done {
			out[s] = checkSignature(key, signed, s)
		}
	}
	return out
}

// checkSignature decides whether d's signature verifies, from the signature in its S3
// metadata and the one each successor records (checked is verifySignatures' result).
func (v *run) checkSignature(d *digest, checked map[string]error) {
	where := func(s *digest) string { return s.file.uri }
	base := Finding{Account: d.account, Region: d.region(), Object: d.file.uri, FileID: d.file.id, Delivered: d.end}
	type cand struct {
		sig  string
		from *digest // nil: the S3 metadata
		err  error
	}
	var cands []*cand
	if d.sigMeta != "" {
		cands = append(cands, &cand{sig: d.sigMeta})
	}
	for _, s := range d.successors {
		if s.prevSig != nil {
			cands = append(cands, &cand{sig: *s.prevSig, from: s})
		}
	}
	alg := d.sigAlg
	if d.sigAlgMeta != "" {
		alg = d.sigAlgMeta
	}
	key, why := v.ring.keyFor(d)
	switch {
	case alg != "" && !strings.EqualFold(alg, "SHA256withRSA"):
		d.status, d.reason = unverifiable, "signature algorithm "+alg+" is not SHA256withRSA"
	case len(cands) == 0:
		d.status = unverifiable
		switch {
		case len(d.successors) == 0 && v.newest[d.chain()].After(d.end):
			d.reason = "no signature: its S3 object metadata was not kept, and the next digest, which records it, is not in the store"
		case len(d.successors) == 0:
			d.reason = "no signature: CloudTrail keeps a digest's signature in its S3 object metadata, which a copy loses; " +
				"only the next digest records it, and this is the newest digest of its chain in the store"
		default:
			d.reason = "no signature: its S3 metadata was not kept and the next digest records none"
		}
	case key == nil:
		d.status, d.reason = unverifiable, why
	}
	if d.status == unverifiable {
		// Without a key the two records of the signature can still disagree.
		if d.sigMeta != "" {
			for _, c := range cands[1:] {
				if !sameSignature(c.sig, d.sigMeta) {
					f := base
					f.Kind, f.Object, f.FileID, f.ListedBy, f.ListedID = KindPrevSignature, where(c.from), c.from.file.id, d.file.uri, d.file.id
					f.Expected, f.Actual = d.sigMeta, c.sig
					f.Delivered = c.from.end
					f.Detail = "its previousDigestSignature is not the signature of the previous digest (from that digest's S3 metadata)"
					v.add(f)
				}
			}
		}
		return
	}
	ok := false
	for _, c := range cands {
		c.err = checked[c.sig]
		ok = ok || c.err == nil
	}
	meta := (*cand)(nil)
	if d.sigMeta != "" {
		meta = cands[0]
	}
	succBad := func() {
		for _, c := range cands {
			if c.from == nil || c.err == nil || (meta != nil && meta.err != nil && sameSignature(c.sig, meta.sig)) {
				continue
			}
			f := base
			f.Kind, f.Object, f.FileID, f.ListedBy, f.ListedID = KindPrevSignature, where(c.from), c.from.file.id, d.file.uri, d.file.id
			f.Delivered = c.from.end
			f.Actual = c.sig
			if meta != nil {
				f.Expected = meta.sig
			}
			f.Detail = "its previousDigestSignature is not the signature of the previous digest: it does not verify that digest (" + c.err.Error() + ")"
			v.add(f)
		}
	}
	switch {
	case ok:
		d.status = valid
		if meta != nil && meta.err != nil {
			f := base
			f.Kind, f.Actual = KindSignatureInvalid, meta.sig
			f.Detail = "the signature in its S3 metadata (x-amz-meta-signature) does not verify (" + meta.err.Error() +
				"), though the one the next digest records does: the object's metadata was changed"
			v.add(f)
		}
		succBad()
	case meta != nil:
		d.status, d.reason = invalid, meta.err.Error()
		f := base
		f.Kind, f.Actual = KindSignatureInvalid, meta.sig
		f.Detail = "INVALID: " + meta.err.Error() + " with the signature in its S3 metadata: the digest (or its metadata) was changed after delivery"
		v.add(f)
		succBad()
	default:
		// Only successors record the signature: trust it when one of them verified.
		var trusted *cand
		for _, c := range cands {
			if c.from.status == valid {
				trusted = c
				break
			}
		}
		if trusted == nil {
			d.status = unverifiable
			d.reason = "its signature comes only from the next digest, " + cands[0].from.file.uri + ", which did not verify"
			return
		}
		d.status, d.reason = invalid, trusted.err.Error()
		f := base
		f.Kind, f.Expected = KindSignatureInvalid, trusted.sig
		f.ListedBy, f.ListedID = trusted.from.file.uri, trusted.from.file.id
		f.Detail = "INVALID: " + trusted.err.Error() + " with the signature the next digest records (that digest verified): " +
			"this digest was changed after delivery"
		v.add(f)
	}
}

// checkLink checks d against the previous digest it names.
func (v *run) checkLink(d *digest, chain []*digest) {
	if d.prevObject == nil || d.prevBucket == nil {
		// The first digest of a chain. Older digests of the same chain mean CloudTrail
		// restarted it (validation or logging was off for a while, or the trail re-created).
		var before *digest
		for _, o := range chain {
			if o != d && !o.end.After(d.start) {
				before = o
			}
		}
		if before != nil {
			v.add(Finding{Kind: KindChainRestart, Account: d.account, Region: d.region(), Object: d.file.uri, FileID: d.file.id,
				ListedBy: before.file.uri, ListedID: before.file.id, Delivered: d.end,
				Detail: fmt.Sprintf("a new digest chain starts here (its previousDigest fields are null): no digests between %s and %s "+
					"(log file validation or logging was off, or the trail was re-created)", before.end.Format(time.RFC3339), d.start.Format(time.RFC3339))})
		}
		return
	}
	loc := *d.prevBucket + "/" + *d.prevObject
	ps := v.byLoc[loc]
	if len(ps) == 0 && v.oldLoc[loc] {
		return // stored, but read before version 4: reported as needs-reingest
	}
	if len(ps) == 0 {
		uri := v.uriOfLoc(loc)
		t, _ := parseDigestName(path.Base(*d.prevObject))
		base := Finding{Account: d.account, Region: d.region(), Object: uri, ListedBy: d.file.uri, ListedID: d.file.id,
			Delivered: t.delivered}
		if e, ok := v.errorFor(uri, *d.prevObject); ok {
			base.Kind, base.Object = KindUnreadable, e.uri
			base.Detail = "the previous digest of " + d.file.uri + " could not be read: " + e.reason
			v.add(base)
			v.reported[e.uri] = true
			return
		}
		if v.expectedDigest(uri, t.delivered, chain) {
			base.Kind = KindDigestMissing
			base.Detail = "the next digest points to it, and it is not in the store: it was deleted (or not copied); " +
				"the log files it listed cannot be verified"
			v.add(base)
		}
		return
	}
	for _, p := range ps {
		if d.prevHash == nil || !sameHash(*d.prevHash, p.rawHash) {
			exp := ""
			if d.prevHash != nil {
				exp = *d.prevHash
			}
			v.add(Finding{Kind: KindPrevHash, Account: d.account, Region: d.region(), Object: p.file.uri, FileID: p.file.id,
				ListedBy: d.file.uri, ListedID: d.file.id, Delivered: p.end, Expected: exp, Actual: p.rawHash,
				Detail: "the next digest records another hash for it (previousDigestHashValue): this digest was changed after the next one was written"})
		}
	}
}

// expectedDigest reports whether a digest absent from the store should be there: an S3
// window read its place whole, or the store holds an older digest of the same chain.
func (v *run) expectedDigest(uri string, t time.Time, chain []*digest) bool {
	if ws := v.windowsOver(uri); len(ws) > 0 {
		return inAny(ws, t)
	}
	for _, o := range chain {
		if !t.IsZero() && o.end.Before(t) {
			return true
		}
	}
	return false
}

// windowsOver are the S3 windows whose prefix (and narrowing) covers uri.
func (v *run) windowsOver(uri string) []window {
	var out []window
	for _, w := range v.windows {
		if !strings.HasPrefix(uri, w.prefix) {
			continue
		}
		parts := strings.Split(uri[len(w.prefix):], "/")
		org := ""
		if len(parts) > 0 && strings.HasPrefix(parts[0], "o-") {
			org, parts = parts[0], parts[1:]
		}
		if len(parts) < 3 {
			continue
		}
		acct, region := parts[0], parts[2]
		if (len(w.orgIDs) > 0 && !contains(w.orgIDs, org)) || (len(w.accounts) > 0 && !contains(w.accounts, acct)) ||
			(len(w.regions) > 0 && !contains(w.regions, region)) {
			continue
		}
		out = append(out, w)
	}
	return out
}

func inAny(ws []window, t time.Time) bool {
	for _, w := range ws {
		if !t.Before(w.from) && t.Before(w.to) {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// errorFor finds the ingest error of an object (by its S3 URI, or by name for a copy).
func (v *run) errorFor(uri, object string) (ingestError, bool) {
	if e, ok := v.errs[uri]; ok {
		return e, true
	}
	e, ok := v.errBase[path.Base(object)]
	return e, ok
}
