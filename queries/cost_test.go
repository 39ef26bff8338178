package queries_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/queries"
	"github.com/trailhound/trailhound/queries/prices"
)

// rate finds what trailhound's own table charges for (service, region, item, unit), the
// way the cost queries pick it: the region's own on-demand price, else us-east-1's.
func rate(t *testing.T, service, region, item, unit string) (float64, bool) {
	t.Helper()
	var stand float64
	found := false
	for _, p := range prices.Embedded().Prices {
		if p.Service != service || p.Item != item || p.Unit != unit || p.Market != "on-demand" {
			continue
		}
		if p.Region == region {
			return p.USD, true
		}
		if p.Region == "us-east-1" {
			stand, found = p.USD, true
		}
	}
	return stand, found
}

func float(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case nil:
		return math.NaN()
	}
	panic(fmt.Sprintf("not a number: %T %v", v, v))
}

// near reports whether got is want shown at the query's precision (round(x, digits)).
func near(got, want float64, digits int) bool {
	return math.Abs(got-want) <= 0.5*math.Pow10(-digits)+1e-9
}

// TestCostGroundTruth: on the generated incident, the resource-hours per region and type
// are what the generator ran (from its own plan: launch to the cleanup's end, or to the last
// event in the store), and the dollars are those hours at the table's rates.
func TestCostGroundTruth(t *testing.T) {
	inc := generatedIncident(t)
	m := inc.m
	st := openRO(t, inc.db)
	until := m.To // the last event in the store
	type want struct {
		resources, running              int
		secs, secsLow, vcpuSecs, gbSecs float64
		usd, usdLow, perDay             float64
		first, last                     time.Time
	}
	wants := map[string]*want{}
	for _, r := range m.ComputeRuns {
		k := r.Region + " " + r.Service + " " + r.Type
		w := wants[k]
		if w == nil {
			w = &want{first: r.Start}
			wants[k] = w
		}
		end, low := r.End, r.End
		if end.IsZero() {
			end, low = until, r.Start.Add(time.Minute)
			w.running++
		}
		s, sl := end.Sub(r.Start).Seconds(), low.Sub(r.Start).Seconds()
		var hourly float64
		if r.Service == "fargate" {
			s, sl = max(s, 60), max(sl, 60) // per second, a minute at least
			v, ok1 := rate(t, "fargate", r.Region, "linux-x86_64", "vcpu-hour")
			g, ok2 := rate(t, "fargate", r.Region, "linux-x86_64", "gb-hour")
			if !ok1 || !ok2 {
				t.Fatalf("no Fargate rate for %s", r.Region)
			}
			hourly = r.VCPU*v + r.MemoryGB*g
		} else {
			h, ok := rate(t, "ec2", r.Region, r.Type, "hour")
			if !ok {
				t.Fatalf("no rate for %s in %s", r.Type, r.Region)
			}
			hourly = h
		}
		w.resources++
		w.secs += s
		w.secsLow += sl
		w.vcpuSecs += s * r.VCPU
		w.gbSecs += s * r.MemoryGB
		w.usd += s / 3600 * hourly
		w.usdLow += sl / 3600 * hourly
		if r.End.IsZero() {
			w.perDay += 24 * hourly
		}
		if r.Start.Before(w.first) {
			w.first = r.Start
		}
		if end.After(w.last) {
			w.last = end
		}
	}
	if len(wants) == 0 {
		t.Fatal("the generator ran nothing")
	}
	rows := rowsOf(t, st.DB, "cost", queries.Params{Keys: []string{m.LeakedKey}})
	seen := map[string]bool{}
	for _, r := range rows {
		k := str(r["region"]) + " " + str(r["service"]) + " " + str(r["resource_type"])
		w := wants[k]
		if w == nil {
			t.Errorf("cost row %s: the generator ran nothing of it (%v)", k, r)
			continue
		}
		seen[k] = true
		if got := int(num(r["resources"])); got != w.resources {
			t.Errorf("%s: %d resources, generator %d", k, got, w.resources)
		}
		if got := int(num(r["still_running"])); got != w.running {
			t.Errorf("%s: %d still running, generator left %d", k, got, w.running)
		}
		for _, c := range []struct {
			col  string
			want float64
			dig  int
		}{{"hours", w.secs / 3600, 4}, {"vcpu_hours", w.vcpuSecs / 3600, 4}, {"usd", w.usd, 2}, {"usd_high", w.usd, 2},
			{"usd_low", w.usdLow, 2}, {"usd_per_day_running", w.perDay, 2}} {
			if got := float(r[c.col]); !near(got, c.want, c.dig) {
				t.Errorf("%s: %s = %v, generator's plan gives %.6f", k, c.col, got, c.want)
			}
		}
		if w.gbSecs > 0 && !near(float(r["gb_hours"]), w.gbSecs/3600, 4) {
			t.Errorf("%s: gb_hours %v, want %.6f", k, r["gb_hours"], w.gbSecs/3600)
		}
		if !r["first_start"].(time.Time).Equal(w.first) || !r["last_end"].(time.Time).Equal(w.last) {
			t.Errorf("%s: %v to %v, generator %v to %v", k, r["first_start"], r["last_end"], w.first, w.last)
		}
		// dollars = hours x the rates shown in the row
		var hourly float64
		if str(r["service"]) == "fargate" {
			hourly = float(r["vcpu_hours"])*float(r["price_per_vcpu_hour"]) + float(r["gb_hours"])*float(r["price_per_gb_hour"])
		} else {
			hourly = float(r["hours"]) * float(r["price_per_hour"])
		}
		if math.Abs(hourly-float(r["usd"])) > 0.01+1e-4*hourly {
			t.Errorf("%s: usd %v is not hours x rates (%.4f)", k, r["usd"], hourly)
		}
		if str(r["price_source"]) == "" || !strings.Contains(str(r["basis"]), "on-demand") {
			t.Errorf("%s: price_source %q, basis %q", k, r["price_source"], r["basis"])
		}
	}
	for k := range wants {
		if !seen[k] {
			t.Errorf("no cost row for %s, which the generator ran", k)
		}
	}
	for region := range m.RunInstancesFailures {
		if seen[region+" ec2 c5.xlarge"] {
			t.Errorf("%s: every RunInstances failed there, yet it has an EC2 cost", region)
		}
	}
	// The total is the rows' sum; the line for AWS Support states it.
	tot := rowsOf(t, st.DB, "cost-total", queries.Params{Keys: []string{m.LeakedKey}})
	var sum float64
	for _, w := range wants {
		sum += w.usd
	}
	if len(tot) != 1 || math.Abs(float(tot[0]["usd"])-sum) > 0.01 || int(num(tot[0]["resources"])) != len(m.ComputeRuns) ||
		!strings.Contains(str(tot[0]["support_line"]), fmt.Sprintf("USD %.2f", float(tot[0]["usd"]))) {
		t.Errorf("cost-total %v, want usd %.2f over %d resources", tot, sum, len(m.ComputeRuns))
	}
	// The hourly chart adds up to the same.
	var hourly float64
	for _, r := range rowsOf(t, st.DB, "cost-per-hour", queries.Params{Keys: []string{m.LeakedKey}}) {
		hourly += float(r["usd"])
	}
	if math.Abs(hourly-sum) > 0.01*float64(len(m.ComputeRuns)) {
		t.Errorf("cost-per-hour sums to %.2f, cost to %.2f", hourly, sum)
	}
}

// scenario is a small store of hand-made CloudTrail records, written as JSON Lines.
type scenario struct {
	t     *testing.T
	lines []string
	n     int
}

const scenarioKey = "AKIASCENARIO00000001"

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// add writes one record; extra members go at the top level of the record.
func (s *scenario) add(at time.Time, region, source, name, errCode string, req, resp any, extra map[string]any) {
	s.n++
	r := map[string]any{
		"eventVersion": "1.09", "eventTime": at.Format(time.RFC3339), "eventSource": source, "eventName": name,
		"awsRegion": region, "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15.0",
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDASCENARIO", "arn": "arn:aws:iam::111122223333:user/victim",
			"accountId": "111122223333", "accessKeyId": scenarioKey, "userName": "victim"},
		"requestParameters": req, "responseElements": resp, "eventID": fmt.Sprintf("00000000-0000-0000-0000-%012d", s.n),
		"readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
	}
	if errCode != "" {
		r["errorCode"] = errCode
		r["errorMessage"] = "failed"
	}
	for k, v := range extra {
		r[k] = v
	}
	b, err := json.Marshal(r)
	if err != nil {
		s.t.Fatal(err)
	}
	s.lines = append(s.lines, string(b))
}

func items(kv ...map[string]any) map[string]any { return map[string]any{"items": kv} }

func (s *scenario) runInstances(at time.Time, region, typ string, spot bool, ids ...string) {
	var its []map[string]any
	for _, id := range ids {
		it := map[string]any{"instanceId": id, "instanceType": typ, "launchTime": at.UnixMilli(),
			"cpuOptions": map[string]any{"coreCount": 1, "threadsPerCore": 2}}
		if spot {
			it["instanceLifecycle"] = "spot"
		}
		its = append(its, it)
	}
	req := map[string]any{"instanceType": typ, "instancesSet": items(map[string]any{"minCount": len(ids), "maxCount": len(ids)})}
	if spot {
		req["instanceMarketOptions"] = map[string]any{"marketType": "spot"}
	}
	s.add(at, region, "ec2.amazonaws.com", "RunInstances", "", req, map[string]any{"instancesSet": items(its...)}, nil)
}

func (s *scenario) instances(at time.Time, region, name string, extra map[string]any, ids ...string) {
	var its []map[string]any
	for _, id := range ids {
		its = append(its, map[string]any{"instanceId": id})
	}
	s.add(at, region, "ec2.amazonaws.com", name, "", map[string]any{"instancesSet": items(its...)},
		map[string]any{"instancesSet": items(its...)}, extra)
}

func (s *scenario) store() string {
	dir := s.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "scenario.jsonl"), []byte(strings.Join(s.lines, "\n")+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
	db := filepath.Join(s.t.TempDir(), "s.duckdb")
	ingestPaths(s.t, db, dir)
	return db
}

// TestCostScenarios: stop and start, spot and its interruption, an instant fleet, tasks
// ended by StopTask and by DeleteCluster, AWS's quarantine stopping an instance, a service
// scaled down and deleted, a region where every launch failed, an instance with no end, an
// unknown instance type. Each is in its own region; the expectations come from the plan
// written here.
func TestCostScenarios(t *testing.T) {
	s := &scenario{t: t}
	h := func(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Hour))) }
	// us-east-1: m5.large runs 1 h, is stopped 2 h, runs 1 h more, is terminated.
	s.runInstances(h(0), "us-east-1", "m5.large", false, "i-stopstart")
	s.instances(h(1), "us-east-1", "StopInstances", nil, "i-stopstart")
	s.instances(h(2), "us-east-1", "StopInstances", nil, "i-stopstart") // stopping a stopped instance changes nothing
	s.instances(h(3), "us-east-1", "StartInstances", nil, "i-stopstart")
	s.instances(h(4), "us-east-1", "TerminateInstances", nil, "i-stopstart")
	s.instances(h(5), "us-east-1", "StartInstances", nil, "i-stopstart") // after termination: ignored
	// us-east-2: a spot c5.large, interrupted after 30 minutes.
	s.runInstances(h(0), "us-east-2", "c5.large", true, "i-spot")
	s.add(h(0.5), "us-east-2", "ec2.amazonaws.com", "BidEvictedEvent", "", nil, nil, map[string]any{
		"userIdentity": map[string]any{"accountId": "111122223333", "invokedBy": "ec2.amazonaws.com"},
		"eventType":    "AwsServiceEvent", "serviceEventDetails": map[string]any{"instanceIdSet": []string{"i-spot"}},
		"sourceIPAddress": "ec2.amazonaws.com", "userAgent": "ec2.amazonaws.com"})
	// us-west-2: an instant fleet of two c5.xlarge (one spot), terminated after 2 h.
	s.add(h(0), "us-west-2", "ec2.amazonaws.com", "CreateFleet", "",
		map[string]any{"CreateFleetRequest": map[string]any{"Type": "instant"}},
		map[string]any{"CreateFleetResponse": map[string]any{"fleetId": "fleet-1", "fleetInstanceSet": map[string]any{"item": []any{
			map[string]any{"instanceIds": map[string]any{"item": "i-fleet-od"}, "instanceType": "c5.xlarge", "lifecycle": "on-demand"},
			map[string]any{"instanceIds": map[string]any{"item": []string{"i-fleet-spot"}}, "instanceType": "c5.xlarge", "lifecycle": "spot"},
		}}}}, nil)
	s.instances(h(2), "us-west-2", "TerminateInstances", nil, "i-fleet-od", "i-fleet-spot")
	// eu-west-1: three Fargate tasks (1 vCPU, 2 GB); one stopped after 30 s (billed a minute),
	// two ended when their cluster was deleted an hour later (inferred).
	task := func(id string) map[string]any {
		return map[string]any{"taskArn": "arn:aws:ecs:eu-west-1:111122223333:task/miners/" + id, "cpu": "1024", "memory": "2048",
			"launchType": "FARGATE", "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/miners"}
	}
	s.add(h(0), "eu-west-1", "ecs.amazonaws.com", "RunTask", "", map[string]any{"cluster": "miners", "count": 3, "launchType": "FARGATE"},
		map[string]any{"tasks": []any{task("t1"), task("t2"), task("t3")}, "failures": []any{}}, nil)
	s.add(h(0).Add(30*time.Second), "eu-west-1", "ecs.amazonaws.com", "StopTask", "",
		map[string]any{"cluster": "miners", "task": "arn:aws:ecs:eu-west-1:111122223333:task/miners/t3"}, nil, nil)
	s.add(h(1), "eu-west-1", "ecs.amazonaws.com", "DeleteCluster", "", map[string]any{"cluster": "miners"}, nil, nil)
	// eu-west-2: AWS's quarantine stops a c5.xlarge after 2 h.
	s.runInstances(h(0), "eu-west-2", "c5.xlarge", false, "i-quarantined")
	s.instances(h(2), "eu-west-2", "StopInstances", map[string]any{"sourceIPAddress": "72.21.217.97",
		"userAgent": "aws-internal/3 aws-sdk-java/1.12.788"}, "i-quarantined")
	// sa-east-1: every launch failed.
	s.add(h(0), "sa-east-1", "ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation",
		map[string]any{"instanceType": "c5.xlarge"}, nil, nil)
	s.add(h(0), "sa-east-1", "ecs.amazonaws.com", "RunTask", "AccessDeniedException", map[string]any{"cluster": "x"}, nil, nil)
	// ap-south-1: a c5.xlarge nothing ends.
	s.runInstances(h(0), "ap-south-1", "c5.xlarge", false, "i-forgotten")
	// ap-southeast-1: a type the table does not have, terminated after 1 h.
	s.runInstances(h(0), "ap-southeast-1", "zz9.mega", false, "i-unknown")
	s.instances(h(1), "ap-southeast-1", "TerminateInstances", nil, "i-unknown")
	// ca-central-1: a Fargate service of 3 tasks (0.5 vCPU, 1 GB from its task definition),
	// scaled to 1 after 1 h, deleted after 2 h: 3 + 1 task-hours.
	s.add(h(0).Add(-time.Minute), "ca-central-1", "ecs.amazonaws.com", "RegisterTaskDefinition", "",
		map[string]any{"family": "web", "cpu": "512", "memory": "1024"},
		map[string]any{"taskDefinition": map[string]any{"taskDefinitionArn": "arn:aws:ecs:ca-central-1:111122223333:task-definition/web:1",
			"cpu": "512", "memory": "1024"}}, nil)
	s.add(h(0), "ca-central-1", "ecs.amazonaws.com", "CreateService", "",
		map[string]any{"cluster": "prod", "serviceName": "web", "desiredCount": 3, "launchType": "FARGATE", "taskDefinition": "web"},
		map[string]any{"service": map[string]any{"serviceArn": "arn:aws:ecs:ca-central-1:111122223333:service/prod/web",
			"serviceName": "web", "clusterArn": "arn:aws:ecs:ca-central-1:111122223333:cluster/prod", "desiredCount": 3,
			"launchType": "FARGATE", "taskDefinition": "arn:aws:ecs:ca-central-1:111122223333:task-definition/web:1"}}, nil)
	s.add(h(1), "ca-central-1", "ecs.amazonaws.com", "UpdateService", "",
		map[string]any{"cluster": "prod", "service": "web", "desiredCount": 1}, nil, nil)
	s.add(h(2), "ca-central-1", "ecs.amazonaws.com", "DeleteService", "", map[string]any{"cluster": "prod", "service": "web"}, nil, nil)
	// The last event: until.
	s.add(h(10), "us-east-1", "sts.amazonaws.com", "GetCallerIdentity", "", nil, nil, nil)
	st := openRO(t, s.store())

	rows := rowsOf(t, st.DB, "cost", queries.Params{Keys: []string{scenarioKey}})
	got := map[string]map[string]any{}
	for _, r := range rows {
		got[str(r["region"])+" "+str(r["resource_type"])+" "+str(r["market"])] = r
	}
	ec2 := func(region, typ string) float64 { v, _ := rate(t, "ec2", region, typ, "hour"); return v }
	fv, _ := rate(t, "fargate", "eu-west-1", "linux-x86_64", "vcpu-hour")
	fg, _ := rate(t, "fargate", "eu-west-1", "linux-x86_64", "gb-hour")
	cv, _ := rate(t, "fargate", "ca-central-1", "linux-x86_64", "vcpu-hour")
	cg, _ := rate(t, "fargate", "ca-central-1", "linux-x86_64", "gb-hour")
	for _, c := range []struct {
		key                string
		resources, running int
		hours, usd, usdLow float64
		basis              []string
	}{
		{"us-east-1 m5.large on-demand", 1, 0, 2, 2 * ec2("us-east-1", "m5.large"), 2 * ec2("us-east-1", "m5.large"),
			[]string{"on-demand; ", "1 ended: StopInstances", "1 ended: TerminateInstances"}},
		{"us-east-2 c5.large spot", 1, 0, 0.5, 0.5 * ec2("us-east-2", "c5.large"), 0.5 * ec2("us-east-2", "c5.large"),
			[]string{"spot: upper bound at the on-demand rate", "estimated (us-east-1 rate)", "ended: BidEvictedEvent (spot interruption)"}},
		{"us-west-2 c5.xlarge on-demand", 1, 0, 2, 2 * ec2("us-west-2", "c5.xlarge"), 2 * ec2("us-west-2", "c5.xlarge"),
			[]string{"ended: TerminateInstances"}},
		{"us-west-2 c5.xlarge spot", 1, 0, 2, 2 * ec2("us-west-2", "c5.xlarge"), 2 * ec2("us-west-2", "c5.xlarge"),
			[]string{"spot: upper bound"}},
		{"eu-west-1 1 vCPU / 2 GB on-demand", 3, 0, 2 + 60.0/3600, (2 + 60.0/3600) * (fv + 2*fg), 3 * 60.0 / 3600 * (fv + 2*fg),
			[]string{"1 ended: StopTask", "2 ended by DeleteCluster (inferred): range from the one-minute minimum"}},
		{"eu-west-2 c5.xlarge on-demand", 1, 0, 2, 2 * ec2("eu-west-2", "c5.xlarge"), 2 * ec2("eu-west-2", "c5.xlarge"),
			[]string{"ended: StopInstances by AWS (quarantine)"}},
		{"ap-south-1 c5.xlarge on-demand", 1, 1, 10, 10 * ec2("ap-south-1", "c5.xlarge"), 60.0 / 3600 * ec2("ap-south-1", "c5.xlarge"),
			[]string{"no end logged by --until"}},
		{"ap-southeast-1 zz9.mega on-demand", 1, 0, 1, math.NaN(), math.NaN(), []string{"price unknown"}},
		{"ca-central-1 0.5 vCPU / 1 GB on-demand", 3, 0, 4, 4 * (0.5*cv + cg), 4 * (0.5*cv + cg),
			[]string{"service: its tasks' starts are not logged", "1 ended: DeleteService", "2 ended: UpdateService desiredCount 1"}},
	} {
		r := got[c.key]
		if r == nil {
			t.Errorf("no row %q in %v", c.key, keysOf(got))
			continue
		}
		delete(got, c.key)
		if int(num(r["resources"])) != c.resources || int(num(r["still_running"])) != c.running || !near(float(r["hours"]), c.hours, 4) {
			t.Errorf("%s: %v resources, %v running, %v hours; want %d, %d, %.4f", c.key, r["resources"], r["still_running"], r["hours"],
				c.resources, c.running, c.hours)
		}
		if math.IsNaN(c.usd) {
			if r["usd"] != nil || r["usd_low"] != nil || r["price_per_hour"] != nil {
				t.Errorf("%s: an unknown price shows as %v (%v): want unknown, not a number", c.key, r["usd"], r["price_per_hour"])
			}
		} else if !near(float(r["usd"]), c.usd, 2) || !near(float(r["usd_low"]), c.usdLow, 2) {
			t.Errorf("%s: usd %v, low %v; want %.4f, %.4f", c.key, r["usd"], r["usd_low"], c.usd, c.usdLow)
		}
		for _, b := range c.basis {
			if !strings.Contains(str(r["basis"]), b) {
				t.Errorf("%s: basis %q lacks %q", c.key, r["basis"], b)
			}
		}
	}
	for k := range got {
		t.Errorf("unexpected row %s: %v", k, got[k])
	}

	// --until before the first launch is refused; a later --until cuts the open runs there.
	q, err := queries.Lookup("cost")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Run(t.Context(), st.DB, queries.Params{Keys: []string{scenarioKey}, Until: h(-1)}); !queries.IsUntilBeforeFirstLaunch(err) {
		t.Errorf("--until before the first launch: %v", err)
	}
	for _, r := range rowsOf(t, st.DB, "cost", queries.Params{Keys: []string{scenarioKey}, Until: h(1.5)}) {
		if str(r["region"]) == "ap-south-1" && !near(float(r["hours"]), 1.5, 4) {
			t.Errorf("--until 1.5 h after the launch: %v hours", r["hours"])
		}
		if str(r["region"]) == "us-east-1" && !near(float(r["hours"]), 1, 4) {
			t.Errorf("--until in the stopped span: %v hours, want 1", r["hours"])
		}
	}

	// A currency adds converted columns beside USD; without one there are none.
	for _, r := range rowsOf(t, st.DB, "cost", queries.Params{Keys: []string{scenarioKey}, Currency: "KRW", Rate: 1180}) {
		// (local converts the unrounded USD: within 1180 x half a cent of the shown USD)
		if r["usd"] != nil && (str(r["currency"]) != "KRW" || math.Abs(float(r["local"])-1180*float(r["usd"])) > 6) {
			t.Errorf("KRW %v for USD %v", r["local"], r["usd"])
		}
	}
	if _, ok := rows[0]["local"]; ok {
		t.Errorf("converted columns without --currency: %v", rows[0])
	}
	// A spot price given is used for spot capacity (and the region's own on-demand price wins
	// over the us-east-1 stand-in), the given table first.
	mine := prices.Table{Name: "mine", Prices: []prices.Price{
		{Service: "ec2", Region: "us-east-2", Item: "c5.large", Market: "spot", Unit: "hour", USD: 0.03, Source: "spot history"},
		{Service: "ec2", Region: "ap-south-1", Item: "c5.xlarge", Market: "on-demand", Unit: "hour", USD: 0.178, Source: "my quote"}}}
	for _, r := range rowsOf(t, st.DB, "cost", queries.Params{Keys: []string{scenarioKey}, Prices: prices.Merge(mine, prices.Embedded())}) {
		switch str(r["region"]) + " " + str(r["resource_type"]) {
		case "us-east-2 c5.large":
			if float(r["price_per_hour"]) != 0.03 || !strings.HasPrefix(str(r["basis"]), "spot price;") || str(r["price_source"]) != "spot history" {
				t.Errorf("given spot price: %v", r)
			}
		case "ap-south-1 c5.xlarge":
			if float(r["price_per_hour"]) != 0.178 || strings.Contains(str(r["basis"]), "estimated") || str(r["price_source"]) != "my quote" {
				t.Errorf("given regional price: %v", r)
			}
		case "us-east-1 m5.large":
			if float(r["price_per_hour"]) != 0.096 {
				t.Errorf("trailhound's price under the given table: %v", r)
			}
		}
	}
	// No prices: every row unknown, none zero.
	for _, r := range rowsOf(t, st.DB, "cost", queries.Params{Keys: []string{scenarioKey}, Prices: []prices.Price{}}) {
		if r["usd"] != nil || r["price_per_hour"] != nil || !strings.Contains(str(r["basis"]), "price unknown") {
			t.Errorf("priced without prices: %v", r)
		}
	}
}

func keysOf(m map[string]map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestCostHostileRecords: attacker-controlled sizes, types and counts do not break the cost
// queries or blow them up: a service's desiredCount is capped, bad sizes are unknown sizes.
func TestCostHostileRecords(t *testing.T) {
	s := &scenario{t: t}
	s.add(t0, "us-east-1", "ecs.amazonaws.com", "CreateService", "",
		map[string]any{"cluster": "c", "serviceName": "s", "desiredCount": 99999999999, "launchType": "FARGATE", "taskDefinition": "nope"}, nil, nil)
	s.add(t0, "us-east-1", "ecs.amazonaws.com", "RunTask", "", map[string]any{"cluster": "c"},
		map[string]any{"tasks": []any{map[string]any{"taskArn": "arn:aws:ecs:us-east-1:1:task/c/t1", "cpu": "<script>", "memory": "-5 GB"}}}, nil)
	s.add(t0, "us-east-1", "ec2.amazonaws.com", "RunInstances", "", map[string]any{"instanceType": "</td><script>alert(1)</script>"},
		map[string]any{"instancesSet": items(map[string]any{"instanceId": "i-1", "launchTime": "soon", "cpuOptions": map[string]any{"coreCount": "x"}})}, nil)
	s.add(t0.Add(time.Hour), "us-east-1", "sts.amazonaws.com", "GetCallerIdentity", "", nil, nil, nil)
	st := openRO(t, s.store())
	rows := rowsOf(t, st.DB, "cost", queries.Params{Keys: []string{scenarioKey}})
	types := map[string]map[string]any{}
	for _, r := range rows {
		types[str(r["resource_type"])] = r
	}
	if r := types["</td><script>alert(1)</script>"]; r == nil || r["usd"] != nil || !near(float(r["hours"]), 1, 4) {
		t.Errorf("a made-up instance type: %v", rows)
	}
	if r := types["unknown size"]; r == nil || r["usd"] != nil || num(r["resources"]) != 10001 {
		t.Errorf("a task of no size and a service of 10^11 tasks (10,000 counted) : %v", rows)
	}
	for _, name := range []string{"cost-total", "cost-per-hour"} {
		rowsOf(t, st.DB, name, queries.Params{Keys: []string{scenarioKey}})
	}
}
