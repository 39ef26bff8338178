package cmd

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// plasoStore ingests the plaso sample: a t2.micro in ap-southeast-2 ran 238 s (22:19:05 to
// the StopInstances at 22:23:03); the last event is at 22:23:37.
func plasoStore(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "case.duckdb")
	if code, _, stderr := trailhound(t, "--db", db, "ingest", "files", realdata+"/plaso-lookup-events"); code != ExitOK {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	return db
}

func TestQueryCost(t *testing.T) {
	db := plasoStore(t)
	code, out, stderr := trailhound(t, "--db", db, "query", "cost", "--format", "csv")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "ap-southeast-2,ec2,t2.micro,on-demand,1,2022-02-07T22:19:05Z,2022-02-07T22:23:03Z,0.0661,") ||
		!strings.Contains(out, "estimated (us-east-1 rate); 1 ended: StopInstances") || strings.Contains(out, "local") {
		t.Errorf("cost:\n%s", out)
	}
	for _, want := range []string{"prices: trailhound's table of AWS list prices", "until: 2022-02-07T22:23:37Z, the last event in the store"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	// Converted amounts beside USD.
	code, out, stderr = trailhound(t, "--db", db, "query", "cost-total", "--currency", "KRW", "--rate", "1180", "--format", "json")
	var rows []map[string]any
	if code != ExitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0]["currency"] != "KRW" ||
		rows[0]["usd"] == nil || rows[0]["local"] == nil {
		t.Errorf("cost-total in KRW: exit %d\n%s\n%s", code, out, stderr)
	}

	// Usage errors: --until before the first launch, a currency without its rate, cost flags
	// on other queries.
	for _, args := range [][]string{
		{"query", "cost", "--until", "2022-02-07T22:00:00Z"},
		{"query", "cost", "--currency", "KRW"},
		{"query", "cost", "--currency", "won", "--rate", "1180"},
		{"query", "cost", "--rate", "1180"},
		{"query", "cost", "--until", "yesterday-ish"},
		{"query", "lineage", "--until", "2022-02-08"},
		{"query", "timeline", "--prices", "live"},
	} {
		code, _, stderr := trailhound(t, append([]string{"--db", db}, args...)...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUsage, stderr)
		}
		if args[2] == "--until" && args[3] == "2022-02-07T22:00:00Z" && !strings.Contains(stderr, "is before the first launch in scope, at 2022-02-07T22:19:05Z") {
			t.Errorf("--until before the launch: %s", stderr)
		}
	}

	// A price file: its prices first; a malformed one names its line.
	dir := t.TempDir()
	good := filepath.Join(dir, "prices.csv")
	os.WriteFile(good, []byte("# source: AWS console, 2026-11-30\nservice,region,item,market,unit,usd,source\nec2,ap-southeast-2,t2.micro,on-demand,hour,0.0146,\n"), 0o644)
	code, out, stderr = trailhound(t, "--db", db, "query", "cost", "--prices", good, "--format", "csv")
	if code != ExitOK || !strings.Contains(out, ",0.0146,") || !strings.Contains(out, `"AWS console, 2026-11-30",on-demand; 1 ended`) ||
		!strings.Contains(stderr, good) {
		t.Errorf("--prices FILE: exit %d\n%s\n%s", code, out, stderr)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("service,region,item,market,unit,usd\nec2,ap-southeast-2,t2.micro,on-demand,hour,0.0146\nec2,ap-southeast-2,t2.small,on-demand,hour,free\n"), 0o644)
	code, _, stderr = trailhound(t, "--db", db, "query", "cost", "--prices", bad)
	if code != ExitFailure || !strings.Contains(stderr, bad+" line 3:") {
		t.Errorf("malformed prices: exit %d\n%s", code, stderr)
	}
}

// TestQueryCostLivePrices: --prices live asks the Price List API (through
// AWS_ENDPOINT_URL_PRICING) for the types and regions found, keeps the answers in the store,
// and does not ask again.
func TestQueryCostLivePrices(t *testing.T) {
	db := plasoStore(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var in struct {
			ServiceCode string
			Filters     []struct{ Type, Field, Value string }
		}
		if r.Header.Get("X-Amz-Target") != "AWSPriceListService.GetProducts" || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f := map[string]string{}
		for _, x := range in.Filters {
			f[x.Field] = x.Value
		}
		var list []string
		if in.ServiceCode == "AmazonEC2" && f["regionCode"] == "ap-southeast-2" && f["instanceType"] == "t2.micro" {
			item, _ := json.Marshal(map[string]any{
				"product": map[string]any{"attributes": map[string]string{"regionCode": "ap-southeast-2", "instanceType": "t2.micro",
					"tenancy": "Shared", "operatingSystem": "Linux", "preInstalledSw": "NA", "capacitystatus": "Used"}},
				"terms": map[string]any{"OnDemand": map[string]any{"T": map[string]any{"priceDimensions": map[string]any{
					"D": map[string]any{"unit": "Hrs", "pricePerUnit": map[string]string{"USD": "0.0146000000"}}}}}},
				"publicationDate": "2026-11-20T21:05:39Z"})
			list = append(list, string(item))
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"FormatVersion": "aws_v1", "PriceList": list})
	}))
	defer srv.Close()
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "SECRET", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_PRICING": srv.URL,
	} {
		t.Setenv(k, v)
	}
	for run := 1; run <= 2; run++ {
		code, out, stderr := trailhound(t, "--db", db, "query", "cost", "--prices", "live", "--format", "csv")
		if code != ExitOK || !strings.Contains(out, ",0.0146,") || !strings.Contains(out, "AWS Price List Query API, published 2026-11-20") ||
			strings.Contains(out, "estimated (us-east-1 rate)") {
			t.Fatalf("run %d: exit %d\n%s\n%s", run, code, out, stderr)
		}
		if calls.Load() != 1 {
			t.Errorf("run %d: %d Price List calls, want 1 (then the store's cache)", run, calls.Load())
		}
	}
	if code, _, stderr := trailhound(t, "--db", db, "query", "cost", "--prices", "live", "--until", "2022-02-07T22:00:00Z"); code != ExitUsage ||
		calls.Load() != 1 {
		t.Errorf("--until before the launch with --prices live: exit %d, %d calls\n%s", code, calls.Load(), stderr)
	}
}
