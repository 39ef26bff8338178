package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// S3API is what the S3 source calls: read calls only. *s3.Client satisfies it.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// NewS3Client makes an S3 client from cfg. An endpoint URL (--endpoint-url), or the SDK's
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3, selects path-style addressing, which
// S3-compatible servers (MinIO) need. Response checksums are validated only when required:
// CloudTrail's objects may carry none.
func NewS3Client(cfg aws.Config, endpointURL string, getenv func(string) string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpointURL != "" {
			o.BaseEndpoint = aws.String(endpointURL)
		}
		if endpointURL != "" || getenv("AWS_ENDPOINT_URL_S3") != "" || getenv("AWS_ENDPOINT_URL") != "" {
			o.UsePathStyle = true
		}
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
}

// S3Options select what an S3 trail ingest reads.
type S3Options struct {
	Bucket string
	// Prefix is the trail's key prefix, before AWSLogs/. A prefix that reaches into the
	// layout (AWSLogs/o-…/ACCOUNT/CloudTrail/REGION/) narrows to those instead.
	Prefix   string
	From, To time.Time // the window of eventTime, [From, To); both required
	Accounts []string  // empty = every account found
	Regions  []string  // empty = every region found (unknown names too)
	OrgIDs   []string  // empty = every organization id found (and accounts outside one)
}

// DeliveryPad is how long after an event its log file may still be delivered. CloudTrail
// delivers within about 15 minutes; files are named and foldered by delivery time, so
// events near the end of the window (and near midnight) are in later files and folders.
const DeliveryPad = 2 * time.Hour

// S3Layout is what the walk found.
type S3Layout struct {
	OrgIDs, Accounts, Regions []string // sorted
	Days                      []string // YYYY/MM/DD folders the window needs
	Roots                     []string // key prefixes AWSLogs/[o-…/]ACCOUNT/
}

// S3Stats counts what the source did.
type S3Stats struct {
	ListRequests, GetRequests int64
	Objects, Bytes            int64 // listed and in the window
	OutsideNames              int64 // listed objects whose names put them outside the window
}

// S3Source is the Source of a CloudTrail trail's S3 bucket.
type S3Source struct {
	api S3API
	o   S3Options
	log *slog.Logger

	lists, gets, objects, bytes, outsideNames atomic.Int64

	mu     sync.Mutex
	layout S3Layout
}

// NewS3Source returns a source reading o's window from the bucket through api.
func NewS3Source(api S3API, o S3Options, log *slog.Logger) *S3Source {
	o.Prefix = strings.TrimLeft(o.Prefix, "/")
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	return &S3Source{api: api, o: o, log: log}
}

// Stats returns the request and object counts so far.
func (s *S3Source) Stats() S3Stats {
	return S3Stats{ListRequests: s.lists.Load(), GetRequests: s.gets.Load(), Objects: s.objects.Load(),
		Bytes: s.bytes.Load(), OutsideNames: s.outsideNames.Load()}
}

// Listed reports the objects and bytes listed so far, for the progress line.
func (s *S3Source) Listed() (objects, bytes int64) { return s.objects.Load(), s.bytes.Load() }

// Layout returns what the walk found (complete once List has returned).
func (s *S3Source) Layout() S3Layout {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.layout
}

var (
	orgIDRe   = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	// nameTimeRe finds the delivery time in CloudTrail object names:
	// ACCOUNT_CloudTrail_REGION_20211127T1315Z_xxxx.json.gz and
	// ACCOUNT_CloudTrail-Digest_REGION_TRAIL_REGION_20211127T131501Z.json.gz.
	nameTimeRe = regexp.MustCompile(`_(\d{8}T\d{4})(\d{2})?Z[_.]`)
)

// List walks the layout with a "/" delimiter, lists only the day folders the window
// needs, and sends the log and digest objects whose names do not put them outside it.
// A prefix that cannot be listed is sent as an object whose Open fails, so it is
// reported with the other unreadable inputs and the rest continues.
func (s *S3Source) List(ctx context.Context, out chan<- Object) error {
	if s.o.From.IsZero() || s.o.To.IsZero() || !s.o.From.Before(s.o.To) {
		return fmt.Errorf("s3 ingest needs a window with from before to (from %v, to %v)", s.o.From, s.o.To)
	}
	base, narrow := s.splitPrefix()
	roots, err := s.findRoots(ctx, base, narrow, out)
	if err != nil {
		return err
	}
	if len(roots) == 0 {
		return fmt.Errorf("no CloudTrail logs under s3://%s/%s: expected AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/", s.o.Bucket, base)
	}
	days := windowDays(s.o.From, s.o.To.Add(DeliveryPad))
	var folders []string
	regions := map[string]bool{}
	for _, root := range roots {
		for _, kind := range []string{"CloudTrail/", "CloudTrail-Digest/"} {
			regs, err := s.commonPrefixes(ctx, root+kind, out)
			if err != nil {
				return err
			}
			for _, r := range regs {
				name := strings.TrimSuffix(strings.TrimPrefix(r, root+kind), "/")
				if len(narrow.regions) > 0 && !slices.Contains(narrow.regions, name) {
					continue
				}
				if kind == "CloudTrail/" {
					regions[name] = true
				}
				for _, d := range days {
					folders = append(folders, r+d+"/")
				}
			}
		}
	}
	s.mu.Lock()
	s.layout.Regions = sortedKeys(regions)
	s.layout.Days = days
	s.mu.Unlock()
	s.log.Info("s3 layout", "bucket", s.o.Bucket, "accounts", strings.Join(s.layout.Accounts, ","),
		"regions", len(regions), "days", len(days), "day prefixes", len(folders))

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, f := range folders {
		g.Go(func() error { return s.listFolder(gctx, f, out) })
	}
	return g.Wait()
}

// ScanWindows is the window the source reads whole, once List has returned without
// error: every object under the trail prefix (as narrowed) whose name puts its delivery
// in [From-1h, To+DeliveryPad), from the first listed day folder on.
func (s *S3Source) ScanWindows() []ScanWindow {
	base, n := s.splitPrefix()
	from := s.o.From.UTC().Add(-time.Hour)
	if day := s.o.From.UTC().Truncate(24 * time.Hour); from.Before(day) {
		from = day // the day folder before From's is not listed
	}
	return []ScanWindow{{Prefix: "s3://" + s.o.Bucket + "/" + base, Accounts: n.accounts, Regions: n.regions,
		OrgIDs: n.orgs, From: from, To: s.o.To.UTC().Add(DeliveryPad)}}
}

type narrowing struct{ orgs, accounts, regions []string }

// splitPrefix separates the trail prefix from any part of the layout the user typed.
func (s *S3Source) splitPrefix() (string, narrowing) {
	n := narrowing{orgs: s.o.OrgIDs, accounts: s.o.Accounts, regions: s.o.Regions}
	p := s.o.Prefix
	i := strings.Index("/"+p, "/AWSLogs/")
	if i < 0 {
		return p + "AWSLogs/", n
	}
	base := p[:i] + "AWSLogs/"
	parts := strings.Split(strings.TrimSuffix(p[i+len("AWSLogs/"):], "/"), "/")
	if len(parts) > 0 && orgIDRe.MatchString(parts[0]) {
		n.orgs = []string{parts[0]}
		parts = parts[1:]
	}
	if len(parts) > 0 && accountRe.MatchString(parts[0]) {
		n.accounts = []string{parts[0]}
		parts = parts[1:]
	}
	if len(parts) > 1 && parts[0] == "CloudTrail" && parts[1] != "" {
		n.regions = []string{parts[1]}
	}
	return base, n
}

// findRoots lists AWSLogs/ (and each organization under it) for the account folders.
func (s *S3Source) findRoots(ctx context.Context, base string, n narrowing, out chan<- Object) ([]string, error) {
	top, err := s.commonPrefixes(ctx, base, out)
	if err != nil {
		return nil, err
	}
	var roots []string
	orgs, accounts := map[string]bool{}, map[string]bool{}
	addAccount := func(prefix, acct string) {
		if len(n.accounts) > 0 && !slices.Contains(n.accounts, acct) {
			return
		}
		accounts[acct] = true
		roots = append(roots, prefix)
	}
	for _, p := range top {
		name := strings.TrimSuffix(strings.TrimPrefix(p, base), "/")
		switch {
		case orgIDRe.MatchString(name):
			if len(n.orgs) > 0 && !slices.Contains(n.orgs, name) {
				continue
			}
			orgs[name] = true
			sub, err := s.commonPrefixes(ctx, p, out)
			if err != nil {
				return nil, err
			}
			for _, a := range sub {
				if acct := strings.TrimSuffix(strings.TrimPrefix(a, p), "/"); accountRe.MatchString(acct) {
					addAccount(a, acct)
				}
			}
		case accountRe.MatchString(name):
			if len(n.orgs) > 0 {
				continue // narrowed to organizations
			}
			addAccount(p, name)
		default:
			s.log.Debug("not a CloudTrail folder", "prefix", p)
		}
	}
	sort.Strings(roots)
	s.mu.Lock()
	s.layout.OrgIDs = sortedKeys(orgs)
	s.layout.Accounts = sortedKeys(accounts)
	s.layout.Roots = roots
	s.mu.Unlock()
	return roots, nil
}

// commonPrefixes lists the "folders" directly under prefix, de-duplicated (some
// S3-compatible servers repeat a prefix across pages) and sorted. Access denied is sent
// as an unreadable input and gives no folders; other errors end the walk.
func (s *S3Source) commonPrefixes(ctx context.Context, prefix string, out chan<- Object) ([]string, error) {
	seen := map[string]bool{}
	p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.o.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		s.lists.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.listFailed(ctx, prefix, err, out)
		}
		for _, cp := range page.CommonPrefixes {
			seen[aws.ToString(cp.Prefix)] = true
		}
	}
	return sortedKeys(seen), nil
}

// listFolder lists one day folder and sends its objects that the window may need.
func (s *S3Source) listFolder(ctx context.Context, prefix string, out chan<- Object) error {
	p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.o.Bucket), Prefix: aws.String(prefix),
	})
	lo, hi := s.o.From.Add(-time.Hour), s.o.To.Add(DeliveryPad)
	for p.HasMorePages() {
		s.lists.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.listFailed(ctx, prefix, err, out)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if strings.HasSuffix(key, "/") {
				continue
			}
			if t, ok := nameTime(key); ok && (t.Before(lo) || !t.Before(hi)) {
				s.outsideNames.Add(1)
				continue
			}
			s.objects.Add(1)
			s.bytes.Add(aws.ToInt64(obj.Size))
			o := Object{
				Kind:         "s3",
				URI:          "s3://" + s.o.Bucket + "/" + key,
				ETag:         strings.Trim(aws.ToString(obj.ETag), `"`),
				LastModified: aws.ToTime(obj.LastModified).UTC(),
				Size:         aws.ToInt64(obj.Size),
				Open:         func(ctx context.Context) (io.ReadCloser, error) { return s.get(ctx, key) },
			}
			select {
			case out <- o:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// listFailed turns an access-denied prefix into a reported input; other errors are fatal.
func (s *S3Source) listFailed(ctx context.Context, prefix string, err error, out chan<- Object) error {
	if !IsAccessDenied(err) {
		return fmt.Errorf("list s3://%s/%s: %w", s.o.Bucket, prefix, ExplainAWSError(err, ""))
	}
	reason := fmt.Errorf("access denied listing this prefix: the credentials need s3:ListBucket on arn:aws:s3:::%s (%v)", s.o.Bucket, err)
	s.log.Warn("access denied", "prefix", prefix)
	return unreadable(ctx, out, "s3", "s3://"+s.o.Bucket+"/"+prefix, reason)
}

// body is an object read whole; readStored takes its buffer without copying. meta is
// its user metadata (x-amz-meta-*), which holds a digest's signature.
type body struct {
	*bytes.Reader
	b    []byte
	meta map[string]string
}

func (b body) Bytes() []byte               { return b.b }
func (b body) Metadata() map[string]string { return b.meta }
func (body) Close() error                  { return nil }

// get reads one object whole. The SDK retries failed requests; a body cut off mid-read
// (connection reset, timeout) is fetched again here, with backoff.
func (s *S3Source) get(ctx context.Context, key string) (io.ReadCloser, error) {
	var lastErr error
	for attempt := range 6 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		s.gets.Add(1)
		out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.o.Bucket), Key: aws.String(key)})
		if err != nil {
			if IsAccessDenied(err) {
				return nil, fmt.Errorf("access denied: the credentials need s3:GetObject on arn:aws:s3:::%s/%s (%v)", s.o.Bucket, key, err)
			}
			return nil, fmt.Errorf("get: %w", ExplainAWSError(err, ""))
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err == nil {
			return body{bytes.NewReader(b), b, out.Metadata}, nil
		}
		lastErr = err
		if ctx.Err() != nil || !retryableRead(err) {
			break
		}
		s.log.Debug("retrying a cut-off download", "key", key, "err", err)
	}
	return nil, fmt.Errorf("read: %w", lastErr)
}

func retryableRead(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}

// nameTime is the delivery time in a CloudTrail object name.
func nameTime(key string) (time.Time, bool) {
	name := key[strings.LastIndexByte(key, '/')+1:]
	m := nameTimeRe.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T1504", m[1])
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// windowDays lists the YYYY/MM/DD folders from from's day to to's day, in UTC.
func windowDays(from, to time.Time) []string {
	var days []string
	from, to = from.UTC(), to.UTC()
	for d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC); d.Before(to); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("2006/01/02"))
	}
	return days
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
