package verify

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// clusterGap splits an account's stored log files into the spans a local copy holds: a
// log file a digest lists is missing from a copy when the copy holds log files of its
// account within clusterGap before and after it; beyond, it was just not copied.
const clusterGap = 6 * time.Hour

// span is a stretch of time.
type span struct{ from, to time.Time }

// checkLogFiles matches every log file the digests list to the store, and every stored log
// file to the digests.
func (v *run) checkLogFiles() {
	if v.reported == nil {
		v.reported = map[string]bool{}
	}
	// Where the store holds log files: per account (clusters of delivery times), and which
	// account+region pairs have any.
	times := map[string][]time.Time{}
	hasRegion := map[string]bool{}
	for _, f := range v.files {
		if f.isLog() && f.named {
			times[f.name.account] = append(times[f.name.account], f.name.delivered)
			hasRegion[f.name.account+"/"+f.name.region] = true
		}
	}
	clusters := map[string][]span{}
	for acct, ts := range times {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		var cs []span
		for _, t := range ts {
			if n := len(cs); n > 0 && t.Sub(cs[n-1].to) <= clusterGap {
				cs[n-1].to = t
			} else {
				cs = append(cs, span{t, t})
			}
		}
		clusters[acct] = cs
	}
	for _, d := range v.digests {
		if d.raw == nil || d.formatErr != "" {
			continue
		}
		for i := range d.logs {
			e := &d.logs[i]
			found := v.locate(e)
			if len(found) == 0 {
				if f := v.byHash[strings.ToLower(e.Hash)]; len(f) > 0 && len(e.Hash) == 64 {
					for _, c := range f {
						c.renamed = true
					}
					found = f
				}
			}
			for _, f := range found {
				f.listings = append(f.listings, listing{d, e})
			}
			if len(found) > 0 {
				continue
			}
			uri := "s3://" + e.Bucket + "/" + e.Object
			name, _ := parseLogName(path.Base(e.Object))
			base := Finding{Account: name.account, Region: name.region, Object: uri, ListedBy: d.file.uri,
				ListedID: d.file.id, Delivered: name.delivered, Expected: e.Hash}
			if er, ok := v.errorFor(uri, e.Object); ok {
				base.Kind, base.Object = KindUnreadable, er.uri
				base.Detail = "a digest lists it; the store could not read it: " + er.reason
				v.add(base)
				v.reported[er.uri] = true
				continue
			}
			missing := false
			why := ""
			if ws := v.windowsOver(uri); len(ws) > 0 {
				missing = inAny(ws, name.delivered)
				if !missing {
					why = "delivered outside the windows ingest s3 read"
				}
				for p, er := range v.errs {
					if strings.HasSuffix(p, "/") && strings.HasPrefix(uri, p) {
						missing, why = false, "the store could not list "+p+": "+er.reason
					}
				}
			} else {
				switch {
				case !hasRegion[name.account+"/"+name.region]:
					why = "the store holds no log file of this account and region"
				case !inClusters(clusters[name.account], name.delivered):
					why = "delivered outside the span of log files the store holds for this account"
				default:
					missing = true
				}
			}
			if missing {
				base.Kind = KindMissing
				base.Detail = "the digest lists it and the store holds the log files delivered around it, but not this one: " +
					"it was deleted (or not copied)"
				v.add(base)
				continue
			}
			base.Detail = why
			v.notIngested(base)
		}
	}
	v.checkUnlisted()
}

// locate finds the stored files a digest's log entry names. The file's name is enough
// (CloudTrail makes it unique), so an S3 object, a local tree laid out as the bucket (any
// prefix) and a flattened copy all match; every stored copy is checked.
func (v *run) locate(e *logEntry) []*srcFile {
	return v.byBase[path.Base(e.Object)]
}

func inClusters(cs []span, t time.Time) bool {
	for _, c := range cs {
		if !t.Before(c.from) && !t.After(c.to) {
			return true
		}
	}
	return false
}

// notIngested gathers log files a digest lists outside what was ingested, per account and
// region: one finding each.
func (v *run) notIngested(f Finding) {
	f.Kind = KindNotIngested
	v.pendingNotIngested = append(v.pendingNotIngested, f)
}

// checkUnlisted reports stored log files no digest lists: unlisted when digests cover their
// region and delivery time, else hours without digest coverage.
func (v *run) checkUnlisted() {
	// Coverage is per trail location (the bucket and prefix, or a local copy's folder, up
	// to AWSLogs/: another trail's files in another place are not this trail's), account
	// and region; a flattened copy's files fall back to their account and region.
	cover := map[string][]span{}
	last := map[string]time.Time{}
	for _, d := range v.digests {
		if d.raw == nil || d.formatErr != "" || !d.named {
			continue
		}
		ar := d.name.account + "/" + d.name.region
		roots := []string{"*", logRoot(v.uriOfLoc(d.loc()))}
		if r := logRoot(d.file.uri); r != "" {
			roots = append(roots, r)
		}
		for _, root := range roots {
			k := root + "|" + ar
			cover[k] = append(cover[k], span{d.start, d.end})
			if d.end.After(last[k]) {
				last[k] = d.end
			}
		}
	}
	for k := range cover {
		sort.Slice(cover[k], func(i, j int) bool { return cover[k][i].from.Before(cover[k][j].from) })
	}
	covered := func(k string, t time.Time) bool {
		// The name has the minute: some instant of [t, t+1m) in some digest's [start, end).
		for _, s := range cover[k] {
			if s.from.Before(t.Add(time.Minute)) && t.Before(s.to) {
				return true
			}
		}
		return false
	}
	type key struct{ acct, region string }
	uncovered := map[key][]*srcFile{}
	var unnamed []*srcFile
	for _, f := range v.files {
		if !f.isLog() || len(f.listings) > 0 || f.content == "" {
			continue
		}
		if !f.named {
			unnamed = append(unnamed, f)
			f.verdict, f.detail = "no-digest", "not named as CloudTrail names its log files, and no digest lists its content"
			continue
		}
		root := logRoot(f.uri)
		if root == "" {
			root = "*"
		}
		k := root + "|" + f.name.account + "/" + f.name.region
		// Unlisted only when a later digest of the region is stored too: a file delivered
		// late is listed in the next hour's digest (or a backfill digest).
		if covered(k, f.name.delivered) && last[k].After(f.name.delivered.Add(time.Hour)) {
			f.verdict, f.detail = KindUnlisted, "no digest lists it, though the digests cover its region and delivery time"
			v.add(Finding{Kind: KindUnlisted, Account: f.name.account, Region: f.name.region, Object: f.uri, FileID: f.id,
				Delivered: f.name.delivered, Actual: f.content,
				Detail: "no digest lists it, though the store's digests cover its region and delivery time: CloudTrail did not deliver it"})
			continue
		}
		f.verdict = KindNoDigest
		switch {
		case len(cover[k]) == 0:
			f.detail = "no digest of its region is in the store"
		case !last[k].After(f.name.delivered.Add(time.Hour)):
			f.detail = "delivered after the newest digest of its region in the store (" + last[k].Format(time.RFC3339) + ")"
		default:
			f.detail = "no digest in the store covers its delivery hour"
		}
		uncovered[key{f.name.account, f.name.region}] = append(uncovered[key{f.name.account, f.name.region}], f)
	}
	// One finding per run of uncovered hours of a region.
	var keys []key
	for k := range uncovered {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].acct != keys[j].acct {
			return keys[i].acct < keys[j].acct
		}
		return keys[i].region < keys[j].region
	})
	regionFiles := map[string][]*srcFile{}
	for _, f := range v.files {
		if f.isLog() && f.named {
			regionFiles[f.name.account+"/"+f.name.region] = append(regionFiles[f.name.account+"/"+f.name.region], f)
		}
	}
	for _, k := range keys {
		all := regionFiles[k.acct+"/"+k.region]
		sort.Slice(all, func(i, j int) bool {
			if !all[i].name.delivered.Equal(all[j].name.delivered) {
				return all[i].name.delivered.Before(all[j].name.delivered)
			}
			return all[i].uri < all[j].uri
		})
		var run []*srcFile
		flush := func() {
			if len(run) == 0 {
				return
			}
			first, lastF := run[0], run[len(run)-1]
			from := first.name.delivered.Truncate(time.Hour)
			to := lastF.name.delivered.Truncate(time.Hour).Add(time.Hour)
			obj := first.uri
			if len(run) > 1 {
				obj = fmt.Sprintf("%d log files", len(run))
			}
			v.add(Finding{Kind: KindNoDigest, Account: k.acct, Region: k.region, Object: obj, FileID: idIfOne(run),
				Delivered: from, Detail: fmt.Sprintf("%s to %s (%d hours): %s", from.Format(time.RFC3339), to.Format(time.RFC3339),
					int(to.Sub(from).Hours()), first.detail)})
			run = nil
		}
		for _, f := range all {
			if f.verdict == KindNoDigest {
				if len(run) > 0 && run[0].detail != f.detail {
					flush()
				}
				run = append(run, f)
			} else if len(f.listings) > 0 || f.verdict == KindUnlisted {
				flush()
			}
		}
		flush()
	}
	if len(unnamed) > 0 {
		sort.Slice(unnamed, func(i, j int) bool { return unnamed[i].uri < unnamed[j].uri })
		obj := unnamed[0].uri
		if len(unnamed) > 1 {
			obj = fmt.Sprintf("%d files", len(unnamed))
		}
		v.add(Finding{Kind: KindNoDigest, Object: obj, FileID: idIfOne(unnamed),
			Detail: "files in CloudTrail's delivery format ({\"Records\":[...]}) that are not named as CloudTrail names its log files, " +
				"and whose content no digest lists: they cannot be checked"})
	}
}

// logRoot is where a trail's files are, up to and including AWSLogs/ ("" for a file not
// under an AWSLogs folder).
func logRoot(uri string) string {
	i := strings.LastIndex(uri, "/AWSLogs/")
	if i < 0 {
		return ""
	}
	return uri[:i+len("/AWSLogs/")]
}

func idIfOne(fs []*srcFile) int64 {
	if len(fs) == 1 {
		return fs[0].id
	}
	return 0
}

// checkErrors reports CloudTrail log files and digests the store could not read that no
// digest listed or pointed to (those are reported already).
func (v *run) checkErrors() {
	var uris []string
	for u := range v.errs {
		uris = append(uris, u)
	}
	sort.Strings(uris)
	for _, u := range uris {
		if v.reported[u] || strings.HasSuffix(u, "/") {
			continue
		}
		e := v.errs[u]
		b := baseName(u)
		if n, ok := parseLogName(b); ok {
			v.add(Finding{Kind: KindUnreadable, Account: n.account, Region: n.region, Object: u, Delivered: n.delivered,
				Detail: "a CloudTrail log file the store could not read: " + e.reason})
		} else if n, ok := parseDigestName(b); ok {
			v.add(Finding{Kind: KindUnreadable, Account: n.account, Region: n.region, Object: u, Delivered: n.delivered,
				Detail: "a CloudTrail digest file the store could not read: " + e.reason})
		}
	}
}

// verdicts decides every source file's verdict, the findings about log files, and sums.
func (v *run) verdicts() {
	s := &v.sum
	reingest := 0
	for _, f := range v.files {
		switch {
		case f.kind == "history":
			f.verdict, f.detail = "not-applicable", "an event history page: no digests exist for event history"
			s.HistoryPages++
		case f.shape == "digest":
			// set from the digest below
		case !f.isLog():
			f.verdict, f.detail = "not-applicable", "not a CloudTrail log file (shape "+f.shape+"): no digest lists it"
			s.OtherFiles++
		case f.content == "":
			f.verdict, f.detail = KindNeedsReingest, "read before trailhound recorded content hashes: ingest it again"
			s.LogFiles++
			reingest++
		case len(f.listings) > 0:
			s.LogFiles++
			v.logVerdict(f)
		default:
			s.LogFiles++
			if f.verdict == KindNoDigest {
				s.LogFilesNoDigest++
			}
		}
	}
	digestsReingest := 0
	unverif := map[string][]*digest{}
	for _, d := range v.digests {
		f := d.file
		s.Digests++
		switch d.status {
		case valid:
			f.verdict = "verified"
			s.DigestsValid++
		case invalid:
			f.verdict, f.detail = KindSignatureInvalid, d.reason
			s.DigestsInvalid++
		case badFormat:
			f.verdict, f.detail = "invalid", d.formatErr
			s.DigestsInvalid++
		default:
			s.DigestsUnverifiable++
			if d.raw == nil {
				f.verdict, f.detail = KindNeedsReingest, "read before trailhound recorded digests' bytes: ingest it again"
				digestsReingest++
				continue
			}
			f.verdict, f.detail = KindUnverifiable, d.reason
			k := d.account + "\x00" + d.region() + "\x00" + d.reason
			unverif[k] = append(unverif[k], d)
		}
	}
	var uk []string
	for k := range unverif {
		uk = append(uk, k)
	}
	sort.Strings(uk)
	for _, k := range uk {
		ds := unverif[k]
		sort.Slice(ds, func(i, j int) bool { return ds[i].end.Before(ds[j].end) })
		f := Finding{Kind: KindUnverifiable, Account: ds[0].account, Region: ds[0].region(), Object: ds[0].file.uri,
			FileID: ds[0].file.id, Delivered: ds[0].end, Detail: ds[0].reason}
		if len(ds) > 1 {
			f.Object, f.FileID = fmt.Sprintf("%d digests", len(ds)), 0
			f.Detail = fmt.Sprintf("%s to %s: %s", ds[0].end.Format(time.RFC3339), ds[len(ds)-1].end.Format(time.RFC3339), ds[0].reason)
		}
		v.add(f)
	}
	if reingest+digestsReingest > 0 {
		s.NeedsReingest = reingest + digestsReingest
		v.add(Finding{Kind: KindNeedsReingest, Object: fmt.Sprintf("%d log files, %d digests", reingest, digestsReingest),
			Detail: "read by a trailhound older than the content hashes verification needs (schema version 4): " +
				"not verifiable: re-ingest them (run the same trailhound ingest again: they are read again, not skipped)"})
	}
	// Not ingested: one finding per account and region.
	type key struct{ acct, region string }
	groups := map[key][]Finding{}
	for _, f := range v.pendingNotIngested {
		groups[key{f.Account, f.Region}] = append(groups[key{f.Account, f.Region}], f)
	}
	var gk []key
	for k := range groups {
		gk = append(gk, k)
	}
	sort.Slice(gk, func(i, j int) bool {
		if gk[i].acct != gk[j].acct {
			return gk[i].acct < gk[j].acct
		}
		return gk[i].region < gk[j].region
	})
	for _, k := range gk {
		fs := groups[k]
		sort.Slice(fs, func(i, j int) bool {
			if !fs[i].Delivered.Equal(fs[j].Delivered) {
				return fs[i].Delivered.Before(fs[j].Delivered)
			}
			return fs[i].Object < fs[j].Object
		})
		f := fs[0]
		if len(fs) > 1 {
			f.Object, f.ListedBy, f.ListedID, f.Expected = fmt.Sprintf("%d log files", len(fs)), "", 0, ""
			f.Detail = fmt.Sprintf("listed by digests, delivered %s to %s: %s (not tampering: ingest them to check them)",
				fs[0].Delivered.Format(time.RFC3339), fs[len(fs)-1].Delivered.Format(time.RFC3339), f.Detail)
		} else {
			f.Detail += " (not tampering: ingest it to check it)"
		}
		v.add(f)
	}
	for _, f := range v.findings {
		s.Kinds[f.Kind]++
		s.Findings++
		if IsTampering(f.Kind) {
			s.Tampering++
		}
	}
}

// logVerdict checks a stored log file against the digests that list it.
func (v *run) logVerdict(f *srcFile) {
	s := &v.sum
	var match, validMatch, validMismatch *listing
	for i := range f.listings {
		l := &f.listings[i]
		same := sameHash(l.e.Hash, f.content)
		switch {
		case same && l.d.status == valid:
			validMatch = l
		case same:
			if match == nil {
				match = l
			}
		case l.d.status == valid:
			if validMismatch == nil {
				validMismatch = l
			}
		}
	}
	first := &f.listings[0]
	name := f.name
	base := Finding{Account: name.account, Region: name.region, Object: f.uri, FileID: f.id, Delivered: name.delivered,
		Actual: f.content}
	renamed := ""
	if f.renamed {
		renamed = " (found by its content: it is stored under another name)"
	}
	switch {
	case f.trailing > 0:
		l := first
		if validMatch != nil {
			l = validMatch
		}
		f.verdict, f.listed = KindTrailingData, l.d.file.uri
		f.detail = fmt.Sprintf("%d bytes after the end of its gzip stream", f.trailing)
		base.Kind, base.ListedBy, base.ListedID, base.Expected = KindTrailingData, l.d.file.uri, l.d.file.id, l.e.Hash
		base.Detail = fmt.Sprintf("%d bytes follow the end of its gzip stream (CloudTrail writes one stream; AWS calls this file invalid). "+
			"The stream itself %s the digest's hash; what follows was not read", f.trailing,
			map[bool]string{true: "matches", false: "does not match"}[sameHash(l.e.Hash, f.content)])
		v.add(base)
	case validMatch != nil:
		f.verdict, f.listed, f.detail = "verified", validMatch.d.file.uri, strings.TrimPrefix(renamed, " ")
		s.LogFilesVerified++
	case validMismatch != nil || match == nil:
		l := validMismatch
		if l == nil {
			l = first
		}
		f.verdict, f.listed = KindModified, l.d.file.uri
		f.detail = "its content does not hash to what its digest lists"
		base.Kind, base.ListedBy, base.ListedID, base.Expected = KindModified, l.d.file.uri, l.d.file.id, l.e.Hash
		base.Detail = "its content does not hash to what its digest lists: it was changed after delivery" + renamed
		if l.d.status != valid {
			base.Detail += " (the digest's own signature could not be checked: " + statusText(l.d) + ")"
		}
		v.add(base)
	default:
		f.verdict, f.listed = "unverified", match.d.file.uri
		f.detail = "its hash matches a digest whose signature could not be checked: " + statusText(match.d) + renamed
		s.LogFilesUnverified++
	}
}

func statusText(d *digest) string {
	switch d.status {
	case valid:
		return "verified"
	case invalid:
		return "its signature is invalid"
	}
	return d.reason
}
