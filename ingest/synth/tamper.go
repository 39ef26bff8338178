package synth

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Tampering says what Tamper does to a generated trail, as someone with write access to
// the bucket (or a careless copy) would. Each count is a number of log files (or digests)
// changed; every change is in a different hour, in the middle of its region's digest
// chain, so that each one shows on its own.
type Tampering struct {
	Edit    int // drop one record from a log file (the event an attacker hides); it stays valid JSON
	Delete  int // remove a log file
	Forge   int // add a log file CloudTrail never delivered, named like the others of a digest's hour
	Swap    int // exchange the contents of two log files of a region (each swap changes two files)
	Shuffle int // re-order the records of a log file
	Append  int // append a second gzip stream to a log file
	// DeleteDigest removes digests in the middle of their chains; AlterSignature changes
	// the previousDigestSignature a digest records (so the digest no longer verifies).
	DeleteDigest, AlterSignature int
	// EditContaining, when set, makes the first edit drop a record containing this text
	// (e.g. `"eventName":"RunInstances"`), in a log file of EditRegion when that is set.
	EditContaining, EditRegion string
	Seed                       uint64
}

// Tampered is one change Tamper made, as trailhound verify should report it (for a local
// copy of the trail, where digests carry no S3 metadata).
type Tampered struct {
	Kind   string // modified, missing, unlisted, trailing-data, digest-missing, signature-invalid, previous-hash-mismatch
	Key    string // the S3 key of the object changed (its path under the tree's root)
	Digest string // the key of the digest that lists it, or points to it
}

// tamperDigest is what Tamper reads of a digest.
type tamperDigest struct {
	key        string
	start, end time.Time
	logs       []string
	chain      string
}

// Tamper changes the trail Generate wrote under dir (with manifest m) and returns what
// it changed, sorted by kind and key. It fails when the trail has too few digest hours
// for the changes asked for.
func Tamper(dir string, m Manifest, t Tampering) ([]Tampered, error) {
	digests, err := readTamperDigests(dir, m)
	if err != nil {
		return nil, err
	}
	// Candidate hours: digests with log files, neither first nor last in their chain,
	// each used once.
	chains := map[string][]*tamperDigest{}
	for _, d := range digests {
		chains[d.chain] = append(chains[d.chain], d)
	}
	var pool []*tamperDigest
	for _, c := range sortedChains(chains) {
		ds := chains[c]
		for i := 1; i+1 < len(ds); i++ {
			if len(ds[i].logs) > 0 {
				pool = append(pool, ds[i])
			}
		}
	}
	r := rand.New(rand.NewPCG(t.Seed, 0x7a3e))
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	used := map[string]bool{}
	// take returns an unused candidate digest (whose neighbours are unused too, so a
	// deleted or altered digest does not hide another change), preferring match.
	take := func(match func(*tamperDigest) bool) (*tamperDigest, error) {
		for pass := range 2 {
			for _, d := range pool {
				if used[d.key] || (pass == 0 && match != nil && !match(d)) {
					continue
				}
				c := chains[d.chain]
				i := slices.Index(c, d)
				if used[c[i-1].key] || used[c[i+1].key] {
					continue
				}
				used[d.key] = true
				return d, nil
			}
			if match == nil {
				break
			}
		}
		return nil, fmt.Errorf("synth: tamper: the trail has too few digest hours for the changes asked for")
	}
	var out []Tampered
	root := func(k string) string { return filepath.Join(dir, filepath.FromSlash(k)) }

	for i := range t.Edit {
		var d *tamperDigest
		var key string
		if i == 0 && t.EditContaining != "" {
			d, key, err = findContaining(dir, pool, used, t.EditContaining, t.EditRegion)
		} else {
			d, err = take(nil)
			if err == nil {
				key = d.logs[0]
			}
		}
		if err != nil {
			return nil, err
		}
		recs, err := readRecords(root(key))
		if err != nil {
			return nil, err
		}
		drop := len(recs) - 1
		if i == 0 && t.EditContaining != "" {
			drop = slices.IndexFunc(recs, func(b json.RawMessage) bool { return bytes.Contains(b, []byte(t.EditContaining)) })
		}
		if len(recs) > 1 {
			recs = slices.Delete(recs, drop, drop+1)
		} else {
			recs[0] = bytes.Replace(recs[0], []byte(`"eventVersion":"`), []byte(`"eventVersion": "`), 1)
		}
		if err := writeRecords(root(key), recs); err != nil {
			return nil, err
		}
		out = append(out, Tampered{"modified", key, d.key})
	}
	for range t.Delete {
		d, err := take(nil)
		if err != nil {
			return nil, err
		}
		if err := os.Remove(root(d.logs[0])); err != nil {
			return nil, fmt.Errorf("synth: tamper: %w", err)
		}
		out = append(out, Tampered{"missing", d.logs[0], d.key})
	}
	for i := range t.Forge {
		d, err := take(nil)
		if err != nil {
			return nil, err
		}
		recs, err := readRecords(root(d.logs[0]))
		if err != nil {
			return nil, err
		}
		// A record like the hour's first, with a new eventID, in a file named like the
		// hour's others (same account, region and delivery minute, a new random suffix).
		rec := recs[0]
		if j := bytes.Index(rec, []byte(`"eventID":"`)); j >= 0 {
			id := rec[j+len(`"eventID":"`):]
			n := bytes.IndexByte(id, '"')
			rec = slices.Concat(rec[:j+len(`"eventID":"`)], []byte(fmt.Sprintf("f0f0f0f0-0000-4000-8000-%012d", i)), id[n:])
		}
		name := path.Base(d.logs[0])
		cut := strings.LastIndexByte(name, '_')
		key := path.Dir(d.logs[0]) + "/" + name[:cut+1] + fmt.Sprintf("FORGED%010d", i) + ".json.gz"
		if err := writeRecords(root(key), []json.RawMessage{rec}); err != nil {
			return nil, err
		}
		out = append(out, Tampered{"unlisted", key, ""})
	}
	for range t.Swap {
		a, err := take(nil)
		if err != nil {
			return nil, err
		}
		b, err := take(func(d *tamperDigest) bool { return d.chain == a.chain })
		if err != nil {
			return nil, err
		}
		ka, kb := a.logs[0], b.logs[0]
		ba, err1 := os.ReadFile(root(ka))
		bb, err2 := os.ReadFile(root(kb))
		if err := cmp.Or(err1, err2); err != nil {
			return nil, fmt.Errorf("synth: tamper: %w", err)
		}
		if err := cmp.Or(os.WriteFile(root(ka), bb, 0o644), os.WriteFile(root(kb), ba, 0o644)); err != nil {
			return nil, fmt.Errorf("synth: tamper: %w", err)
		}
		out = append(out, Tampered{"modified", ka, a.key}, Tampered{"modified", kb, b.key})
	}
	for range t.Shuffle {
		d, err := take(func(d *tamperDigest) bool { return hasRecords(root(d.logs[0]), 2) })
		if err != nil {
			return nil, err
		}
		recs, err := readRecords(root(d.logs[0]))
		if err != nil {
			return nil, err
		}
		if len(recs) < 2 {
			return nil, fmt.Errorf("synth: tamper: no log file with two records to re-order")
		}
		slices.Reverse(recs)
		if err := writeRecords(root(d.logs[0]), recs); err != nil {
			return nil, err
		}
		out = append(out, Tampered{"modified", d.logs[0], d.key})
	}
	for range t.Append {
		d, err := take(nil)
		if err != nil {
			return nil, err
		}
		var extra bytes.Buffer
		zw := gzip.NewWriter(&extra)
		zw.Write([]byte(`{"Records":[]}`))
		zw.Close()
		f, err := os.OpenFile(root(d.logs[0]), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Write(extra.Bytes())
			err = cmp.Or(err, f.Close())
		}
		if err != nil {
			return nil, fmt.Errorf("synth: tamper: %w", err)
		}
		out = append(out, Tampered{"trailing-data", d.logs[0], d.key})
	}
	for range t.DeleteDigest {
		d, err := take(nil)
		if err != nil {
			return nil, err
		}
		c := chains[d.chain]
		next := c[slices.Index(c, d)+1]
		used[next.key] = true
		if err := os.Remove(root(d.key)); err != nil {
			return nil, fmt.Errorf("synth: tamper: %w", err)
		}
		out = append(out, Tampered{"digest-missing", d.key, next.key})
	}
	for range t.AlterSignature {
		// The altered digest needs a successor (which records its signature) that is
		// itself verifiable: take one two before the end.
		d, err := take(func(d *tamperDigest) bool {
			c := chains[d.chain]
			return slices.Index(c, d)+2 < len(c)
		})
		if err != nil {
			return nil, err
		}
		c := chains[d.chain]
		next := c[slices.Index(c, d)+1]
		used[next.key] = true
		raw, err := readGz(root(d.key))
		if err != nil {
			return nil, err
		}
		j := bytes.Index(raw, []byte(`"previousDigestSignature":"`))
		if j < 0 {
			return nil, fmt.Errorf("synth: tamper: %s has no previous signature", d.key)
		}
		j += len(`"previousDigestSignature":"`)
		raw = slices.Clone(raw)
		if raw[j] == '0' { // another hex digit: the digest stays well-formed
			raw[j] = '1'
		} else {
			raw[j] = '0'
		}
		if err := writeGzFile(root(d.key), raw); err != nil {
			return nil, err
		}
		// The next digest recorded the hash of the digest as it was.
		out = append(out, Tampered{"signature-invalid", d.key, ""}, Tampered{"previous-hash-mismatch", d.key, next.key})
	}
	slices.SortFunc(out, func(a, b Tampered) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key)) })
	return out, nil
}

// readTamperDigests reads the trail's digests, ordered by end time within each chain.
func readTamperDigests(dir string, m Manifest) ([]*tamperDigest, error) {
	keys := make([]string, 0, len(m.DigestSignatures))
	for k := range m.DigestSignatures {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*tamperDigest
	for _, k := range keys {
		raw, err := readGz(filepath.Join(dir, filepath.FromSlash(k)))
		if err != nil {
			return nil, err
		}
		var d struct {
			DigestStartTime, DigestEndTime time.Time
			LogFiles                       []struct{ S3Object string }
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("synth: tamper: %s: %w", k, err)
		}
		td := &tamperDigest{key: k, start: d.DigestStartTime, end: d.DigestEndTime,
			chain: path.Dir(path.Dir(path.Dir(path.Dir(k))))}
		for _, l := range d.LogFiles {
			td.logs = append(td.logs, l.S3Object)
		}
		slices.Sort(td.logs)
		out = append(out, td)
	}
	slices.SortStableFunc(out, func(a, b *tamperDigest) int { return cmp.Or(cmp.Compare(a.chain, b.chain), a.end.Compare(b.end)) })
	return out, nil
}

func sortedChains(m map[string][]*tamperDigest) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// findContaining finds an unused candidate hour with a log file holding text (of region,
// when given).
func findContaining(dir string, pool []*tamperDigest, used map[string]bool, text, region string) (*tamperDigest, string, error) {
	for _, d := range pool {
		if used[d.key] || (region != "" && !strings.Contains(d.key, "/CloudTrail-Digest/"+region+"/")) {
			continue
		}
		for _, k := range d.logs {
			raw, err := readGz(filepath.Join(dir, filepath.FromSlash(k)))
			if err != nil {
				return nil, "", err
			}
			if bytes.Contains(raw, []byte(text)) {
				used[d.key] = true
				return d, k, nil
			}
		}
	}
	return nil, "", fmt.Errorf("synth: tamper: no log file in the middle of a digest chain holds %q", text)
}

func hasRecords(p string, n int) bool {
	recs, err := readRecords(p)
	return err == nil && len(recs) >= n
}

func readGz(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("synth: tamper: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("synth: tamper: %s: %w", p, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("synth: tamper: %s: %w", p, err)
	}
	return b, nil
}

func writeGzFile(p string, data []byte) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzLevel)
	return writeGz(p, zw, &buf, data)
}

func readRecords(p string) ([]json.RawMessage, error) {
	raw, err := readGz(p)
	if err != nil {
		return nil, err
	}
	var f struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Records) == 0 {
		return nil, fmt.Errorf("synth: tamper: %s holds no records (%v)", p, err)
	}
	return f.Records, nil
}

func writeRecords(p string, recs []json.RawMessage) error {
	b := []byte(`{"Records":[`)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return writeGzFile(p, append(b, "]}"...))
}
