// Package awsfake is an in-process AWS endpoint for tests. It speaks the real wire
// protocols the SDK uses: CloudTrail (awsJson1.1: LookupEvents with NextToken paging bound
// to StartTime/EndTime, DescribeTrails, GetTrailStatus), EC2 DescribeRegions and STS
// GetCallerIdentity (query protocol, XML answers), CloudTrail ListPublicKeys, and S3 (gofakes3, path-style). The
// region and service of each request are read from its SigV4 credential scope, so one
// server stands for every region: point AWS_ENDPOINT_URL (or a client's BaseEndpoint) at
// it. It can throttle (a token bucket per region, or every Nth call), deny a region, or
// refuse one as not enabled.
package awsfake

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"golang.org/x/time/rate"
)

// Event is one event-history event.
type Event struct {
	ID, Name, Source string
	Time             time.Time
	Raw              string // the CloudTrailEvent JSON string
}

// Region is one region of DescribeRegions.
type Region struct {
	Name, OptInStatus string
}

// Trail is one trail of DescribeTrails, with its GetTrailStatus answer.
type Trail struct {
	Name, HomeRegion, Bucket, Prefix string
	MultiRegion, Organization        bool
	Logging                          bool
	Started, Stopped                 time.Time
}

// ARN is the trail's ARN in account.
func (t Trail) ARN(account string) string {
	return "arn:aws:cloudtrail:" + t.HomeRegion + ":" + account + ":trail/" + t.Name
}

// PublicKey is one key of ListPublicKeys.
type PublicKey struct {
	Fingerprint        string
	Value              []byte // DER
	ValidFrom, ValidTo time.Time
}

// Server is the fake endpoint. Set its fields before the first request.
type Server struct {
	URL     string
	Account string
	Arn     string
	Regions []Region
	Trails  []Trail
	// PublicKeys are the keys ListPublicKeys returns, by region.
	PublicKeys map[string][]PublicKey

	// Rate, when positive, is a token bucket per region (burst Burst, default 1) for
	// LookupEvents: calls beyond it get ThrottlingException, as CloudTrail's 2 per second.
	Rate  float64
	Burst int
	// ThrottleEvery, when positive, throttles every Nth LookupEvents call of a region.
	ThrottleEvery int
	// Fail maps a region to the error code its CloudTrail calls get, e.g.
	// AccessDeniedException, UnrecognizedClientException, ExpiredTokenException. Change it
	// with SetFail once requests are being served.
	Fail map[string]string
	// STSError, when set, is the error code of GetCallerIdentity.
	STSError string
	// DenyBuckets answers HeadBucket and ListObjectsV2 on these buckets with 403.
	DenyBuckets map[string]bool
	// OnPage runs after each LookupEvents page is answered, with the region and how many
	// pages that region has been answered so far.
	OnPage func(region string, pages int64)

	srv      *httptest.Server
	s3       http.Handler
	mu       sync.Mutex
	events   map[string][]Event // by region, newest first
	limiters map[string]*rate.Limiter
	calls    map[string]int64 // LookupEvents calls per region (throttled ones too)
	pages    map[string]int64 // LookupEvents pages answered per region
	other    map[string]int64 // other calls by "service.Action"

	throttled atomic.Int64
}

// New starts a server; Close stops it.
func New() *Server {
	s := &Server{
		Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/responder",
		events: map[string][]Event{}, limiters: map[string]*rate.Limiter{},
		calls: map[string]int64{}, pages: map[string]int64{}, other: map[string]int64{},
	}
	s.s3 = gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Add serves events in region's event history.
func (s *Server) Add(region string, events ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events[region] = append(s.events[region], events...)
	sort.Slice(s.events[region], func(i, j int) bool {
		a, b := s.events[region][i], s.events[region][j]
		if !a.Time.Equal(b.Time) {
			return a.Time.After(b.Time)
		}
		return a.ID < b.ID
	})
}

// SetFail makes region's CloudTrail calls answer code from now on ("" to stop).
func (s *Server) SetFail(region, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail == nil {
		s.Fail = map[string]string{}
	}
	s.Fail[region] = code
}

// Events returns region's events, newest first.
func (s *Server) Events(region string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events[region]...)
}

// Pages returns how many LookupEvents pages each region was answered.
func (s *Server) Pages() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int64{}
	for k, v := range s.pages {
		m[k] = v
	}
	return m
}

// Calls returns how many LookupEvents calls each region got, throttled ones included.
func (s *Server) Calls() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int64{}
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// Other returns how many times "service.Action" was called (DescribeTrails etc.).
func (s *Server) Other(action string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.other[action]
}

// Reset zeroes the call counters.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.pages, s.other = map[string]int64{}, map[string]int64{}, map[string]int64{}
	s.throttled.Store(0)
}

// Throttled is how many LookupEvents calls were answered ThrottlingException.
func (s *Server) Throttled() int64 { return s.throttled.Load() }

// S3 is the S3 handler (gofakes3), for uploading test objects with an SDK client.
func (s *Server) S3() http.Handler { return s.s3 }

var scopeRe = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := scopeRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		http.Error(w, "request is not signed with SigV4", http.StatusForbidden)
		return
	}
	region, service := m[1], m[2]
	switch service {
	case "s3":
		s.serveS3(w, r)
	case "cloudtrail":
		s.serveCloudTrail(w, r, region)
	case "ec2", "sts":
		s.serveQuery(w, r, service)
	default:
		http.Error(w, "service "+service+" not served", http.StatusNotImplemented)
	}
}

func (s *Server) serveS3(w http.ResponseWriter, r *http.Request) {
	bucket := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
	if s.DenyBuckets[bucket] {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	s.s3.ServeHTTP(w, r)
}

func (s *Server) count(action string) {
	s.mu.Lock()
	s.other[action]++
	s.mu.Unlock()
}

// jsonError answers an awsJson1.1 error.
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (s *Server) serveCloudTrail(w http.ResponseWriter, r *http.Request, region string) {
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, "CloudTrail_20131101.")
	if !ok || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		jsonError(w, http.StatusBadRequest, "UnknownOperationException", "bad target "+target)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		jsonError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	code := s.Fail[region]
	s.mu.Unlock()
	if code != "" {
		if action == "LookupEvents" {
			s.mu.Lock()
			s.calls[region]++
			s.mu.Unlock()
		}
		jsonError(w, http.StatusBadRequest, code, "refused by the fake for "+region)
		return
	}
	switch action {
	case "LookupEvents":
		s.lookupEvents(w, region, body)
	case "DescribeTrails":
		s.count("cloudtrail.DescribeTrails")
		s.describeTrails(w, region, body)
	case "GetTrailStatus":
		s.count("cloudtrail.GetTrailStatus")
		s.getTrailStatus(w, body)
	case "ListPublicKeys":
		s.count("cloudtrail.ListPublicKeys")
		s.count("cloudtrail.ListPublicKeys " + region)
		s.listPublicKeys(w, region, body)
	default:
		jsonError(w, http.StatusBadRequest, "UnknownOperationException", action)
	}
}

type lookupInput struct {
	StartTime, EndTime *float64
	MaxResults         *int
	NextToken          *string
	LookupAttributes   []json.RawMessage
}

type token struct {
	Start, End float64
	Offset     int
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func fromEpoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC()
}

func (s *Server) lookupEvents(w http.ResponseWriter, region string, body []byte) {
	s.mu.Lock()
	s.calls[region]++
	n := s.calls[region]
	lim := s.limiters[region]
	if lim == nil && s.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(s.Rate), max(1, s.Burst))
		s.limiters[region] = lim
	}
	s.mu.Unlock()
	if (s.ThrottleEvery > 0 && n%int64(s.ThrottleEvery) == 0) || (lim != nil && !lim.Allow()) {
		s.throttled.Add(1)
		jsonError(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		return
	}
	var in lookupInput
	if err := json.Unmarshal(body, &in); err != nil {
		jsonError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(in.LookupAttributes) > 1 {
		jsonError(w, http.StatusBadRequest, "InvalidLookupAttributesException", "only one lookup attribute")
		return
	}
	tok := token{Start: math.Inf(-1), End: math.Inf(1)}
	if in.StartTime != nil {
		tok.Start = *in.StartTime
	}
	if in.EndTime != nil {
		tok.End = *in.EndTime
	}
	if in.NextToken != nil {
		b, err := base64.StdEncoding.DecodeString(*in.NextToken)
		var t token
		if err == nil {
			err = json.Unmarshal(b, &t)
		}
		if err != nil || t.Start != tok.Start || t.End != tok.End {
			jsonError(w, http.StatusBadRequest, "InvalidNextTokenException",
				"A token that is not valid, or a token that was previously used in a request with different parameters")
			return
		}
		tok.Offset = t.Offset
	}
	size := 50
	if in.MaxResults != nil && *in.MaxResults > 0 && *in.MaxResults < 50 {
		size = *in.MaxResults
	}
	s.mu.Lock()
	var match []Event
	for _, e := range s.events[region] { // StartTime and EndTime are both inclusive
		if t := epoch(e.Time); t >= tok.Start && t <= tok.End {
			match = append(match, e)
		}
	}
	s.pages[region]++
	pages := s.pages[region]
	s.mu.Unlock()
	type item struct {
		EventId, EventName, EventSource, ReadOnly, CloudTrailEvent string
		EventTime                                                  float64
	}
	out := struct {
		Events    []item
		NextToken string `json:",omitempty"`
	}{Events: []item{}}
	end := min(len(match), tok.Offset+size)
	for _, e := range match[min(tok.Offset, len(match)):end] {
		out.Events = append(out.Events, item{EventId: e.ID, EventName: e.Name, EventSource: e.Source,
			ReadOnly: "false", CloudTrailEvent: e.Raw, EventTime: epoch(e.Time)})
	}
	if end < len(match) {
		b, _ := json.Marshal(token{Start: tok.Start, End: tok.End, Offset: end})
		out.NextToken = base64.StdEncoding.EncodeToString(b)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
	if s.OnPage != nil {
		s.OnPage(region, pages)
	}
}

func (s *Server) describeTrails(w http.ResponseWriter, region string, body []byte) {
	var in struct {
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
		TrailNameList       []string `json:"trailNameList"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		jsonError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	list := []map[string]any{}
	for _, t := range s.Trails {
		if t.HomeRegion != region && !(t.MultiRegion && shadows) {
			continue
		}
		list = append(list, map[string]any{
			"Name": t.Name, "TrailARN": t.ARN(s.Account), "HomeRegion": t.HomeRegion,
			"S3BucketName": t.Bucket, "S3KeyPrefix": t.Prefix, "IsMultiRegionTrail": t.MultiRegion,
			"IsOrganizationTrail": t.Organization, "IncludeGlobalServiceEvents": true,
			"HasCustomEventSelectors": false, "LogFileValidationEnabled": true,
		})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{"trailList": list})
}

func (s *Server) getTrailStatus(w http.ResponseWriter, body []byte) {
	var in struct{ Name string }
	if err := json.Unmarshal(body, &in); err != nil {
		jsonError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	for _, t := range s.Trails {
		if in.Name == t.Name || in.Name == t.ARN(s.Account) {
			out := map[string]any{"IsLogging": t.Logging}
			if !t.Started.IsZero() {
				out["StartLoggingTime"] = epoch(t.Started)
			}
			if !t.Stopped.IsZero() {
				out["StopLoggingTime"] = epoch(t.Stopped)
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			json.NewEncoder(w).Encode(out)
			return
		}
	}
	jsonError(w, http.StatusBadRequest, "TrailNotFoundException", "Unknown trail: "+in.Name)
}

// listPublicKeys answers with region's keys whose validity overlaps [StartTime, EndTime]
// (both default to now, as CloudTrail's do). Value is a blob: base64 in awsJson1.1.
func (s *Server) listPublicKeys(w http.ResponseWriter, region string, body []byte) {
	var in struct{ StartTime, EndTime *float64 }
	if err := json.Unmarshal(body, &in); err != nil {
		jsonError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	now := epoch(time.Now())
	start, end := now, now
	if in.StartTime != nil {
		start = *in.StartTime
	}
	if in.EndTime != nil {
		end = *in.EndTime
	}
	if start > end {
		jsonError(w, http.StatusBadRequest, "InvalidTimeRangeException", "StartTime is after EndTime")
		return
	}
	type key struct {
		Fingerprint                        string
		Value                              []byte
		ValidityStartTime, ValidityEndTime float64
	}
	out := struct{ PublicKeyList []key }{PublicKeyList: []key{}}
	for _, k := range s.PublicKeys[region] {
		if epoch(k.ValidFrom) <= end && epoch(k.ValidTo) >= start {
			out.PublicKeyList = append(out.PublicKeyList, key{k.Fingerprint, k.Value, epoch(k.ValidFrom), epoch(k.ValidTo)})
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// serveQuery answers the query-protocol services: EC2 DescribeRegions, STS GetCallerIdentity.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, service string) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad query request", http.StatusBadRequest)
		return
	}
	action := form.Get("Action")
	s.count(service + "." + action)
	w.Header().Set("Content-Type", "text/xml")
	switch {
	case service == "ec2" && action == "DescribeRegions":
		type item struct {
			RegionName     string `xml:"regionName"`
			RegionEndpoint string `xml:"regionEndpoint"`
			OptInStatus    string `xml:"optInStatus"`
		}
		out := struct {
			XMLName   xml.Name `xml:"DescribeRegionsResponse"`
			Xmlns     string   `xml:"xmlns,attr"`
			RequestID string   `xml:"requestId"`
			Items     []item   `xml:"regionInfo>item"`
		}{Xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/", RequestID: "fake"}
		all := form.Get("AllRegions") == "true"
		for _, reg := range s.Regions {
			if all || reg.OptInStatus != "not-opted-in" {
				out.Items = append(out.Items, item{reg.Name, "ec2." + reg.Name + ".amazonaws.com", reg.OptInStatus})
			}
		}
		xml.NewEncoder(w).Encode(out)
	case service == "sts" && action == "GetCallerIdentity":
		if s.STSError != "" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>refused by the fake</Message></Error><RequestId>fake</RequestId></ErrorResponse>`, s.STSError)
			return
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDAFAKE</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
			escape(s.Arn), escape(s.Account))
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<Response><Errors><Error><Code>InvalidAction</Code><Message>%s is not served</Message></Error></Errors><RequestID>fake</RequestID></Response>`, escape(action))
	}
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// LoadTrailTree serves, in each region's event history, every record of the CloudTrail
// log files under dir (a trail's S3 tree, e.g. written by ingest/synth), by awsRegion.
// Digest files are left out. It returns the distinct events added per region.
func (s *Server) LoadTrailTree(dir string) (map[string]int, error) {
	seen := map[string]bool{}
	byRegion := map[string][]Event{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(filepath.ToSlash(p), "/CloudTrail/") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		var rd io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			rd = zr
		}
		var file struct{ Records []json.RawMessage }
		if err := json.NewDecoder(rd).Decode(&file); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, raw := range file.Records {
			var r struct {
				EventID, EventName, EventSource, EventTime, AwsRegion string
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			t, err := time.Parse(time.RFC3339, r.EventTime)
			if err != nil {
				return fmt.Errorf("%s: event %s: %w", p, r.EventID, err)
			}
			if seen[r.EventID] {
				continue
			}
			seen[r.EventID] = true
			spelt, err := historySpelling(raw)
			if err != nil {
				return fmt.Errorf("%s: event %s: %w", p, r.EventID, err)
			}
			byRegion[r.AwsRegion] = append(byRegion[r.AwsRegion],
				Event{ID: r.EventID, Name: r.EventName, Source: r.EventSource, Time: t, Raw: spelt})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	for region, evs := range byRegion {
		s.Add(region, evs...)
		n[region] = len(evs)
	}
	return n, nil
}

// historySpelling is a trail record as event history's CloudTrailEvent string spells it:
// the same event serialised again, compactly, with its keys in another order and other
// escapes (here Go's: keys sorted, <, > and & as \u003c...), which is all that tells the
// two apart; trailhound must store them as one event.
func historySpelling(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}
