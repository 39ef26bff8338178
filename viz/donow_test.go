package viz

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/ingest"
	"github.com/trailhound/trailhound/queries"
)

// doNowPage is "Do this now" as the page shows it: each step's sentence, how to do it, and the
// things already done, as a reader sees them (tags gone, HTML unescaped).
type doNowPage struct {
	steps, hows, codes, done []string
	hrefs                    []string // every link of the section
}

var (
	tagsRE = regexp.MustCompile(`<[^>]*>`)
	idRE   = regexp.MustCompile(`\sid="([^"]*)"`)
	hrefRE = regexp.MustCompile(`href="#([^"]*)"`)
)

func readerText(s string) string {
	return strings.TrimSpace(html.UnescapeString(tagsRE.ReplaceAllString(s, "")))
}

func readDoNow(t *testing.T, page string) doNowPage {
	t.Helper()
	i := strings.Index(page, `<section id="do-now">`)
	if i < 0 {
		t.Fatal(`the page has no "Do this now" section`)
	}
	sec := page[i : i+strings.Index(page[i:], "</section>")]
	var d doNowPage
	for _, li := range regexp.MustCompile(`(?s)<ol class="steps">.*?</ol>`).FindAllString(sec, -1) {
		for _, item := range regexp.MustCompile(`(?s)<li>(.*?)</li>`).FindAllStringSubmatch(li, -1) {
			step := regexp.MustCompile(`(?s)<p class="step">(.*?)</p>`).FindStringSubmatch(item[1])
			how := regexp.MustCompile(`(?s)<p class="how">(.*?)</p>`).FindStringSubmatch(item[1])
			code := regexp.MustCompile(`(?s)<pre class="code"><code>(.*?)</code></pre>`).FindStringSubmatch(item[1])
			d.steps = append(d.steps, readerText(step[1]))
			h, c := "", ""
			if how != nil {
				h = readerText(how[1])
			}
			if code != nil {
				c = html.UnescapeString(code[1])
			}
			d.hows, d.codes = append(d.hows, h), append(d.codes, c)
		}
	}
	if ul := regexp.MustCompile(`(?s)<ul class="done">(.*?)</ul>`).FindStringSubmatch(sec); ul != nil {
		for _, item := range regexp.MustCompile(`(?s)<li>(.*?)</li>`).FindAllStringSubmatch(ul[1], -1) {
			text, _, _ := strings.Cut(item[1], ` <span class="evidence">`)
			d.done = append(d.done, readerText(text))
		}
	}
	for _, m := range hrefRE.FindAllStringSubmatch(sec, -1) {
		d.hrefs = append(d.hrefs, html.UnescapeString(m[1]))
	}
	return d
}

// checkLinks: every link of the page to the page resolves to an element; the section's links
// are there at all.
func checkLinks(t *testing.T, page string, d doNowPage) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range idRE.FindAllStringSubmatch(page, -1) {
		id := html.UnescapeString(m[1])
		if ids[id] {
			t.Errorf("two elements have the id %q", id)
		}
		ids[id] = true
	}
	if len(d.hrefs) == 0 {
		t.Error(`"Do this now" links to no evidence`)
	}
	for _, m := range hrefRE.FindAllStringSubmatch(page, -1) {
		if h := html.UnescapeString(m[1]); !ids[h] {
			t.Errorf("the link #%s leads to no element of the page", h)
		}
	}
}

// answersDoNow reads answers.md's "Do this now": each step's sentence starts its numbered line.
func answersDoNow(t *testing.T, md string) []string {
	t.Helper()
	i := strings.Index(md, "## Do this now\n")
	if i < 0 || i > strings.Index(md, "## 1. ") {
		t.Fatal(`answers.md does not begin with "Do this now"`)
	}
	sec := md[i:strings.Index(md, "## 1. ")]
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^\d+\. (.*)$`).FindAllStringSubmatch(sec, -1) {
		out = append(out, markdownText(m[1]))
	}
	return out
}

// regionCounts formats "in N regions: a (1), b (2)" (counts only when a region has more than one),
// or "in a" for one region, from the generator's own account of what it left.
func regionCounts(per map[string]int) string {
	var regions []string
	total := 0
	for r, n := range per {
		regions = append(regions, r)
		total += n
	}
	slices.Sort(regions)
	if len(regions) == 1 {
		return "in " + regions[0]
	}
	parts := make([]string, len(regions))
	for i, r := range regions {
		parts[i] = r
		if total > len(regions) {
			parts[i] += " (" + strconv.Itoa(per[r]) + ")"
		}
	}
	return fmt.Sprintf("in %d regions: %s", len(regions), strings.Join(parts, ", "))
}

// TestPackDoNow: on the generated incident, "Do this now" says what the generator left behind
// (the leaked key deactivated but not deleted, the tasks and clusters never stopped, the
// instances of the one region the owner missed, with their ids) and what the owner already did
// (the attacker's users deleted), in the order to do it; every link leads to its evidence on
// the page, and answers.md begins with the same steps.
func TestPackDoNow(t *testing.T) {
	inc, dir := testPack(t)
	m := inc.m
	page := string(readFile(t, filepath.Join(dir, "index.html")))
	d := readDoNow(t, page)

	tasks, clusters, instances := map[string]int{}, map[string]int{}, map[string]int{}
	var ids []string
	for _, r := range m.LeftRunning {
		switch r.Type {
		case "task":
			tasks[r.Region]++
		case "cluster":
			clusters[r.Region]++
		case "instance":
			instances[r.Region]++
			ids = append(ids, r.ID)
		default:
			t.Fatalf("the generator left a %s: this test does not know it", r.Type)
		}
	}
	for rg, n := range hostileTasks {
		tasks[rg] += n
	}
	nTasks, nInst := 0, len(ids)
	for _, n := range tasks {
		nTasks += n
	}
	if len(ids) == 0 || len(ids) > maxIDs || len(clusters) < 2 {
		t.Fatalf("the fixture no longer leaves a few instances and many clusters: %v %v", instances, clusters)
	}
	want := []string{
		"Delete the leaked access key " + m.LeakedKey + " of IAM user " + m.LeakedKeyUser + ". The logs show it deactivated on " +
			fmtTime(m.KeyDeactivated) + ", but a deactivated key can be made active again until it is deleted.",
		fmt.Sprintf("Stop %d containers (ECS tasks) %s.", nTasks, regionCounts(tasks)),
		fmt.Sprintf("Delete %d ECS clusters %s.", len(m.ECSClusters), regionCounts(clusters)),
		fmt.Sprintf("Terminate %d virtual machines (EC2 instances) %s: %s.", nInst, regionCounts(instances), strings.Join(ids, ", ")),
		"Then open a case with AWS Support (Support Center: Create case; Account and billing for the charges), and answer " +
			"their questions with answers.md from this folder; keep the whole folder as the evidence.",
	}
	if !slices.Equal(d.steps, want) {
		t.Errorf("Do this now:\n got %q\nwant %q", d.steps, want)
	}
	if len(m.AttackerUsers) != 2 {
		t.Fatalf("the fixture's attacker made %d users", len(m.AttackerUsers))
	}
	users := fmt.Sprintf("The 2 IAM users the attacker made, %s and %s, were deleted, as the logs show: check in IAM that they are gone.",
		m.AttackerUsers[0], m.AttackerUsers[1])
	if !slices.Contains(d.done, users) {
		t.Errorf("already done: %q\nlacks %q", d.done, users)
	}
	quarantine := "AWS attached " + m.QuarantinePolicy + " to " + m.LeakedKeyUser + " on " + fmtTime(m.Quarantine)
	if !slices.ContainsFunc(d.done, func(s string) bool { return strings.HasPrefix(s, quarantine) }) {
		t.Errorf("already done: %q\nlacks %q", d.done, quarantine)
	}
	for _, s := range d.steps {
		if strings.Contains(s, "Revoke") || strings.Contains(s, "Deny the older sessions") {
			t.Errorf("a step revokes sessions that the logs show ended or expired: %q", s)
		}
	}
	checkLinks(t, page, d)

	answers := answersDoNow(t, string(readFile(t, filepath.Join(dir, "answers.md"))))
	if len(answers) != len(want) {
		t.Fatalf("answers.md has %d steps, the page %d", len(answers), len(want))
	}
	for i, s := range want {
		if !strings.HasPrefix(answers[i], s) {
			t.Errorf("answers.md step %d: %q\nwant it to begin %q", i+1, answers[i], s)
		}
	}
}

// handMade writes CloudTrail records of a small case: a leaked key that makes two users with
// keys and a password, a key for an existing user, Administrator for that user, a role session
// and a session token, two instances; nobody cleans up.
func handMade(t *testing.T) (string, string) {
	t.Helper()
	const account = "111122223333"
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	n := 0
	rec := func(key, arn, source, name, region string, params, resp any) map[string]any {
		n++
		ident := map[string]any{"type": "IAMUser", "principalId": "AIDAALICE", "arn": arn, "accountId": account,
			"accessKeyId": key, "userName": "alice"}
		if strings.Contains(arn, ":assumed-role/") {
			ident = map[string]any{"type": "AssumedRole", "principalId": "AROADEPLOY:s1", "arn": arn, "accountId": account,
				"accessKeyId": key, "sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role",
					"arn": "arn:aws:iam::" + account + ":role/deploy", "userName": "deploy"}}}
		}
		return map[string]any{"eventVersion": "1.08", "userIdentity": ident,
			"eventTime": base.Add(time.Duration(n) * time.Minute).Format(time.RFC3339), "eventSource": source,
			"eventName": name, "awsRegion": region, "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15.30",
			"requestParameters": params, "responseElements": resp, "eventID": fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
			"readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": account}
	}
	const leaked = "AKIAHANDMADE00000001"
	alice := "arn:aws:iam::" + account + ":user/alice"
	newKey := func(user, id string) map[string]any {
		return map[string]any{"accessKey": map[string]any{"accessKeyId": id, "userName": user, "status": "Active"}}
	}
	var recs []map[string]any
	add := func(r map[string]any) { recs = append(recs, r) }
	add(rec(leaked, alice, "sts.amazonaws.com", "GetCallerIdentity", "us-east-1", nil, nil))
	for i, u := range []string{"backdoor1", "backdoor2"} {
		add(rec(leaked, alice, "iam.amazonaws.com", "CreateUser", "us-east-1", map[string]any{"userName": u},
			map[string]any{"user": map[string]any{"userName": u, "arn": "arn:aws:iam::" + account + ":user/" + u}}))
		add(rec(leaked, alice, "iam.amazonaws.com", "CreateAccessKey", "us-east-1", map[string]any{"userName": u},
			newKey(u, fmt.Sprintf("AKIABACKDOOR0000000%d", i+1))))
	}
	add(rec(leaked, alice, "iam.amazonaws.com", "CreateLoginProfile", "us-east-1",
		map[string]any{"userName": "backdoor1", "passwordResetRequired": false}, nil))
	add(rec(leaked, alice, "iam.amazonaws.com", "CreateAccessKey", "us-east-1", map[string]any{"userName": "bob"},
		newKey("bob", "AKIABOBNEW0000000003")))
	add(rec(leaked, alice, "iam.amazonaws.com", "AttachUserPolicy", "us-east-1",
		map[string]any{"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, nil))
	role := "arn:aws:sts::" + account + ":assumed-role/deploy/s1"
	add(rec(leaked, alice, "sts.amazonaws.com", "AssumeRole", "us-east-1",
		map[string]any{"roleArn": "arn:aws:iam::" + account + ":role/deploy", "roleSessionName": "s1"},
		map[string]any{"credentials": map[string]any{"accessKeyId": "ASIAHANDMADEROLE0001", "sessionToken": "x",
			"expiration": "May 1, 2026, 1:00:00 PM"}, "assumedRoleUser": map[string]any{"arn": role}}))
	add(rec("ASIAHANDMADEROLE0001", role, "s3.amazonaws.com", "ListBuckets", "us-east-1", nil, nil))
	add(rec(leaked, alice, "sts.amazonaws.com", "GetSessionToken", "us-east-1", map[string]any{"durationSeconds": 129600},
		map[string]any{"credentials": map[string]any{"accessKeyId": "ASIAHANDMADESESS0001", "sessionToken": "x",
			"expiration": "May 2, 2026, 10:00:00 PM"}}))
	add(rec(leaked, alice, "ec2.amazonaws.com", "RunInstances", "eu-north-1", map[string]any{"instanceType": "c5.xlarge"},
		map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": "i-0aaa0000000000001"},
			map[string]any{"instanceId": "i-0bbb0000000000002"}}}}))
	dir := t.TempDir()
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "case.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, leaked
}

// writeCasePack ingests dir into a new store and writes the pack for key, made at runAt.
func writeCasePack(t *testing.T, dir, key string, runAt time.Time) string {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "case.duckdb")
	st, err := queries.Open(ctx, db, queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ingest.Run(ctx, st, ingest.Files{Paths: []string{dir}},
		ingest.Options{Command: "test", Now: func() time.Time { return readAt }}, slog.New(slog.DiscardHandler))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err = queries.Open(ctx, db, queries.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := filepath.Join(t.TempDir(), "pack")
	o := PackOptions{Dir: out, Params: queries.Params{Keys: []string{key}}, Version: "test", RunAt: runAt}
	if _, err := WritePack(ctx, st.DB, o, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPackDoNowUsersAndSessions: when nobody cleaned up, "Do this now" deactivates the leaked
// key, deletes the attacker's users with their keys and password, the key it made for another
// user, revokes the role's sessions and denies the user's older ones (session keys cannot be
// deleted), checks the policy it attached to that user, terminates the instances.
func TestPackDoNowUsersAndSessions(t *testing.T) {
	dir, leaked := handMade(t)
	runAt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	pack := writeCasePack(t, dir, leaked, runAt)
	page := string(readFile(t, filepath.Join(pack, "index.html")))
	d := readDoNow(t, page)
	want := []string{
		"Deactivate the leaked access key " + leaked + " of IAM user alice now.",
		"Delete the 2 IAM users the attacker made, backdoor1 and backdoor2, with their 2 access keys (AKIABACKDOOR00000001, " +
			"AKIABACKDOOR00000002) and 1 console password (login profile).",
		"Delete the access keys the attacker made for users it did not make: AKIABOBNEW0000000003 (of user bob).",
		"Revoke the sessions of role deploy: session key ASIAHANDMADEROLE0001 keeps working until it expires on " +
			"2026-05-01 13:00:00 UTC, whatever happens to the keys that made it.",
		"Deny the older sessions of IAM user alice: session key ASIAHANDMADESESS0001 made with its keys keeps working until " +
			"it expires on 2026-05-02 22:00:00 UTC, even after the access key that made it is deactivated or deleted.",
		"Check, and undo unless you did it yourself, what the attacker changed on users, roles and groups it did not make: " +
			"AttachUserPolicy on bob (arn:aws:iam::aws:policy/AdministratorAccess).",
		"Terminate 2 virtual machines (EC2 instances) in eu-north-1: i-0aaa0000000000001, i-0bbb0000000000002.",
		"Then open a case with AWS Support (Support Center: Create case; Account and billing for the charges), and answer " +
			"their questions with answers.md from this folder; keep the whole folder as the evidence.",
	}
	if !slices.Equal(d.steps, want) {
		t.Errorf("Do this now:\n got %q\nwant %q", d.steps, want)
	}
	if len(d.hows) > 3 && !strings.Contains(d.hows[3], "Roles, deploy, the Revoke sessions tab, Revoke active sessions") ||
		!strings.Contains(d.hows[3], "AWSRevokeOlderSessions") || !strings.Contains(d.hows[3], "aws:TokenIssueTime") {
		t.Errorf("revoking the role's sessions: %q", d.hows)
	}
	if len(d.codes) > 4 {
		var policy struct {
			Statement struct {
				Effect, Action, Resource string
				Condition                map[string]map[string]string
			}
		}
		if err := json.Unmarshal([]byte(d.codes[4]), &policy); err != nil {
			t.Errorf("the user's deny policy is not JSON: %v\n%s", err, d.codes[4])
		}
		if s := policy.Statement; s.Effect != "Deny" || s.Action != "*" || s.Resource != "*" ||
			s.Condition["DateLessThan"]["aws:TokenIssueTime"] != "2026-05-01T12:00:00Z" {
			t.Errorf("the user's deny policy: %+v", s)
		}
	}
	checkLinks(t, page, d)
	if got := answersDoNow(t, string(readFile(t, filepath.Join(pack, "answers.md")))); len(got) != len(want) {
		t.Errorf("answers.md has %d steps, want %d: %q", len(got), len(want), got)
	}

	// A day later both session keys have expired: nothing to revoke, and the page says so.
	d = readDoNow(t, string(readFile(t, filepath.Join(writeCasePack(t, dir, leaked, runAt.Add(48*time.Hour)), "index.html"))))
	for _, s := range d.steps {
		if strings.HasPrefix(s, "Revoke") || strings.HasPrefix(s, "Deny the older sessions") {
			t.Errorf("a step revokes expired session keys: %q", s)
		}
	}
	expired := "2 session keys (ASIAHANDMADEROLE0001, ASIAHANDMADESESS0001) no longer work: they expired, the last on " +
		"2026-05-02 22:00:00 UTC, before this pack was made."
	if !slices.Contains(d.done, expired) {
		t.Errorf("already done: %q\nlacks %q", d.done, expired)
	}
	for _, s := range d.done {
		if strings.Contains(s, "stopped") || strings.Contains(s, "deleted") {
			t.Errorf("already done says something was stopped or deleted, which nobody did: %q", s)
		}
	}
}

// TestPackDoNowStolenKey: the pack of a stolen Lambda session key sends the victim to find how
// it was taken and to undo what was made public; the session keys expired before the pack was
// made, and the page says so rather than asking to revoke them.
func TestPackDoNowStolenKey(t *testing.T) {
	m, dir := theftPack(t)
	page := string(readFile(t, filepath.Join(dir, "index.html")))
	d := readDoNow(t, page)
	steal := "Find how the session key of Lambda function " + m.Function + " (execution role invoice-export-role) was stolen, " +
		"and close that hole: the workload gets new session keys by itself, and the attacker can take them again the same way."
	if !slices.Contains(d.steps, steal) {
		t.Errorf("steps %q\nlack %q", d.steps, steal)
	}
	undo := slices.IndexFunc(d.steps, func(s string) bool { return strings.HasPrefix(s, "Undo what the attacker made public or shared: ") })
	if undo < 0 || !strings.Contains(d.steps[undo], "made bucket "+m.Bucket+" public (AllUsers READ)") ||
		!strings.Contains(d.steps[undo], "shared snapshot "+m.Snapshot+" with account "+m.ExposedTo) {
		t.Errorf("no step undoes the exposure: %q", d.steps)
	}
	expired := slices.IndexFunc(d.done, func(s string) bool { return strings.Contains(s, "no longer work: they expired") })
	if expired < 0 || !strings.Contains(d.done[expired], m.StolenKey) || !strings.Contains(d.done[expired], m.AdminKey) {
		t.Errorf("already done %q: does not say %s and %s expired", d.done, m.StolenKey, m.AdminKey)
	}
	for _, s := range d.steps {
		if strings.HasPrefix(s, "Revoke") {
			t.Errorf("a step revokes expired session keys: %q", s)
		}
	}
	checkLinks(t, page, d)
}
