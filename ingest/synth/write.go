package synth

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

// gzLevel trades a little size for speed; CloudTrail readers do not care.
const gzLevel = gzip.BestSpeed

// write writes log files in parallel, then the digest files.
func (g *gen) write(ctx context.Context, dir string) error {
	dirs := map[string]bool{}
	for i := range g.files {
		dirs[path.Dir(g.files[i].key)] = true
	}
	if err := mkdirs(dir, dirs); err != nil {
		return err
	}
	hashes := make([][32]byte, len(g.files))
	err := parallel(ctx, g.o.Workers, len(g.files), func() func(i int) error {
		rd := newRenderer(g)
		var w jw
		var buf bytes.Buffer
		gz, _ := gzip.NewWriterLevel(&buf, gzLevel)
		return func(i int) error {
			fd := &g.files[i]
			w.b = append(w.b[:0], `{"Records":[`...)
			for k := fd.lo; k < fd.hi; k++ {
				rd.render(&w, &g.stubs[k])
			}
			w.b = append(w.b, "]}"...)
			hashes[i] = sha256.Sum256(w.b)
			p := filepath.Join(dir, filepath.FromSlash(fd.key))
			if err := writeGz(p, gz, &buf, w.b); err != nil {
				return err
			}
			return nil
		}
	})
	if err != nil {
		return err
	}
	g.stubs = nil
	return g.writeDigests(ctx, dir, hashes)
}

func writeGz(p string, gz *gzip.Writer, buf *bytes.Buffer, data []byte) error {
	buf.Reset()
	gz.Reset(buf)
	if _, err := gz.Write(data); err != nil {
		return fmt.Errorf("compress %s: %w", p, err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", p, err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func mkdirs(root string, dirs map[string]bool) error {
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	slices.Sort(list)
	for _, d := range list {
		p := filepath.Join(root, filepath.FromSlash(d))
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", p, err)
		}
	}
	return nil
}

// parallel runs job(i) for i in [0,n) on workers goroutines. newJob is called
// once per worker to set up its state. The first error cancels the rest.
func parallel(ctx context.Context, workers, n int, newJob func() func(int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err })
		cancel()
	}
	workers = max(1, min(workers, n))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := newJob()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := job(i); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// chain is the digest chain of one account and region.
type chain struct {
	acct, reg uint8
	files     []int // indexes into g.files, sorted by delivery time
}

// writeDigests writes one CloudTrail-Digest file per region and hour with log
// files (with Options.EmptyDigests, every hour from the first to the last),
// chained by previousDigest*.
func (g *gen) writeDigests(ctx context.Context, dir string, hashes [][32]byte) error {
	var chains []*chain
	idx := map[[2]uint8]*chain{}
	for i := range g.files {
		fd := &g.files[i]
		k := [2]uint8{fd.acct, fd.reg}
		c := idx[k]
		if c == nil {
			c = &chain{acct: fd.acct, reg: fd.reg}
			idx[k] = c
			chains = append(chains, c)
		}
		c.files = append(c.files, i)
	}
	for _, c := range chains {
		slices.SortFunc(c.files, func(x, y int) int {
			if d := cmp.Compare(g.files[x].ts, g.files[y].ts); d != 0 {
				return d
			}
			return cmp.Compare(g.files[x].key, g.files[y].key)
		})
	}
	sigs := make([]map[string]string, len(chains))
	pk := publicKey(g.o.SigningKey, time.Unix(g.day0, 0).UTC(), time.Unix(g.end, 0).UTC().AddDate(0, 0, 30))
	err := parallel(ctx, g.o.Workers, len(chains), func() func(int) error {
		var buf bytes.Buffer
		gz, _ := gzip.NewWriterLevel(&buf, gzLevel)
		made := map[string]bool{}
		return func(i int) error {
			sigs[i] = map[string]string{}
			return g.writeChain(dir, chains[i], hashes, gz, &buf, made, pk.Fingerprint, sigs[i])
		}
	})
	if err != nil {
		return err
	}
	g.m.PublicKey = pk
	g.m.DigestSignatures = map[string]string{}
	for _, m := range sigs {
		for k, v := range m {
			g.m.DigestSignatures[k] = v
		}
	}
	g.m.DigestFiles = len(g.m.DigestSignatures)
	return nil
}

// writeChain writes and signs one chain's digests, recording each signature in sigs.
func (g *gen) writeChain(dir string, c *chain, hashes [][32]byte, gz *gzip.Writer, buf *bytes.Buffer, made map[string]bool,
	fingerprint string, sigs map[string]string) error {
	a := g.accts[c.acct]
	region := g.regions[c.reg]
	seed := mix(a.seed, 0xd16e57<<8|uint64(c.reg))
	off := int64(60 + seed%3480) // digest end: a fixed minute:second past each hour
	first, last := g.files[c.files[0]].ts, g.files[c.files[len(c.files)-1]].ts
	end := first - first%3600 + off
	if end <= first {
		end += 3600
	}
	var (
		prevKey, prevSig string
		prevHash         [32]byte
		w                jw
		fi               int
	)
	for ; end-3600 <= last; end += 3600 {
		start := end - 3600
		lo := fi
		for fi < len(c.files) && g.files[c.files[fi]].ts < end {
			fi++
		}
		if fi == lo && !g.o.EmptyDigests {
			continue
		}
		tb := appendTime(nil, end)
		day := string(tb[0:4]) + "/" + string(tb[5:7]) + "/" + string(tb[8:10])
		stamp := string(tb[0:4]) + string(tb[5:7]) + string(tb[8:10]) + "T" + string(tb[11:13]) + string(tb[14:16]) + string(tb[17:19]) + "Z"
		key := a.root + "CloudTrail-Digest/" + region + "/" + day + "/" + a.id + "_CloudTrail-Digest_" + region + "_" + g.o.TrailName + "_" + trailHome + "_" + stamp + ".json.gz"

		newest, oldest := int64(-1), int64(-1)
		for _, x := range c.files[lo:fi] {
			fd := &g.files[x]
			if newest < 0 || fd.newest > newest {
				newest = fd.newest
			}
			if oldest < 0 || fd.oldest < oldest {
				oldest = fd.oldest
			}
		}
		w.b = w.b[:0]
		w.obj()
		w.ks("awsAccountId", a.id)
		w.kt("digestStartTime", start)
		w.kt("digestEndTime", end)
		w.ks("digestS3Bucket", g.o.Bucket)
		w.ks("digestS3Object", key)
		w.ks("digestPublicKeyFingerprint", fingerprint)
		w.ks("digestSignatureAlgorithm", "SHA256withRSA")
		if newest >= 0 {
			w.kt("newestEventTime", newest)
			w.kt("oldestEventTime", oldest)
		} else {
			w.knull("newestEventTime")
			w.knull("oldestEventTime")
		}
		if prevKey == "" {
			w.knull("previousDigestS3Bucket")
			w.knull("previousDigestS3Object")
			w.knull("previousDigestHashValue")
			w.knull("previousDigestHashAlgorithm")
			w.knull("previousDigestSignature")
		} else {
			w.ks("previousDigestS3Bucket", g.o.Bucket)
			w.ks("previousDigestS3Object", prevKey)
			w.ks("previousDigestHashValue", hex.EncodeToString(prevHash[:]))
			w.ks("previousDigestHashAlgorithm", "SHA-256")
			w.ks("previousDigestSignature", prevSig)
		}
		w.ka("logFiles")
		for x := fi - 1; x >= lo; x-- { // newest delivery first, as CloudTrail lists them
			fd := &g.files[c.files[x]]
			h := hashes[c.files[x]]
			w.obj()
			w.ks("s3Bucket", g.o.Bucket)
			w.ks("s3Object", fd.key)
			w.ks("hashValue", hex.EncodeToString(h[:]))
			w.ks("hashAlgorithm", "SHA-256")
			w.kt("newestEventTime", fd.newest)
			w.kt("oldestEventTime", fd.oldest)
			w.end()
		}
		w.earr()
		w.end()

		sig, err := signDigest(g.o.SigningKey, string(tb), g.o.Bucket, key, w.b, prevSig)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(key))
		if d := filepath.Dir(p); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("mkdir %s: %w", d, err)
			}
			made[d] = true
		}
		if err := writeGz(p, gz, buf, w.b); err != nil {
			return err
		}
		sigs[key] = sig
		prevKey, prevSig, prevHash = key, sig, sha256.Sum256(w.b)
	}
	return nil
}
