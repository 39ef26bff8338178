package sigma

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/internal/golden"
)

// golden compares got with testdata/golden/sigma/name (rewritten with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join(goldenDir, name), got)
}

// TestSigmaHQRulesLoad: every rule of SigmaHQ's CloudTrail folder and of its unsupported/
// folder either runs or is skipped with a precise reason; the list is a golden file, and
// all 57 of rules/ run.
func TestSigmaHQRulesLoad(t *testing.T) {
	rules, probs := LoadPaths([]string{sigmaRules, sigmaOld})
	p := Prepare(rules, "")
	st := realStore(t)
	res, err := p.Start(context.Background(), st.DB, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	skipped := map[string]string{}
	for _, pr := range append(probs, p.Skipped...) {
		skipped[filepath.Base(pr.Source)] = pr.Reason
	}
	files, _ := filepath.Glob(sigmaRules + "/*.yml")
	old, _ := filepath.Glob(sigmaOld + "/*.yml")
	if len(files) != 57 {
		t.Fatalf("%d rules in %s, want SigmaHQ's 57", len(files), sigmaRules)
	}
	running := map[string]bool{}
	for _, r := range p.Run {
		running[filepath.Base(r.Source)] = true
	}
	var b strings.Builder
	for _, f := range append(files, old...) {
		name := filepath.Base(f)
		dir := filepath.Base(filepath.Dir(f))
		switch {
		case running[name]:
			fmt.Fprintf(&b, "%s/%s: runs\n", dir, name)
		case skipped[name] != "":
			fmt.Fprintf(&b, "%s/%s: skipped: %s\n", dir, name, skipped[name])
		default:
			t.Errorf("%s neither runs nor is skipped", f)
		}
		if dir == "rules" && !running[name] {
			t.Errorf("%s does not run: %s", name, skipped[name])
		}
	}
	checkGolden(t, "sigmahq-load.txt", []byte(b.String()))
}

// TestHostileRuleFiles: rule files are input. Each bad one is reported by name with its
// reason; the good ones beside them still load.
func TestHostileRuleFiles(t *testing.T) {
	dir := tempDir(t)
	good := "title: good\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    sel:\n        eventName: X\n    condition: sel\n"
	files := map[string]string{
		"good.yml":         good,
		"multi.yaml":       good + "---\n" + strings.Replace(good, "good", "second", 1) + "---\ntitle: broken\ndetection: 5\n",
		"syntax.yml":       "title: [unclosed\n",
		"binary.yml":       "\x00\xff\xfe garbage",
		"list.yml":         "- a\n- b\n",
		"nodetect.yml":     "title: x\nlogsource: {product: aws, service: cloudtrail}\n",
		"modifier.yml":     strings.Replace(good, "eventName: X", "eventName|bogus: X", 1),
		"nullinlist.yml":   strings.Replace(good, "eventName: X", "eventName: [X, null]", 1),
		"allone.yml":       strings.Replace(good, "eventName: X", "eventName|all: [X]", 1),
		"regex.yml":        strings.Replace(good, "eventName: X", "eventName|re: '(?=x)'", 1),
		"ipv6.yml":         strings.Replace(good, "eventName: X", "sourceIPAddress|cidr: '2001:db8::/32'", 1),
		"utf16.yml":        strings.Replace(good, "eventName: X", "eventName|utf16le: X", 1),
		"expand.yml":       strings.Replace(good, "eventName: X", "eventName|expand: '%Servers%'", 1),
		"unknown.yml":      strings.Replace(good, "condition: sel", "condition: sel and other", 1),
		"nomatch.yml":      strings.Replace(good, "condition: sel", "condition: 1 of filter_*", 1),
		"badfield.yml":     strings.Replace(good, "eventName: X", "\"event'Name\\\"\": X", 1),
		"deep.yml":         strings.Replace(good, "eventName: X", "a.b.c.d.e.f.g: X", 1),
		"windows.yml":      strings.Replace(good, "{product: aws, service: cloudtrail}", "{product: windows, category: process_creation}", 1),
		"dupkey.yml":       strings.Replace(good, "eventName: X", "eventName: X\n        eventName: Y", 1),
		"notitle.yml":      strings.Replace(good, "title: good", "id: 1", 1),
		"ordered.yml":      "title: o\ncorrelation:\n    type: temporal_ordered\n    rules: [a, b]\n    group-by: [x]\n    timespan: 1m\n",
		"missingref.yml":   "title: m\ncorrelation:\n    type: event_count\n    rules: [nowhere]\n    group-by: [x]\n    timespan: 1m\n    condition: {gte: 2}\n",
		"parens.yml":       strings.Replace(good, "condition: sel", "condition: '((sel'", 1),
		"nesting.yml":      strings.Replace(good, "condition: sel", "condition: '"+strings.Repeat("not ", 200)+"sel'", 1),
		"aliasbomb.yml":    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\ntitle: bomb\n",
		"huge.yml":         "title: h\n#" + strings.Repeat("x", maxRuleFile) + "\n",
		"ignored.txt":      "not a rule file: not read",
		"sub/nested.yml":   strings.Replace(good, "good", "nested", 1),
		"timeframe.yml":    strings.Replace(good, "condition: sel", "timeframe: 5m\n    condition: sel", 1),
		"badtimespan.yml":  "title: t\ncorrelation:\n    type: event_count\n    rules: [x]\n    group-by: [x]\n    timespan: 5 minutes\n    condition: {gte: 2}\n",
		"emptylist.yml":    strings.Replace(good, "eventName: X", "eventName: []", 1),
		"mapvalue.yml":     strings.Replace(good, "eventName: X", "eventName: {a: b}", 1),
		"badlevel.yml":     good + "level: extreme\n",
		"near.yml":         strings.Replace(good, "condition: sel", "condition: sel | near sel", 1),
		"fieldrefwild.yml": strings.Replace(good, "eventName: X", "eventName|fieldref: 'a*'", 1),
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rules, probs := LoadPaths([]string{dir, filepath.Join(dir, "missing.yml")})
	plan := Prepare(rules, "")
	var titles []string
	for _, r := range plan.Run {
		titles = append(titles, r.Title)
	}
	sort.Strings(titles)
	if got := strings.Join(titles, ","); got != "good,good,nested,second" {
		t.Errorf("rules that run: %s, want good,good,nested,second", got)
	}
	var b strings.Builder
	all := append(probs, plan.Skipped...)
	sort.Slice(all, func(i, j int) bool { return all[i].String() < all[j].String() })
	for _, p := range all {
		rel, err := filepath.Rel(dir, p.Source)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.Source, dir) {
			t.Errorf("problem does not name its file: %s", p)
		}
		p.Source = rel
		fmt.Fprintln(&b, p.String())
	}
	checkGolden(t, "hostile-rules.txt", []byte(b.String()))
}

// TestRealdataFindings: SigmaHQ's rules and trailhound's over every real sample: the
// findings are a golden file (rule, author, event), and the technique each Stratus Red Team
// detonation documents is found by the rule written for it.
func TestRealdataFindings(t *testing.T) {
	st := realStore(t)
	rules, _ := allRules(t)
	p := Prepare(rules, "")
	res, err := p.Start(context.Background(), st.DB, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	rows, err := res.conn.QueryContext(context.Background(), `
		SELECT f.rule_id, f.title, f.author, f.event_id, f.variant, f.event_name, o.uri
		FROM th_findings f
		JOIN (SELECT s.event_id, s.variant, min(sf.uri) AS uri FROM event_sources s JOIN source_files sf USING (file_id) GROUP BY ALL) o
		    USING (event_id, variant)
		ORDER BY f.rule_id, f.event_id, f.event_name, f.event_time NULLS FIRST, f.source_ip NULLS FIRST, f.access_key_id NULLS FIRST, o.uri`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byFile := map[string]map[string]bool{} // detonation file -> rule titles that fired on it
	perRule := map[string]int{}
	var b strings.Builder
	for rows.Next() {
		var id, title, author, ev, name, uri string
		var variant int // a record sharing its eventID with other content is a line of its own; its number,
		// which depends on which record the ingest read first (parallel readers), is not printed
		if err := rows.Scan(&id, &title, &author, &ev, &variant, &name, &uri); err != nil {
			t.Fatal(err)
		}
		rel := uri
		if i := strings.Index(uri, "/realdata/"); i >= 0 {
			rel = uri[i+len("/realdata/"):]
		}
		if i := strings.Index(uri, "/testdata/"); i >= 0 {
			rel = uri[i+1:]
		}
		perRule[id]++
		if perRule[id] <= 20 { // the golden file keeps the first 20 findings of each rule
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", id, title, author, ev, name, rel)
		}
		base := filepath.Base(uri)
		if byFile[base] == nil {
			byFile[base] = map[string]bool{}
		}
		byFile[base][title] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range perRule {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(&b, "# findings per rule\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "%s\t%d\n", id, perRule[id])
	}
	checkGolden(t, "realdata-findings.tsv", []byte(b.String()))

	// Stratus Red Team detonation -> the rule written for its technique
	want := map[string][]string{
		"aws.defense-evasion.cloudtrail-delete.json":                    {"AWS CloudTrail Important Change", "CloudTrail logging stopped, deleted or narrowed"},
		"aws.defense-evasion.cloudtrail-stop.json":                      {"AWS CloudTrail Important Change", "CloudTrail logging stopped, deleted or narrowed"},
		"aws.defense-evasion.cloudtrail-event-selectors.json":           {"CloudTrail logging stopped, deleted or narrowed"},
		"aws.defense-evasion.vpc-remove-flow-logs.json":                 {"AWS VPC Flow Logs Deleted"},
		"aws.defense-evasion.organizations-leave.json":                  {"Security monitoring disabled (GuardDuty, Config, Security Hub, Access Analyzer)"},
		"aws.defense-evasion.bedrock-guardrail-delete.json":             {"AWS Bedrock Guardrail Deleted"},
		"aws.exfiltration.ec2-share-ebs-snapshot.json":                  {"AWS Snapshot Backup Exfiltration", "Snapshot or machine image shared with another account or made public"},
		"aws.exfiltration.ec2-share-ami.json":                           {"Snapshot or machine image shared with another account or made public"},
		"aws.exfiltration.rds-share-snapshot.json":                      {"Snapshot or machine image shared with another account or made public"},
		"aws.exfiltration.ec2-security-group-open-port-22-ingress.json": {"Ingress/Egress Security Group Modification"},
		// SigmaHQ's aws_ec2_startup_script_change expects requestParameters.attribute: userData;
		// this detonation sends requestParameters.userData, which the built-in rule reads too.
		"aws.execution.ec2-user-data.json":                                 {"EC2 instance user data read or changed"},
		"aws.discovery.ec2-download-user-data.json":                        {"EC2 instance user data read or changed"},
		"aws.execution.ssm-send-command.json":                              {"Potential Malicious Usage of CloudTrail System Manager"},
		"aws.persistence.iam-create-admin-user.json":                       {"IAM user created", "Administrator policy attached to a user, role or group"},
		"aws.persistence.iam-create-user-login-profile.json":               {"Console password set for an IAM user"},
		"aws.persistence.iam-backdoor-user.json":                           {"Access key created for another IAM user"},
		"aws.privilege-escalation.iam-update-user-login-profile.json":      {"AWS User Login Profile Was Modified", "Console password set for an IAM user"},
		"aws.persistence.iam-backdoor-role.json":                           {"Role trust policy lets in another AWS account or anyone"},
		"aws.persistence.iam-create-backdoor-role.json":                    {"IAM role created", "Role trust policy lets in another AWS account or anyone"},
		"aws.initial-access.console-login-without-mfa.json":                {"AWS Successful Console Login Without MFA"},
		"aws.persistence.sts-federation-token.json":                        {"Federation token minted with an IAM user's key"},
		"aws.credential-access.ec2-get-password-data.json":                 {"Secrets, parameters or instance passwords read in bulk"},
		"aws.credential-access.secretsmanager-retrieve-secrets.json":       {"Secrets, parameters or instance passwords read in bulk"},
		"aws.credential-access.secretsmanager-batch-retrieve-secrets.json": {"Secrets, parameters or instance passwords read in bulk"},
		"aws.credential-access.ssm-retrieve-securestring-parameters.json":  {"Secrets, parameters or instance passwords read in bulk"},
		"aws.credential-access.ec2-steal-instance-credentials.json":        {"EC2 instance credentials validated from outside the instance"},
		"aws.persistence.lambda-layer-extension.json":                      {"AWS New Lambda Layer Attached"},
	}
	for file, titles := range want {
		for _, title := range titles {
			if !byFile[file][title] {
				var got []string
				for g := range byFile[file] {
					got = append(got, g)
				}
				sort.Strings(got)
				t.Errorf("%s: %q did not fire (fired: %v)", file, title, got)
			}
		}
	}
}
