package queries_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"

	"github.com/trailhound/trailhound/internal/golden"
)

const goldenQueries = "../testdata/golden/queries"

// goldenCSV runs a canned query and compares its CSV output with a golden file.
func goldenCSV(t *testing.T, st *queries.Store, name string, p queries.Params, file string) string {
	t.Helper()
	q, err := queries.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := q.Run(t.Context(), st.DB, p)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := queries.WriteRows(&buf, queries.FormatCSV, rows); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	golden.Check(t, filepath.Join(goldenQueries, file), []byte(got))
	return got
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, gl, wl)
		}
	}
	return "(equal)"
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func num(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	case *big.Int:
		return x.Int64()
	}
	panic(fmt.Sprintf("not a number: %T %v", v, v))
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, str(x))
	}
	return out
}

// TestGoldenIncident: every canned query over the generated incident, scoped to the
// leaked key (the queries that take no key over the whole store), against golden files.
func TestGoldenIncident(t *testing.T) {
	inc := generatedIncident(t)
	st := openRO(t, inc.db)
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		switch q.Name {
		case "source-files", "evidence-files", "lineage-events", "timesketch":
			continue // this run's paths and read times; whole records (the viz tests check source-files and lineage-events,
			// cmd's TestReportIntegrity evidence-files, cmd/export_test.go timesketch)
		}
		t.Run(q.Name, func(t *testing.T) {
			var p queries.Params
			if q.Takes("keys") {
				p.Keys = []string{inc.m.LeakedKey}
			}
			goldenCSV(t, st, q.Name, p, "incident/"+q.Name+".csv")
		})
	}
}

// TestIncidentGroundTruth checks the answers against what the generator says it wrote.
func TestIncidentGroundTruth(t *testing.T) {
	inc := generatedIncident(t)
	m := inc.m
	st := openRO(t, inc.db)
	leaked := queries.Params{Keys: []string{m.LeakedKey}}

	t.Run("lineage", func(t *testing.T) {
		var derived, ambiguous []string
		for _, r := range rowsOf(t, st.DB, "lineage", leaked) {
			k, via, note := str(r["access_key_id"]), str(r["via"]), str(r["note"])
			switch {
			case via == "seed":
				if k != m.LeakedKey {
					t.Errorf("seed %s", k)
				}
			case note == "":
				derived = append(derived, k)
			default:
				ambiguous = append(ambiguous, note)
				if !strings.HasPrefix(note, "ambiguous: ") {
					t.Errorf("note %q", note)
				}
			}
		}
		want := slices.Concat(m.DerivedKeys, m.AttackerConsoleKeys)
		slices.Sort(want)
		slices.Sort(derived)
		if !slices.Equal(derived, want) {
			t.Errorf("lineage keys\n %v\nwant (derived and console keys)\n %v", derived, want)
		}
		if slices.Contains(derived, m.OwnerNewKey) {
			t.Errorf("the owner's new key %s is in the lineage", m.OwnerNewKey)
		}
		// The ECS tasks' sessions in the attacker's role: one summary row, flagged ambiguous.
		if len(ambiguous) != 1 || !strings.Contains(ambiguous[0], fmt.Sprintf("opened %d sessions", m.ServiceSessions)) ||
			!strings.Contains(ambiguous[0], "ecs-tasks.amazonaws.com") {
			t.Errorf("ambiguous rows %q, want one for %d ecs-tasks sessions", ambiguous, m.ServiceSessions)
		}
	})

	t.Run("compute-launches", func(t *testing.T) {
		ec2, ecs, byHour, failedOnly := map[string]int{}, map[string]int{}, map[string]int{}, map[string]bool{}
		launchedIn := map[string]bool{}
		for _, r := range rowsOf(t, st.DB, "compute-launches", leaked) {
			region, action := str(r["region"]), str(r["action"])
			launched, failed := int(num(r["launched"])), num(r["failed"])
			switch action {
			case "RunInstances":
				if launched > 0 {
					ec2[region] += launched
					launchedIn[region] = true
				}
				if failed > 0 {
					failedOnly[region] = true
				}
			case "RunTask":
				if launched > 0 {
					ecs[region] += launched
					byHour[r["hour"].(time.Time).UTC().Format(time.RFC3339)] += launched
				}
			}
		}
		for r := range launchedIn {
			delete(failedOnly, r)
		}
		if !maps.Equal(ec2, m.RunInstances) {
			t.Errorf("EC2 instances per region %v, generator launched %v", ec2, m.RunInstances)
		}
		if !maps.Equal(ecs, m.ECSTasks) || !maps.Equal(byHour, m.ECSTasksByHour) {
			t.Errorf("ECS tasks per region %v / hour %v, generator started %v / %v", ecs, byHour, m.ECSTasks, m.ECSTasksByHour)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(failedOnly)), slices.Sorted(maps.Keys(m.RunInstancesFailures))) {
			t.Errorf("regions where every RunInstances failed %v, generator %v", failedOnly, m.RunInstancesFailures)
		}
	})

	t.Run("left-running", func(t *testing.T) {
		var got []synth.Resource
		for _, r := range rowsOf(t, st.DB, "left-running", leaked) {
			got = append(got, synth.Resource{Region: str(r["region"]), Service: str(r["service"]),
				Type: str(r["resource_type"]), ID: str(r["resource_id"])})
			if str(r["created_by"]) == "" {
				t.Errorf("no created_by in %v", r)
			}
		}
		cmp := func(x, y synth.Resource) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) }
		slices.SortFunc(got, cmp)
		want := slices.SortedFunc(slices.Values(m.LeftRunning), cmp)
		if !slices.Equal(got, want) {
			t.Errorf("left running: %d rows, generator left %d", len(got), len(want))
			for _, r := range got {
				if !slices.Contains(want, r) {
					t.Errorf("  extra %v", r)
				}
			}
			for _, r := range want {
				if !slices.Contains(got, r) {
					t.Errorf("  missing %v", r)
				}
			}
		}
	})

	t.Run("iam-changes", func(t *testing.T) {
		var users, roles []string
		quarantined := 0
		for _, r := range rowsOf(t, st.DB, "iam-changes", leaked) {
			switch str(r["event_name"]) {
			case "CreateUser":
				users = append(users, str(r["target"]))
			case "CreateRole":
				roles = append(roles, str(r["target"]))
			case "PutUserPolicy":
				if strings.Contains(str(r["detail"]), "applied by AWS, not the attacker") {
					quarantined++
				}
			}
		}
		slices.Sort(users)
		if !slices.Equal(users, m.AttackerUsers) {
			t.Errorf("users created %v, generator %v", users, m.AttackerUsers)
		}
		if len(roles) != 1 || !strings.HasSuffix(m.AttackerRoles[0], ":role/"+roles[0]) {
			t.Errorf("roles created %v, generator %v", roles, m.AttackerRoles)
		}
		if quarantined != 1 {
			t.Errorf("%d rows say AWS's quarantine is AWS's", quarantined)
		}
	})

	t.Run("aws-markers", func(t *testing.T) {
		rows := rowsOf(t, st.DB, "aws-markers", queries.Params{})
		if len(rows) != 1 || str(rows[0]["marker"]) != m.QuarantinePolicy || str(rows[0]["target"]) != m.LeakedKeyUser ||
			!rows[0]["event_time"].(time.Time).Equal(m.Quarantine) {
			t.Errorf("aws-markers %v, want %s on %s at %v", rows, m.QuarantinePolicy, m.LeakedKeyUser, m.Quarantine)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		// The lineage's events: the attacker's, the owner's own use of the leaked key (from
		// home), and AWS's quarantine (signed with the leaked key).
		attacker := 0
		for _, r := range rowsOf(t, st.DB, "timeline", leaked) {
			ip := str(r["source_ip"])
			if ip == m.QuarantineIP {
				if !strings.Contains(str(r["summary"]), "AWS itself, not the attacker") {
					t.Errorf("quarantine summary %q", r["summary"])
				}
				continue
			}
			if ip != m.OwnerIP {
				attacker++
			}
		}
		if attacker != m.AttackerEvents {
			t.Errorf("timeline has %d events from outside the owner's and AWS's addresses, generator made %d attacker events",
				attacker, m.AttackerEvents)
		}
	})

	t.Run("key-usage", func(t *testing.T) {
		attackerIP := map[string]bool{}
		for _, ip := range m.AttackerIPs {
			attackerIP[ip] = true
		}
		for _, r := range rowsOf(t, st.DB, "key-usage", leaked) {
			k, ips, fresh := str(r["access_key_id"]), strList(r["source_ips"]), strList(r["new_source_ips"])
			if k == m.LeakedKey {
				if !slices.Contains(ips, m.OwnerIP) || slices.Contains(fresh, m.OwnerIP) || len(fresh) == 0 {
					t.Errorf("leaked key: IPs %v, new %v: the owner's %s is its baseline", ips, fresh, m.OwnerIP)
				}
				if slices.Contains(ips, m.QuarantineIP) {
					t.Errorf("AWS's quarantine counted as use of the key: %v", ips)
				}
			} else if !slices.Equal(ips, fresh) {
				t.Errorf("%s: IPs %v, new %v: a derived key has no baseline", k, ips, fresh)
			}
			for _, ip := range fresh {
				if !attackerIP[ip] {
					t.Errorf("%s: new IP %s is not the attacker's", k, ip)
				}
			}
		}
	})

	t.Run("coverage", func(t *testing.T) {
		byRegion := map[string]int{}
		for _, r := range rowsOf(t, st.DB, "coverage", queries.Params{}) {
			if n := int(num(r["events"])); n > 0 {
				byRegion[str(r["region"])] += n
			}
		}
		if !maps.Equal(byRegion, m.EventsByRegion) {
			t.Errorf("coverage events per region %v, generator %v", byRegion, m.EventsByRegion)
		}
	})
}

// TestRealdataSANS: in the SANS SEC504 lab, the compromised key created another one.
func TestRealdataSANS(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sans.duckdb")
	ingestPaths(t, db, realdata+"/sans-504-s3-ransomware-lab")
	st := openRO(t, db)
	const key, created = "AKIAU7JNXC7K7XNL3F6J", "AKIAU7JNXC7KZLY6XYHJ"
	p := queries.Params{Keys: []string{key}}
	got := map[string]string{}
	for _, r := range rowsOf(t, st.DB, "lineage", p) {
		got[str(r["access_key_id"])] = str(r["via"]) + " " + str(r["parent_access_key_id"])
	}
	if got[key] != "seed " || got[created] != "CreateAccessKey "+key {
		t.Errorf("lineage %v, want %s seeding %s by CreateAccessKey", got, key, created)
	}
	for _, name := range []string{"lineage", "key-usage", "timeline", "iam-changes", "recon", "errors", "regions"} {
		t.Run(name, func(t *testing.T) { goldenCSV(t, st, name, p, "sans/"+name+".csv") })
	}
}

// TestRealdataInvictus: the Stratus Red Team IAM persistence techniques show in iam-changes.
func TestRealdataInvictus(t *testing.T) {
	db := filepath.Join(t.TempDir(), "invictus.duckdb")
	ingestPaths(t, db, realdata+"/invictus-ir-aws-dataset")
	st := openRO(t, db)
	const key = "AKIATFQR7NSC8Q4X20BJ" // bert-jan, who ran the techniques
	p := queries.Params{Keys: []string{key}}
	var lines []string
	for _, r := range rowsOf(t, st.DB, "iam-changes", p) {
		lines = append(lines, strings.Join([]string{str(r["event_name"]), str(r["target"]), str(r["detail"])}, " | "))
	}
	all := strings.Join(lines, "\n")
	for technique, want := range map[string]string{
		"iam-create-admin-user":         `(?m)^AttachUserPolicy \| malicious-iam-user \| arn:aws:iam::aws:policy/AdministratorAccess`,
		"iam-create-admin-user key":     `(?m)^CreateAccessKey \| malicious-iam-user \| new key AKIA`,
		"iam-backdoor-user":             `(?m)^CreateAccessKey \| stratus-red-team-backdoor-u-user \| new key AKIA`,
		"iam-create-user-login-profile": `(?m)^CreateLoginProfile \| stratus-red-team-login-profile-user \| console password set`,
		"iam-backdoor-role":             `(?m)^UpdateAssumeRolePolicy \| stratus-red-team-backdoor-r-role \| trusts .*arn:aws:iam::193672423079:root`,
		"roles-anywhere trust anchor":   `(?m)^CreateTrustAnchor \| `,
	} {
		if !regexp.MustCompile(want).MatchString(all) {
			t.Errorf("%s: no row matching %s in\n%s", technique, want, all)
		}
	}
	// The instance-profile credentials stolen from an EC2 instance: a session EC2 opened in
	// a role the key created, used elsewhere: in the lineage, flagged ambiguous.
	found := false
	for _, r := range rowsOf(t, st.DB, "lineage", p) {
		if str(r["access_key_id"]) == "ASIATFQR7NSC36DZQP7P" {
			found = strings.HasPrefix(str(r["note"]), "ambiguous: ec2.amazonaws.com assumed role stratus-red-team-ec2-steal-credentials-role")
		}
	}
	if !found {
		t.Errorf("the stolen instance credentials are not in the lineage as ambiguous")
	}
	for _, name := range []string{"lineage", "iam-changes", "left-running", "defense-evasion", "compute-launches", "cost"} {
		t.Run(name, func(t *testing.T) { goldenCSV(t, st, name, p, "invictus/"+name+".csv") })
	}
	// Two t3.micro ran: 11:55:21 (launchTime) to the TerminateInstances at 12:08:06, and
	// 12:03:24 to 12:08:05; the p2.xlarge launches failed (VcpuLimitExceeded): no cost.
	// Two Lambda functions: billed per use, which the logs do not show: not priced, no hours.
	cost := rowsOf(t, st.DB, "cost", p)
	if len(cost) != 2 || str(cost[0]["resource_type"]) != "t3.micro" || num(cost[0]["resources"]) != 2 ||
		!near(float(cost[0]["hours"]), (765.0+281)/3600, 4) || num(cost[0]["still_running"]) != 0 ||
		str(cost[1]["service"]) != "lambda" || cost[1]["hours"] != nil || cost[1]["usd"] != nil {
		t.Errorf("cost %v, want 2 t3.micro for 1046 s and 2 unpriced functions", cost)
	}
	t.Run("iam-changes whole store", func(t *testing.T) {
		goldenCSV(t, st, "iam-changes", queries.Params{}, "invictus/iam-changes-store.csv")
	})
	t.Run("defense-evasion whole store", func(t *testing.T) {
		goldenCSV(t, st, "defense-evasion", queries.Params{}, "invictus/defense-evasion-store.csv")
	})
}

// TestRealdataPlasoCost: in the plaso sample (event history export), a t2.micro launched at
// 22:19:05 is stopped at 22:23:03 and terminated, stopped, at 22:23:18: 238 s of running.
func TestRealdataPlasoCost(t *testing.T) {
	db := filepath.Join(t.TempDir(), "plaso.duckdb")
	ingestPaths(t, db, realdata+"/plaso-lookup-events")
	st := openRO(t, db)
	cost := rowsOf(t, st.DB, "cost", queries.Params{})
	if len(cost) != 1 || str(cost[0]["region"]) != "ap-southeast-2" || str(cost[0]["resource_type"]) != "t2.micro" ||
		!near(float(cost[0]["hours"]), 238.0/3600, 4) || !strings.Contains(str(cost[0]["basis"]), "1 ended: StopInstances") {
		t.Errorf("cost %v, want a t2.micro for 238 s, ended by StopInstances", cost)
	}
	goldenCSV(t, st, "cost", queries.Params{}, "plaso/cost.csv")
}

// TestEveryQueryOnAllRealdata runs every canned query, whole-store and scoped, over all the
// real samples at once: odd shapes, fake regions, null fields, non-ISO times must not
// break any of them.
func TestEveryQueryOnAllRealdata(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests all of realdata")
	}
	entries, err := os.ReadDir(realdata)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(realdata, e.Name()))
		}
	}
	db := filepath.Join(t.TempDir(), "all.duckdb")
	ingestPaths(t, db, dirs...)
	st := openRO(t, db)
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2021, 7, 29, 0, 0, 0, 0, time.UTC)
	for _, p := range []queries.Params{{}, {Keys: []string{"AKIATFQR7NSC8Q4X20BJ", "AKIAU7JNXC7K7XNL3F6J"}},
		{From: from, To: from.Add(48 * time.Hour)}} {
		for _, q := range qs {
			rowsOf(t, st.DB, q.Name, p)
		}
	}
}

// TestHostileRecords: attacker-controlled text cannot pass for AWS's quarantine, and policy
// documents that are not JSON do not break the queries.
func TestHostileRecords(t *testing.T) {
	dir := t.TempDir()
	const key = "AKIAHOSTILE000000001"
	ev := func(id, name, params string) string {
		return `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/victim",` +
			`"accountId":"111122223333","accessKeyId":"` + key + `","userName":"victim"},"eventTime":"2026-01-02T03:04:05Z",` +
			`"eventSource":"iam.amazonaws.com","eventName":"` + name + `","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1",` +
			`"userAgent":"aws-internal/3","requestParameters":` + params + `,"responseElements":null,"eventID":"` + id + `",` +
			`"readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`
	}
	allow := `{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}`
	escaped := `{\"Statement\":{\"Effect\":\"\\u0041llow\",\"Action\":\"*\",\"Resource\":\"*\"}}`
	lines := []string{
		ev("00000000-0000-0000-0000-000000000001", "PutUserPolicy",
			`{"userName":"victim","policyName":"AWSCompromisedKeyQuarantineV3","policyDocument":"`+allow+`"}`),
		ev("00000000-0000-0000-0000-000000000002", "PutUserPolicy",
			`{"userName":"victim","policyName":"AWSExposedCredentialPolicy_DO_NOT_REMOVE","policyDocument":"`+escaped+`"}`),
		ev("00000000-0000-0000-0000-000000000003", "CreateRole",
			`{"roleName":"r\u001b[31m","assumeRolePolicyDocument":"{not json"}`),
		ev("00000000-0000-0000-0000-000000000004", "PutUserPolicy",
			`{"userName":"victim","policyName":"AWSCompromisedKeyQuarantineV2","policyDocument":"{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`),
	}
	if err := os.WriteFile(filepath.Join(dir, "hostile.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "h.duckdb")
	ingestPaths(t, db, dir)
	st := openRO(t, db)
	markers := rowsOf(t, st.DB, "aws-markers", queries.Params{})
	if len(markers) != 1 || str(markers[0]["marker"]) != "AWSCompromisedKeyQuarantineV2" {
		t.Errorf("aws-markers %v: only the Deny-only V2 policy is AWS's", markers)
	}
	rows := rowsOf(t, st.DB, "iam-changes", queries.Params{Keys: []string{key}})
	if len(rows) != 4 {
		t.Fatalf("iam-changes: %d rows", len(rows))
	}
	for _, r := range rows {
		aws := strings.Contains(str(r["detail"]), "applied by AWS")
		if aws != strings.HasSuffix(str(r["detail"]), "AWSCompromisedKeyQuarantineV2 (applied by AWS, not the attacker)") {
			t.Errorf("detail %q", r["detail"])
		}
		if str(r["event_name"]) == "CreateRole" && str(r["detail"]) != "trusts {not json" {
			t.Errorf("CreateRole detail %q", r["detail"])
		}
	}
}

// TestPrepareExecuteAsDocumented runs each query the way its header tells a duckdb CLI user
// to (PREPARE NAME AS <query>; EXECUTE NAME(...)) and compares with Query.Run.
func TestPrepareExecuteAsDocumented(t *testing.T) {
	inc := generatedIncident(t)
	st := openRO(t, inc.db)
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	execRE := regexp.MustCompile(`(?m)^--\s+(EXECUTE (\w+)\((.*)\);)$`)
	prepRE := regexp.MustCompile(`(?m)^--\s+PREPARE (\w+) AS <the SELECT below>;$`)
	for _, q := range qs {
		if len(q.Params()) == 0 {
			continue // takes no parameters (overview, source-files)
		}
		t.Run(q.Name, func(t *testing.T) {
			prep, exec := prepRE.FindStringSubmatch(q.SQL), execRE.FindStringSubmatch(q.SQL)
			if prep == nil || exec == nil || prep[1] != exec[2] {
				t.Fatalf("header lacks the PREPARE/EXECUTE lines")
			}
			stmt := strings.ReplaceAll(exec[1], "AKIAEXAMPLEKEY000001", inc.m.LeakedKey)
			var p queries.Params
			if len(q.Optional) > 0 { // columns the header shows only with their parameter: give it
				if !strings.Contains(stmt, "currency := NULL, rate := NULL") {
					t.Fatalf("%s: EXECUTE line without currency := NULL, rate := NULL", q.Name)
				}
				stmt = strings.ReplaceAll(stmt, "currency := NULL, rate := NULL", "currency := 'KRW', rate := 1180")
				p.Currency, p.Rate = "KRW", 1180
			}
			body := strings.TrimSuffix(strings.TrimSpace(q.SQL), ";")
			conn, err := st.DB.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(t.Context(), "PREPARE "+prep[1]+" AS "+body); err != nil {
				t.Fatal(err)
			}
			rows, err := conn.QueryContext(t.Context(), stmt)
			if err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			var viaCLI bytes.Buffer
			if _, err := queries.WriteRows(&viaCLI, queries.FormatCSV, rows); err != nil {
				t.Fatal(err)
			}
			if q.Takes("keys") {
				p.Keys = []string{inc.m.LeakedKey}
			}
			rows, err = q.Run(context.Background(), st.DB, p)
			if err != nil {
				t.Fatal(err)
			}
			var viaRun bytes.Buffer
			if _, err := queries.WriteRows(&viaRun, queries.FormatCSV, rows); err != nil {
				t.Fatal(err)
			}
			if viaCLI.String() != viaRun.String() {
				t.Errorf("%s gives other rows than Query.Run:\n%s", stmt, firstDiff(viaCLI.String(), viaRun.String()))
			}
		})
	}
}

// TestTrinoTextsExpand: every Trino text's {{fragments}} exist, and nothing is left unexpanded.
func TestTrinoTextsExpand(t *testing.T) {
	qs, err := queries.Canned()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range qs {
		if q.Trino == "" {
			continue
		}
		n++
		s, err := queries.ExpandTrino(q.Trino)
		if err != nil {
			t.Errorf("%s: %v", q.Name, err)
			continue
		}
		if strings.Contains(s, "{{") {
			t.Errorf("%s: left unexpanded: %s", q.Name, s[strings.Index(s, "{{"):])
		}
	}
	if n == 0 {
		t.Fatal("no canned query has a Trino text")
	}
	if _, err := queries.ExpandTrino("WITH {{no_such_fragment}} SELECT 1"); err == nil || !strings.Contains(err.Error(), "no_such_fragment.inc.sql") {
		t.Errorf("a missing fragment: %v", err)
	}
}
