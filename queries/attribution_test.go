package queries_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest/synth"
	"github.com/trailhound/trailhound/queries"
)

// theftIncident is the generator's stolen session key case, ingested once per test binary.
var (
	theftOnce sync.Once
	theftCase synth.TheftCase
	theftDB   string
	theftErr  error
)

func stolenKeyIncident(t *testing.T) (synth.TheftCase, string) {
	t.Helper()
	theftOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trailhound-theft-")
		if err != nil {
			theftErr = err
			return
		}
		theftCase, theftErr = synth.GenerateTheft(context.Background(), filepath.Join(dir, "trail"), synth.TheftOptions{Seed: 11})
		if theftErr != nil {
			return
		}
		theftDB = filepath.Join(dir, "theft.duckdb")
		ingestPaths(t, theftDB, filepath.Join(dir, "trail"))
		extraTempDirs = append(extraTempDirs, dir)
	})
	if theftErr != nil {
		t.Fatal(theftErr)
	}
	return theftCase, theftDB
}

// awsValue reports whether s is one of the values AWS writes for its own calls, judged
// independently of the SQL macros: what CloudTrail's documentation and the real samples show
// in sourceIPAddress and userAgent when AWS made the call.
func awsValue(s string) bool {
	l := strings.ToLower(strings.Trim(s, "[]"))
	return l == "aws internal" || l == "aws.internal" || strings.HasSuffix(l, ".amazonaws.com") ||
		strings.Contains(l, "aws-internal/") || strings.HasPrefix(l, "coral/")
}

// TestStolenSessionKey: the generator's case (a Lambda function's session key used from a
// laptop) read the way the victim reads it: the key is named stolen, the function's own
// address is no attacker's, AWS's KMS calls are nobody's, and every step says what it did.
func TestStolenSessionKey(t *testing.T) {
	m, db := stolenKeyIncident(t)
	st := openRO(t, db)
	p := queries.Params{Keys: []string{m.StolenKey}}

	t.Run("credential-misuse", func(t *testing.T) {
		rows := rowsOf(t, st.DB, "credential-misuse", p)
		if len(rows) != 1 {
			t.Fatalf("%d rows, want the function's session used from one foreign address: %v", len(rows), rows)
		}
		r := rows[0]
		wantTo := "Lambda function " + m.Function + " (execution role " + m.FunctionRole[strings.LastIndex(m.FunctionRole, "/")+1:] + ")"
		if str(r["issued_to"]) != wantTo || str(r["verdict"]) != "stolen" || str(r["foreign_origin"]) != m.AttackerIP ||
			!strings.HasPrefix(str(r["legit_origin"]), m.FunctionIP+" (Lambda runtime)") ||
			!slices.Equal(strList(r["foreign_keys"]), []string{m.StolenKey}) || str(r["issued_event"]) != m.IssuedEvent {
			t.Errorf("row %v\nwant issued to %q, legit %s, foreign %s, stolen, issued by event %s", r, wantTo, m.FunctionIP, m.AttackerIP, m.IssuedEvent)
		}
		if got := r["foreign_first"].(time.Time); !got.Equal(m.FirstAttack) {
			t.Errorf("foreign_first %v, want the attacker's first call %v", got, m.FirstAttack)
		}
		if n := len(strList(r["evidence"])); n != min(20, int(num(r["foreign_calls"]))) {
			t.Errorf("%d evidence rows for %d foreign calls", n, num(r["foreign_calls"]))
		}
		// The whole store says the same; the lineage of the admin key alone has no theft.
		if all := rowsOf(t, st.DB, "credential-misuse", queries.Params{}); len(all) != 1 || str(all[0]["session"]) != str(r["session"]) {
			t.Errorf("whole store: %v", all)
		}
		if adm := rowsOf(t, st.DB, "credential-misuse", queries.Params{Keys: []string{m.AdminKey}}); len(adm) != 0 {
			t.Errorf("the admin session, used from one address by the attacker who made it: %v", adm)
		}
	})

	t.Run("summary", func(t *testing.T) {
		r := rowsOf(t, st.DB, "summary", p)[0]
		if got := strList(r["attacker_ips"]); !slices.Equal(got, []string{m.AttackerIP}) {
			t.Errorf("attacker IPs %v, want only the foreign %s (not the function's %s)", got, m.AttackerIP, m.FunctionIP)
		}
		if got := strList(r["workload_ips"]); !slices.Equal(got, []string{m.FunctionIP}) {
			t.Errorf("workload IPs %v, want %s", got, m.FunctionIP)
		}
		first, last := r["first_attacker_activity"].(time.Time), r["last_attacker_activity"].(time.Time)
		if !first.Equal(m.FirstAttack) || !last.Equal(m.LastAttack) {
			t.Errorf("attacker activity %v to %v, want %v to %v", first, last, m.FirstAttack, m.LastAttack)
		}
		var want []string
		for _, ua := range m.AttackerUA {
			want = append(want, strings.TrimSuffix(strings.TrimPrefix(ua, "["), "]"))
		}
		slices.Sort(want)
		want = slices.Compact(want)
		got := slices.Sorted(slices.Values(strList(r["attacker_user_agents"])))
		if !slices.Equal(got, want) {
			t.Errorf("attacker tools\n %q\nwant (S3's brackets removed)\n %q", got, want)
		}
	})

	t.Run("key-usage", func(t *testing.T) {
		for _, r := range rowsOf(t, st.DB, "key-usage", p) {
			for _, col := range []string{"source_ips", "new_source_ips", "user_agents", "new_user_agents"} {
				for _, v := range strList(r[col]) {
					if awsValue(v) {
						t.Errorf("%s %s holds AWS's own %q", r["access_key_id"], col, v)
					}
				}
			}
			if !slices.Contains(strList(r["aws_services"]), "AWS Internal") {
				t.Errorf("%s: aws_services %v, want AWS Internal (S3's KMS calls)", r["access_key_id"], r["aws_services"])
			}
			if str(r["access_key_id"]) == m.StolenKey {
				if got := strList(r["new_source_ips"]); !slices.Equal(got, []string{m.AttackerIP}) {
					t.Errorf("stolen key: new IPs %v, want %s (the function's own address is its baseline)", got, m.AttackerIP)
				}
			}
		}
	})

	t.Run("data-access", func(t *testing.T) {
		got := map[string][]string{}
		for _, r := range rowsOf(t, st.DB, "data-access", p) {
			if str(r["bucket"]) != m.Bucket {
				t.Errorf("bucket %v", r["bucket"])
			}
			if r["by_workload"] == false {
				got[str(r["action"])] = strList(r["object_keys"])
			}
		}
		for action, want := range map[string][]string{"read": m.ObjectsRead, "written": m.ObjectsPut, "deleted": m.ObjectsGone, "listed": {"*"}} {
			if !slices.Equal(got[action], want) {
				t.Errorf("%s by the attacker %v, want %v", action, got[action], want)
			}
		}
	})

	t.Run("exposure", func(t *testing.T) {
		var got []string
		for _, r := range rowsOf(t, st.DB, "exposure", p) {
			got = append(got, str(r["detail"]))
		}
		want := []string{
			"removed the public access block of bucket " + m.Bucket + " (its ACLs and policy may now make it public)",
			"made bucket " + m.Bucket + " public (AllUsers READ)",
			`made bucket ` + m.Bucket + ` public (its policy lets anyone, Principal "*", s3:GetObject)`,
			"shared snapshot " + m.Snapshot + " with account " + m.ExposedTo,
		}
		if !slices.Equal(got, want) {
			t.Errorf("exposure\n %q\nwant\n %q", got, want)
		}
	})

	t.Run("brute-force", func(t *testing.T) {
		rows := rowsOf(t, st.DB, "brute-force", p)
		if len(rows) != 1 {
			t.Fatalf("%d bursts, want 1: %v", len(rows), rows)
		}
		r := rows[0]
		if str(r["access_key_id"]) != m.StolenKey || !r["first_seen"].(time.Time).Equal(m.BruteFirst) ||
			!r["last_seen"].(time.Time).Equal(m.BruteLast) || int(num(r["denied_calls"])) != m.BruteDenied ||
			int(num(r["services"])) != m.BruteServices || !slices.Contains(strList(r["allowed"]), "s3:ListBuckets") {
			t.Errorf("burst %v\nwant %s from %v to %v, %d denied over %d services, ListBuckets allowed",
				r, m.StolenKey, m.BruteFirst, m.BruteLast, m.BruteDenied, m.BruteServices)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		var lines []string
		for _, r := range rowsOf(t, st.DB, "timeline", p) {
			lines = append(lines, str(r["summary"]))
		}
		for _, want := range []string{
			"assumed role ops-admin as session key " + m.AdminKey,
			"read s3://" + m.Bucket + "/emergency.txt",
			"wrote s3://" + m.Bucket + "/README-RECOVER-FILES.txt",
			fmt.Sprintf("deleted %d objects from s3://%s", len(m.ObjectsGone), m.Bucket),
			"listed s3://" + m.Bucket + "/",
			"made bucket " + m.Bucket + " public (AllUsers READ)",
			"GenerateDataKey (made by AWS Internal on the caller's behalf)",
		} {
			if !slices.Contains(lines, want) {
				t.Errorf("no timeline summary %q", want)
			}
		}
	})

	t.Run("lineage", func(t *testing.T) {
		got := map[string]string{}
		for _, r := range rowsOf(t, st.DB, "lineage", p) {
			got[str(r["access_key_id"])] = str(r["via"]) + " " + str(r["parent_access_key_id"])
		}
		if len(got) != 2 || got[m.AdminKey] != "AssumeRole "+m.StolenKey {
			t.Errorf("lineage %v, want the admin key assumed with the stolen one", got)
		}
	})

	for _, name := range []string{"summary", "credential-misuse", "key-usage", "data-access", "exposure", "brute-force",
		"recon", "timeline", "lineage"} {
		t.Run("golden "+name, func(t *testing.T) { goldenCSV(t, st, name, p, "theft/"+name+".csv") })
	}
}

// TestRealdataStolenInstanceCredentials: the two real instance-profile thefts are named. OTRF
// (CloudGoat cloud_breach_s3): the instance's credentials, never used by the instance in the
// logs, are used from the address the IAM user pedro also uses. Invictus (Stratus
// ec2-steal-instance-credentials): one of the instance's keys is used by its SSM agent from
// the instance's address, its sibling from bert-jan's address.
func TestRealdataStolenInstanceCredentials(t *testing.T) {
	for _, c := range []struct {
		dir, seed, session, legit, foreign, why string
	}{
		{"otrf-security-datasets", "ASIA5FLZVX4OPVKKVBMX",
			"arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/i-0317f6c6b66ae9c40", "",
			"1.2.3.4", "this address is also used by arn:aws:iam::123456789123:user/pedro, a person, not the instance"},
		{"invictus-ir-aws-dataset", "AKIATFQR7NSC8Q4X20BJ",
			"arn:aws:sts::123837392027:assumed-role/stratus-red-team-ec2-steal-credentials-role/i-0dbc91f429e48eeed",
			"3.225.16.109 (SSM agent)", "192.168.10.20",
			"this address is also used by arn:aws:iam::123837392027:user/bert-jan, a person, not the instance; the instance's own calls came from 3.225.16.109 (SSM agent)"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "s.duckdb")
			ingestPaths(t, db, filepath.Join(realdata, c.dir))
			st := openRO(t, db)
			p := queries.Params{Keys: []string{c.seed}}
			var stolen []map[string]any
			for _, r := range rowsOf(t, st.DB, "credential-misuse", p) {
				if str(r["verdict"]) == "stolen" {
					stolen = append(stolen, r)
				}
			}
			if len(stolen) != 1 || str(stolen[0]["session"]) != c.session || str(stolen[0]["foreign_origin"]) != c.foreign ||
				str(stolen[0]["legit_origin"]) != c.legit || str(stolen[0]["why"]) != c.why ||
				!strings.HasPrefix(str(stolen[0]["issued_to"]), "EC2 instance i-") {
				t.Errorf("stolen rows %v\nwant %s used from %s (%s)", stolen, c.session, c.foreign, c.why)
			}
			sum := rowsOf(t, st.DB, "summary", p)[0]
			if got := strList(sum["attacker_ips"]); !slices.Equal(got, []string{c.foreign}) {
				t.Errorf("attacker IPs %v, want only %s", got, c.foreign)
			}
			base := strings.Split(c.dir, "-")[0]
			for _, name := range []string{"credential-misuse", "summary", "key-usage", "exposure", "data-access"} {
				t.Run(name, func(t *testing.T) { goldenCSV(t, st, name, p, base+"/"+name+".csv") })
			}
		})
	}
}

// TestAWSNeverTheAttacker: on every real sample, for the whole store and for every key with
// five calls or more, no value AWS writes for its own calls is an attacker IP or tool, a
// key's source IP or user agent, new or not, or a foreign origin of a session key.
func TestAWSNeverTheAttacker(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests all of realdata")
	}
	entries, err := os.ReadDir(realdata)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "r.duckdb")
			ingestPaths(t, db, filepath.Join(realdata, e.Name()))
			st := openRO(t, db)
			var keys []string
			rows, err := st.DB.QueryContext(t.Context(), `SELECT access_key_id FROM events WHERE access_key_id IS NOT NULL
				GROUP BY 1 HAVING count(*) >= 5 ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
			rows.Close()
			scopes := []queries.Params{{}}
			for _, k := range keys {
				scopes = append(scopes, queries.Params{Keys: []string{k}})
			}
			checked := 0
			check := func(what string, p queries.Params, vals []string) {
				for _, v := range vals {
					checked++
					if awsValue(v) {
						t.Errorf("%s for %v holds AWS's own %q", what, p.Keys, v)
					}
				}
			}
			for _, p := range scopes {
				for _, r := range rowsOf(t, st.DB, "summary", p) {
					check("summary attacker_ips", p, strList(r["attacker_ips"]))
					check("summary attacker_user_agents", p, strList(r["attacker_user_agents"]))
				}
				if len(p.Keys) == 0 {
					for _, r := range rowsOf(t, st.DB, "key-usage", p) {
						for _, col := range []string{"source_ips", "new_source_ips", "user_agents", "new_user_agents"} {
							check("key-usage "+col, p, strList(r[col]))
						}
					}
					for _, r := range rowsOf(t, st.DB, "credential-misuse", p) {
						check("credential-misuse foreign_origin", p, []string{str(r["foreign_origin"])})
						check("credential-misuse foreign_agents", p, strList(r["foreign_agents"]))
					}
				}
			}
			t.Logf("%d keys, %d values checked", len(keys), checked)
		})
	}
}

// TestSmallCases: the rules that the generated and real incidents do not reach, one record
// set each.
func TestSmallCases(t *testing.T) {
	const acct = "111122223333"
	ev := func(id, at, src, name, key, ip, ua, extra string) string {
		return `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::` + acct +
			`:user/u","accountId":"` + acct + `","accessKeyId":"` + key + `","userName":"u"},"eventTime":"` + at +
			`","eventSource":"` + src + `","eventName":"` + name + `","awsRegion":"us-east-1","sourceIPAddress":"` + ip +
			`","userAgent":"` + ua + `","eventID":"` + id + `","eventType":"AwsApiCall","recipientAccountId":"` + acct + `"` + extra + `}`
	}
	write := func(t *testing.T, lines []string) *queries.Store {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "c.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(t.TempDir(), "c.duckdb")
		ingestPaths(t, db, dir)
		return openRO(t, db)
	}
	at := func(sec int) string {
		return time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second).Format(time.RFC3339)
	}

	t.Run("recon matches service and name", func(t *testing.T) {
		const key = "AKIASMALLCASE0000001"
		st := write(t, []string{
			ev("r1", at(0), "greengrass.amazonaws.com", "ListGroups", key, "198.51.100.9", "aws-cli/2", ""),
			ev("r2", at(1), "resource-groups.amazonaws.com", "ListGroups", key, "198.51.100.9", "aws-cli/2", ""),
			ev("r3", at(2), "iam.amazonaws.com", "ListGroups", key, "198.51.100.9", "aws-cli/2", ""),
		})
		rows := rowsOf(t, st.DB, "recon", queries.Params{Keys: []string{key}})
		if len(rows) != 1 || str(rows[0]["event_source"]) != "iam.amazonaws.com" {
			t.Errorf("recon %v, want only IAM's ListGroups", rows)
		}
	})

	t.Run("brute-force thresholds", func(t *testing.T) {
		services := []string{"iam", "ec2", "s3", "sns", "sqs", "rds", "kms", "ssm", "logs", "ecs", "eks"}
		burst := func(key string, n, nsvc, gap int) []string {
			var out []string
			for i := range n {
				out = append(out, ev(fmt.Sprintf("%s-%d", key, i), at(i*gap), services[i%nsvc]+".amazonaws.com", "List", key,
					"198.51.100.9", "Boto3/1", `,"errorCode":"AccessDenied","errorMessage":"denied"`))
			}
			return out
		}
		var lines []string
		lines = append(lines, burst("AKIABRUTE00000000010", 10, 5, 60)...)  // a burst: 10 denied over 5 services, 60 s apart
		lines = append(lines, burst("AKIABRUTE00000000009", 9, 9, 1)...)    // too few calls
		lines = append(lines, burst("AKIABRUTE00000000004", 40, 4, 1)...)   // too few services
		lines = append(lines, burst("AKIABRUTE00000000061", 10, 10, 61)...) // too slow: 61 s apart
		st := write(t, lines)
		rows := rowsOf(t, st.DB, "brute-force", queries.Params{})
		if len(rows) != 1 || str(rows[0]["access_key_id"]) != "AKIABRUTE00000000010" || num(rows[0]["seconds"]) != 540 ||
			num(rows[0]["denied_calls"]) != 10 || num(rows[0]["services"]) != 5 {
			t.Errorf("bursts %v, want only AKIABRUTE00000000010: 10 denied calls over 5 services in 540 s", rows)
		}
	})

	t.Run("AWS on the caller's behalf is no source, tool or activity", func(t *testing.T) {
		const key = "AKIASMALLCASE0000002"
		inv := func(s string) string {
			return `,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::` + acct + `:user/u","accountId":"` + acct + `","accessKeyId":"` + key + `","userName":"u","invokedBy":"` + s + `"}`
		}
		st := write(t, []string{
			ev("a1", at(0), "sts.amazonaws.com", "GetCallerIdentity", key, "198.51.100.9", "[aws-cli/2.15.30 md/command#s3.ls]", ""),
			ev("a2", at(5), "s3.amazonaws.com", "ListBuckets", key, "198.51.100.9", "aws-cli/2.15.30 md/command#s3.ls", ""),
			ev("a3", at(10), "kms.amazonaws.com", "Decrypt", key, "AWS Internal", "AWS Internal", ""),
			ev("a4", at(20), "ec2.amazonaws.com", "CreateNetworkInterface", key, "cloudformation.amazonaws.com",
				"cloudformation.amazonaws.com", inv("cloudformation.amazonaws.com")),
			ev("a5", at(30), "ec2.amazonaws.com", "DescribeInstances", key, "198.51.100.9", "console.ec2.amazonaws.com", ""),
			ev("a6", at(40), "s3.amazonaws.com", "ListObjects", key, "198.51.100.9", "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750]", ""),
		})
		p := queries.Params{Keys: []string{key}}
		r := rowsOf(t, st.DB, "summary", p)[0]
		if got := strList(r["attacker_ips"]); !slices.Equal(got, []string{"198.51.100.9"}) {
			t.Errorf("attacker IPs %v", got)
		}
		if got := strList(r["attacker_user_agents"]); !slices.Equal(got, []string{"aws-cli/2.15.30 md/command#s3.ls"}) {
			t.Errorf("tools %v, want one aws-cli (with and without S3's brackets) and no AWS agent", got)
		}
		if last := r["last_attacker_activity"].(time.Time); !last.Equal(time.Date(2026, 5, 1, 10, 0, 40, 0, time.UTC)) {
			t.Errorf("last activity %v: the console's calls are the key holder's", last)
		}
		k := rowsOf(t, st.DB, "key-usage", p)[0]
		if !slices.Equal(strList(k["source_ips"]), []string{"198.51.100.9"}) ||
			!slices.Equal(strList(k["user_agents"]), []string{"aws-cli/2.15.30 md/command#s3.ls"}) ||
			!slices.Equal(strList(k["aws_services"]), []string{"AWS Internal", "S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750",
				"cloudformation.amazonaws.com", "console.ec2.amazonaws.com"}) {
			t.Errorf("key-usage %v", k)
		}
	})

	t.Run("console session of a created user is ConsoleLogin however its events differ", func(t *testing.T) {
		const parent, console = "AKIAPARENT0000000001", "ASIACONSOLE000000001"
		mk := func(id, sec, name, extra string) string {
			return `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAY","arn":"arn:aws:iam::` + acct +
				`:user/backdoor","accessKeyId":"` + console + `","userName":"backdoor"` + extra + `},"eventTime":"` + sec +
				`","eventSource":"ec2.amazonaws.com","eventName":"` + name + `","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9",` +
				`"userAgent":"Mozilla/5.0","eventID":"` + id + `","eventType":"AwsApiCall","recipientAccountId":"` + acct + `"`
		}
		st := write(t, []string{
			ev("c1", at(0), "iam.amazonaws.com", "CreateUser", parent, "203.0.113.9", "aws-cli/2",
				`,"requestParameters":{"userName":"backdoor"},"responseElements":{"user":{"userName":"backdoor","arn":"arn:aws:iam::`+acct+`:user/backdoor"}}`),
			// the session's first event names no account and is not marked as a console one; a later one is
			mk("c2", at(60), "DescribeRegions", "") + `}`,
			mk("c3", at(70), "DescribeInstances", `,"accountId":"`+acct+`"`) + `,"sessionCredentialFromConsole":"true"}`,
		})
		got := map[string]string{}
		for _, r := range rowsOf(t, st.DB, "lineage", queries.Params{Keys: []string{parent}}) {
			got[str(r["access_key_id"])] = str(r["via"])
		}
		if len(got) != 2 || got[console] != "ConsoleLogin" {
			t.Errorf("lineage %v, want %s via ConsoleLogin", got, console)
		}
	})
}
