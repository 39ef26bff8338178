package prices

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
)

func find(ps []Price, service, region, item, market, unit string) (Price, bool) {
	for _, p := range ps {
		if p.Service == service && p.Region == region && p.Item == item && p.Market == market && p.Unit == unit {
			return p, true
		}
	}
	return Price{}, false
}

func TestEmbedded(t *testing.T) {
	e := Embedded()
	if e.Source == "" || !strings.Contains(e.Source, "2026") {
		t.Errorf("the embedded table names no source and date: %q", e.Source)
	}
	for _, want := range []struct {
		service, region, item, unit string
		usd                         float64
	}{
		{"ec2", "us-east-1", "c5.xlarge", "hour", 0.17}, // aws/karpenter-provider-aws, us-east-1
		{"ec2", "us-east-1", "g4dn.xlarge", "hour", 0.526},
		{"ec2", "us-east-1", "p3.2xlarge", "hour", 3.06},
		{"ec2", "us-east-1", "m5.large", "hour", 0.096},
		{"fargate", "us-east-1", "linux-x86_64", "vcpu-hour", 0.04048},
		{"fargate", "us-east-1", "linux-x86_64", "gb-hour", 0.004445},
	} {
		p, ok := find(e.Prices, want.service, want.region, want.item, "on-demand", want.unit)
		if !ok || p.USD != want.usd || p.Source == "" {
			t.Errorf("%v: got %+v", want, p)
		}
	}
	// Every family the issue names: general purpose, compute and GPU optimised.
	for _, fam := range []string{"t3.", "m5.", "m6i.", "c5.", "c6i.", "c7i.", "g4dn.", "g5.", "p3.", "p4d."} {
		if !slices.ContainsFunc(e.Prices, func(p Price) bool { return strings.HasPrefix(p.Item, fam) }) {
			t.Errorf("no %s prices", fam)
		}
	}
	// The view the store keeps holds the same rows.
	if n := strings.Count(ViewSQL(), "\n    ("); n != len(e.Prices) {
		t.Errorf("price_table has %d rows, the table %d", n, len(e.Prices))
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMalformedFileNamesTheLine: a bad price file is refused with its name and line.
func TestMalformedFileNamesTheLine(t *testing.T) {
	const head = "# source: my prices\n# date: 2026-11-30\nservice,region,item,market,unit,usd,source\n"
	for _, c := range []struct {
		name, text string
		line       int
		says       string
	}{
		{"bad price", head + "ec2,us-east-1,c5.xlarge,on-demand,hour,0.17,\nec2,us-east-1,c5.large,on-demand,hour,cheap,\n", 5, "not a price"},
		{"negative", head + "ec2,us-east-1,c5.large,on-demand,hour,-1,\n", 4, "not a price"},
		{"unit", head + "ec2,us-east-1,c5.large,on-demand,day,1,\n", 4, "unit"},
		{"market", head + "ec2,us-east-1,c5.large,reserved,hour,1,\n", 4, "market"},
		{"short", head + "ec2,us-east-1,c5.large\n", 4, "fields"},
		{"quote", head + "ec2,us-east-1,\"c5.large,on-demand,hour,1,\n", 4, "quote"},
		{"header", "service,region,item,usd\nec2,us-east-1,c5.large,1\n", 1, "unit"},
		{"empty item", head + "ec2,us-east-1,,on-demand,hour,1,\n", 4, "empty"},
		{"json", `{"offerCode": "AmazonEC2",` + "\n" + `"products": {` + "\n" + `"SKU1": {"attributes": {]}` + "\n}}", 3, "invalid character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, "my-prices.csv", c.text)
			_, err := ParseFile(path)
			var le *LineError
			if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(err.Error(), path) ||
				!strings.Contains(err.Error(), c.says) {
				t.Errorf("got %v, want line %d saying %q", err, c.line, c.says)
			}
		})
	}
	if _, err := ParseFile(filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Error("a missing file is no error")
	}
}

func TestParseCSV(t *testing.T) {
	path := writeFile(t, "p.csv", "# source: quote from AWS, 2026-11-30\nservice,region,item,market,unit,usd,source\n"+
		"ec2,ap-northeast-2,c5.xlarge,on-demand,hour,0.192,\nec2,ap-northeast-2,c5.xlarge,spot,hour,0.07,spot history\n"+
		"\nfargate,ap-northeast-2,linux-x86_64,,vcpu-hour,0.04656,\n")
	tb, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Prices) != 3 || tb.Source != "quote from AWS, 2026-11-30" {
		t.Fatalf("%+v", tb)
	}
	if p, _ := find(tb.Prices, "ec2", "ap-northeast-2", "c5.xlarge", "spot", "hour"); p.USD != 0.07 || p.Source != "spot history" {
		t.Errorf("spot row %+v", p)
	}
	if p, _ := find(tb.Prices, "fargate", "ap-northeast-2", "linux-x86_64", "on-demand", "vcpu-hour"); p.Source != tb.Source {
		t.Errorf("a row without source takes the file's: %+v", p)
	}
	m := Merge(tb, Embedded())
	if m[0].Rank != 0 || m[len(m)-1].Rank != 1 {
		t.Errorf("ranks %d..%d", m[0].Rank, m[len(m)-1].Rank)
	}
	var back []Price
	if err := json.Unmarshal([]byte(JSON(m)), &back); err != nil || !slices.Equal(back, m) {
		t.Errorf("JSON does not round-trip: %v", err)
	}
}

// bulkCSV is the shape of pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/REGION/index.csv
// (columns trimmed to those that matter, in their order).
const bulkCSV = `"FormatVersion","v1.0"
"Disclaimer","This pricing list is for informational purposes only."
"Publication Date","2026-11-20T21:05:39Z"
"Version","20261120210539"
"OfferCode","AmazonEC2"
"SKU","OfferTermCode","RateCode","TermType","PriceDescription","EffectiveDate","StartingRange","EndingRange","Unit","PricePerUnit","Currency","Location","Instance Type","Tenancy","Operating System","License Model","usageType","Pre Installed S/W","CapacityStatus","Region Code"
"AAA","JRTCKXETXF","AAA.JRTCKXETXF.6YS6EN2CT7","OnDemand","$0.192 per On Demand Linux c5.xlarge Instance Hour","2026-11-01","0","Inf","Hrs","0.1920000000","USD","Asia Pacific (Seoul)","c5.xlarge","Shared","Linux","No License required","APN2-BoxUsage:c5.xlarge","NA","Used","ap-northeast-2"
"BBB","JRTCKXETXF","BBB.JRTCKXETXF.6YS6EN2CT7","OnDemand","Windows","2026-11-01","0","Inf","Hrs","0.3760000000","USD","Asia Pacific (Seoul)","c5.xlarge","Shared","Windows","No License required","APN2-BoxUsage:c5.xlarge","NA","Used","ap-northeast-2"
"CCC","JRTCKXETXF","CCC.JRTCKXETXF.6YS6EN2CT7","OnDemand","Dedicated","2026-11-01","0","Inf","Hrs","0.2110000000","USD","Asia Pacific (Seoul)","c5.xlarge","Dedicated","Linux","No License required","APN2-DedicatedUsage:c5.xlarge","NA","Used","ap-northeast-2"
"AAA","4NA7Y494T4","AAA.4NA7Y494T4.6YS6EN2CT7","Reserved","1yr","2026-11-01","0","Inf","Hrs","0.1210000000","USD","Asia Pacific (Seoul)","c5.xlarge","Shared","Linux","No License required","APN2-BoxUsage:c5.xlarge","NA","Used","ap-northeast-2"
"DDD","JRTCKXETXF","DDD.JRTCKXETXF.6YS6EN2CT7","OnDemand","reservation","2026-11-01","0","Inf","Hrs","0.0000000000","USD","Asia Pacific (Seoul)","c5.xlarge","Shared","Linux","No License required","APN2-Reservation:c5.xlarge","NA","AllocatedCapacityReservation","ap-northeast-2"
`

const bulkECSCSV = `"FormatVersion","v1.0"
"Disclaimer","This pricing list is for informational purposes only."
"Publication Date","2026-10-02T18:11:06Z"
"Version","20261002181106"
"OfferCode","AmazonECS"
"SKU","OfferTermCode","RateCode","TermType","PriceDescription","EffectiveDate","StartingRange","EndingRange","Unit","PricePerUnit","Currency","Location","usageType","Region Code"
"F1","JRTCKXETXF","F1.JRTCKXETXF.6YS6EN2CT7","OnDemand","vCPU","2026-10-01","0","Inf","hours","0.0465600000","USD","Asia Pacific (Seoul)","APN2-Fargate-vCPU-Hours:perCPU","ap-northeast-2"
"F2","JRTCKXETXF","F2.JRTCKXETXF.6YS6EN2CT7","OnDemand","GB","2026-10-01","0","Inf","GB-Hours","0.0051100000","USD","Asia Pacific (Seoul)","APN2-Fargate-GB-Hours","ap-northeast-2"
"F3","JRTCKXETXF","F3.JRTCKXETXF.6YS6EN2CT7","OnDemand","ARM vCPU","2026-10-01","0","Inf","hours","0.0372500000","USD","Asia Pacific (Seoul)","APN2-Fargate-ARM-vCPU-Hours:perCPU","ap-northeast-2"
"F4","JRTCKXETXF","F4.JRTCKXETXF.6YS6EN2CT7","OnDemand","Windows","2026-10-01","0","Inf","hours","0.0920000000","USD","Asia Pacific (Seoul)","APN2-Fargate-Windows-vCPU-Hours:perCPU","ap-northeast-2"
"F5","JRTCKXETXF","F5.JRTCKXETXF.6YS6EN2CT7","OnDemand","storage","2026-10-01","0","Inf","GB-Hours","0.0001300000","USD","Asia Pacific (Seoul)","APN2-Fargate-EphemeralStorage-GB-Hours","ap-northeast-2"
`

func TestBulkCSV(t *testing.T) {
	tb, err := ParseFile(writeFile(t, "index.csv", bulkCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Prices) != 1 || tb.Prices[0] != (Price{Service: "ec2", Region: "ap-northeast-2", Item: "c5.xlarge", Market: "on-demand",
		Unit: "hour", USD: 0.192, Source: "AWS offer file AmazonEC2, published 2026-11-20T21:05:39Z"}) {
		t.Errorf("EC2 offer file: %+v (want only the Linux shared on-demand price)", tb.Prices)
	}
	tb, err = ParseFile(writeFile(t, "ecs.csv", bulkECSCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"linux-x86_64 vcpu-hour": 0.04656, "linux-x86_64 gb-hour": 0.00511, "linux-arm64 vcpu-hour": 0.03725}
	got := map[string]float64{}
	for _, p := range tb.Prices {
		got[p.Item+" "+p.Unit] = p.USD
	}
	if len(got) != len(want) || got["linux-x86_64 vcpu-hour"] != 0.04656 || got["linux-x86_64 gb-hour"] != 0.00511 ||
		got["linux-arm64 vcpu-hour"] != 0.03725 {
		t.Errorf("ECS offer file: %v, want %v", got, want)
	}
	bad := strings.Replace(bulkCSV, `"0.1920000000"`, `"lots"`, 1)
	var le *LineError
	if _, err := ParseFile(writeFile(t, "bad.csv", bad)); !errors.As(err, &le) || le.Line != 7 {
		t.Errorf("a bad price in an offer file: %v, want line 7", err)
	}
}

// bulkJSON is the shape of the same offer file as index.json.
const bulkJSON = `{
  "formatVersion" : "v1.0",
  "disclaimer" : "This pricing list is for informational purposes only.",
  "offerCode" : "AmazonEC2",
  "version" : "20261120210539",
  "publicationDate" : "2026-11-20T21:05:39Z",
  "products" : {
    "AAA" : {"sku" : "AAA", "productFamily" : "Compute Instance", "attributes" : {"servicecode" : "AmazonEC2",
      "location" : "Asia Pacific (Seoul)", "regionCode" : "ap-northeast-2", "instanceType" : "c5.xlarge", "tenancy" : "Shared",
      "operatingSystem" : "Linux", "licenseModel" : "No License required", "preInstalledSw" : "NA", "capacitystatus" : "Used"}},
    "BBB" : {"sku" : "BBB", "productFamily" : "Compute Instance", "attributes" : {"regionCode" : "ap-northeast-2",
      "instanceType" : "c5.xlarge", "tenancy" : "Shared", "operatingSystem" : "Windows", "preInstalledSw" : "NA", "capacitystatus" : "Used"}}
  },
  "terms" : {
    "OnDemand" : {
      "AAA" : {"AAA.JRTCKXETXF" : {"offerTermCode" : "JRTCKXETXF", "sku" : "AAA", "effectiveDate" : "2026-11-01T00:00:00Z",
        "priceDimensions" : {"AAA.JRTCKXETXF.6YS6EN2CT7" : {"unit" : "Hrs", "pricePerUnit" : {"USD" : "0.1920000000"}}}}},
      "BBB" : {"BBB.JRTCKXETXF" : {"priceDimensions" : {"BBB.JRTCKXETXF.6YS6EN2CT7" : {"unit" : "Hrs", "pricePerUnit" : {"USD" : "0.3760000000"}}}}}
    },
    "Reserved" : {"AAA" : {"AAA.X" : {"priceDimensions" : {"AAA.X.Y" : {"pricePerUnit" : {"USD" : "0.1"}}}}}}
  }
}`

func TestBulkJSON(t *testing.T) {
	tb, err := ParseFile(writeFile(t, "index.json", bulkJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Prices) != 1 || tb.Prices[0].USD != 0.192 || tb.Prices[0].Item != "c5.xlarge" || tb.Prices[0].Region != "ap-northeast-2" ||
		tb.Prices[0].Source != "AWS offer file AmazonEC2, published 2026-11-20T21:05:39Z" {
		t.Errorf("%+v", tb.Prices)
	}
}

// priceListServer speaks the Price List Query API's wire protocol (awsJson1.1,
// X-Amz-Target AWSPriceListService.GetProducts): it answers from items, a page of one item at
// a time, each PriceList element a JSON document in a string, and records the requests.
type priceListServer struct {
	mu       sync.Mutex
	requests []map[string]any
	items    map[string][]string // "ServiceCode regionCode [instanceType]" -> PriceList elements
}

func (s *priceListServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AWSPriceListService.GetProducts" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, in)
	s.mu.Unlock()
	key := in["ServiceCode"].(string)
	filters := map[string]string{}
	for _, f := range in["Filters"].([]any) {
		m := f.(map[string]any)
		if m["Type"] != "TERM_MATCH" {
			http.Error(w, "filter type", http.StatusBadRequest)
			return
		}
		filters[m["Field"].(string)] = m["Value"].(string)
	}
	key += " " + filters["regionCode"]
	if it := filters["instanceType"]; it != "" {
		key += " " + it
	}
	items := s.items[key]
	page := 0
	if tok, _ := in["NextToken"].(string); tok != "" {
		page = int(tok[0] - '0')
	}
	out := map[string]any{"FormatVersion": "aws_v1", "PriceList": []string{}}
	if page < len(items) {
		out["PriceList"] = []string{items[page]}
		if page+1 < len(items) {
			out["NextToken"] = string(rune('0' + page + 1))
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func priceItem(attrs map[string]string, usd string) string {
	b, _ := json.Marshal(map[string]any{
		"product":     map[string]any{"productFamily": "Compute Instance", "attributes": attrs, "sku": "SKU1"},
		"serviceCode": attrs["servicecode"],
		"terms": map[string]any{"OnDemand": map[string]any{"SKU1.JRTCKXETXF": map[string]any{
			"priceDimensions": map[string]any{"SKU1.JRTCKXETXF.6YS6EN2CT7": map[string]any{"unit": "Hrs", "pricePerUnit": map[string]string{"USD": usd}}},
			"sku":             "SKU1", "offerTermCode": "JRTCKXETXF"}}},
		"version": "20261120210539", "publicationDate": "2026-11-20T21:05:39Z",
	})
	return string(b)
}

// TestLive: the live prices ask GetProducts for exactly the types and regions needed, page
// through the answers, and read each PriceList string.
func TestLive(t *testing.T) {
	ec2 := map[string]string{"servicecode": "AmazonEC2", "regionCode": "ap-northeast-2", "instanceType": "c5.xlarge", "tenancy": "Shared",
		"operatingSystem": "Linux", "preInstalledSw": "NA", "capacitystatus": "Used", "licenseModel": "No License required"}
	fg := func(usage string) map[string]string {
		return map[string]string{"servicecode": "AmazonECS", "regionCode": "ap-northeast-2", "usagetype": usage}
	}
	srv := &priceListServer{items: map[string][]string{
		"AmazonEC2 ap-northeast-2 c5.xlarge": {priceItem(ec2, "0.1920000000")},
		"AmazonECS ap-northeast-2": {priceItem(fg("APN2-Fargate-vCPU-Hours:perCPU"), "0.0465600000"),
			priceItem(fg("APN2-Fargate-GB-Hours"), "0.0051100000"), priceItem(fg("APN2-Fargate-Windows-vCPU-Hours:perCPU"), "0.09")},
	}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client := pricing.New(pricing.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tb, err := Live(t.Context(), client, []Need{{"ec2", "ap-northeast-2", "c5.xlarge"}, {"fargate", "ap-northeast-2", "16 vCPU / 32 GB"},
		{"fargate", "ap-northeast-2", "1 vCPU / 2 GB"}, {"ec2", "ap-northeast-2", "zz9.mega"}, {"lambda", "us-east-1", "128 MB"}},
		now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, p := range tb.Prices {
		got[p.Service+" "+p.Item+" "+p.Unit] = p.USD
		if p.Source != "AWS Price List Query API, published 2026-11-20, fetched 2026-12-02" {
			t.Errorf("source %q", p.Source)
		}
	}
	want := map[string]float64{"ec2 c5.xlarge hour": 0.192, "fargate linux-x86_64 vcpu-hour": 0.04656, "fargate linux-x86_64 gb-hour": 0.00511}
	if len(got) != len(want) || got["ec2 c5.xlarge hour"] != 0.192 || got["fargate linux-x86_64 vcpu-hour"] != 0.04656 ||
		got["fargate linux-x86_64 gb-hour"] != 0.00511 {
		t.Errorf("live prices %v, want %v", got, want)
	}
	// One request for the EC2 type, one for the unknown type, three pages for Fargate (asked
	// once for the region, however many task sizes), nothing for Lambda.
	if len(srv.requests) != 5 {
		t.Errorf("%d requests: %v", len(srv.requests), srv.requests)
	}
	for _, r := range srv.requests {
		if r["FormatVersion"] != "aws_v1" {
			t.Errorf("request %v", r)
		}
	}
	// An error from the API is an error, naming what was asked.
	hs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"AccessDeniedException","Message":"User is not authorized to perform: pricing:GetProducts"}`)
	})
	if _, err := Live(t.Context(), client, []Need{{"ec2", "eu-west-1", "c5.xlarge"}}, now,
		slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "AccessDenied") ||
		!strings.Contains(err.Error(), "eu-west-1") {
		t.Errorf("denied: %v", err)
	}
}
