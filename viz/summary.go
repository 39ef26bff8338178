package viz

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// summary is what the pack says in plain words, from the summary query and a few tables.
type summary struct {
	items []SummaryItem
	notes []string

	accounts, seedKeys, principals, createdUsers, regions, attackerIPs []string
	first, last                                                        time.Time
	quarantine                                                         string // sentence, or ""
	leftRunning                                                        string // sentence

	// Sentences from credential-misuse, data-access, exposure and brute-force; each is nil
	// when its query found nothing, and its note says why when the query is missing.
	stolen, data, exposed, brute                 []string
	stolenNote, dataNote, exposedNote, bruteNote string
}

// row gives typed access to one result row by column name. Text values are display text:
// control and invisible characters are escaped.
type row struct {
	res *queries.Collected
	i   int
}

func (r row) get(col string) any {
	if r.res == nil || r.i >= len(r.res.Values) {
		return nil
	}
	if j := r.res.Column(col); j >= 0 {
		return r.res.Values[r.i][j]
	}
	return nil
}

func (r row) text(col string) string {
	if r.res == nil || r.i >= len(r.res.Text) {
		return ""
	}
	if j := r.res.Column(col); j >= 0 {
		return r.res.Text[r.i][j]
	}
	return ""
}

func (r row) list(col string) []string {
	l, _ := r.get(col).([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		if v != nil {
			out = append(out, queries.DisplayText(fmt.Sprint(v)))
		}
	}
	return out
}

func (r row) time(col string) (time.Time, bool) {
	t, ok := r.get(col).(time.Time)
	return t, ok
}

func (r row) num(col string) int64 {
	v, _ := number(r.get(col))
	return int64(v)
}

// joinCapped lists at most n items, then says how many more there are.
func joinCapped(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// pluralNoun makes an English plural of a resource type: task, tasks; policy, policies.
func pluralNoun(s string) string {
	switch {
	case strings.HasSuffix(s, "s"):
		return s
	case strings.HasSuffix(s, "y") && !strings.HasSuffix(s, "ey"):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (p *packer) summary() summary {
	var s summary
	r := row{res: p.results["summary"]}
	add := func(label, text string) { s.items = append(s.items, SummaryItem{Label: label, Text: text}) }

	s.accounts = r.list("accounts")
	s.seedKeys = r.list("seed_keys")
	s.principals = r.list("seed_principals")
	s.createdUsers = r.list("created_users")
	s.regions = r.list("attacker_regions")
	s.attackerIPs = r.list("attacker_ips")
	owner := r.list("owner_ips")

	if len(s.accounts) > 0 {
		add("AWS account", strings.Join(s.accounts, ", "))
	} else {
		add("AWS account", "no event of these keys is in the store")
	}
	key := strings.Join(s.seedKeys, ", ")
	if len(s.principals) > 0 {
		key += " (belongs to " + strings.Join(s.principals, ", ") + ")"
	}
	add("Leaked access key", key)
	first, ok1 := r.time("first_attacker_activity")
	last, ok2 := r.time("last_attacker_activity")
	if ok1 && ok2 {
		s.first, s.last = first, last
		add("Attacker's first activity", fmtTime(first))
		add("Attacker's last activity", fmtTime(last)+" (the last call in the logs; later activity is not in the store)")
	} else {
		add("Attacker's activity", "none found in the store for these keys")
	}
	if len(s.attackerIPs) > 0 {
		add("Attacker's source IP addresses", joinCapped(s.attackerIPs, 12))
	}
	if w := r.list("workload_ips"); len(w) > 0 {
		s.notes = append(s.notes, "Calls that a workload (an EC2 instance, a Lambda function, an ECS task) made itself, "+
			"with the session key AWS issued to it, from "+joinCapped(w, 8)+" (where its own runtime or agent called), "+
			"are the workload's, not the attacker's: they are left out of the attacker's activity, IPs and tools above. "+
			"What AWS did on the caller's behalf (\"AWS Internal\", an AWS service's own calls) is never the attacker's either.")
	}
	s.stolen, s.stolenNote = p.stolenKeys()
	if len(s.stolen) > 0 {
		s.items = append(s.items, SummaryItem{Label: "Stolen session keys", List: capList(s.stolen, 5)})
	}
	if ua := r.list("attacker_user_agents"); len(ua) > 0 {
		s.items = append(s.items, SummaryItem{Label: "Attacker's tools (user agents, most used first)",
			List: ua[:min(len(ua), 5)]})
	}
	derived := r.num("derived_keys")
	cred := fmt.Sprintf("%s derived from the leaked key (new access keys, temporary session keys, "+
		"keys of users it created)", plural(derived, "credential", "credentials"))
	if len(s.createdUsers) > 0 {
		cred += "; IAM users created: " + joinCapped(s.createdUsers, 12)
	}
	add("Credentials the attacker got", cred)
	if len(s.regions) > 0 {
		add("Regions used", fmt.Sprintf("%d: %s", len(s.regions), strings.Join(s.regions, ", ")))
	}
	ec2, ecs := r.num("ec2_instances"), r.num("ecs_tasks")
	ec2r, ecsr := r.list("ec2_regions"), r.list("ecs_regions")
	add("What was launched", fmt.Sprintf("%s in %s; %s in %s",
		plural(ec2, "EC2 instance", "EC2 instances"), plural(int64(len(ec2r)), "region", "regions"),
		plural(ecs, "ECS/Fargate task", "ECS/Fargate tasks"), plural(int64(len(ecsr)), "region", "regions")))
	s.data, s.dataNote = p.dataAccess()
	if len(s.data) > 0 {
		s.items = append(s.items, SummaryItem{Label: "Data read or changed", List: capList(s.data, 8)})
	} else {
		add("Data read or changed", s.dataNote)
	}
	s.exposed, s.exposedNote = p.exposure()
	if len(s.exposed) > 0 {
		s.items = append(s.items, SummaryItem{Label: "Made public or shared", List: capList(s.exposed, 8)})
	} else {
		add("Made public or shared", s.exposedNote)
	}
	s.brute, s.bruteNote = p.bruteForce()
	if len(s.brute) > 0 {
		s.items = append(s.items, SummaryItem{Label: "Permission brute-forcing", List: capList(s.brute, 3)})
	}
	s.leftRunning = p.leftRunning()
	add("Still there", s.leftRunning)
	s.quarantine = p.quarantine()
	add("AWS quarantine of the key", s.quarantine)
	add("API calls", fmt.Sprintf("%s by these credentials in this scope, %d of them failed",
		plural(r.num("events"), "call", "calls"), r.num("failed_events")))
	if len(owner) > 0 {
		s.notes = append(s.notes, "The leaked key is also its owner's. Its calls from "+joinCapped(owner, 8)+
			" (source IPs that used it on two or more days before it obtained its first new credential) are "+
			"taken as the owner's and left out of the attacker's first and last activity, IPs and tools above. "+
			"Every call is in the charts and tables below.")
	}
	return s
}

// nothingCreated is what an empty cleanup list means when the lineage created nothing.
const nothingCreated = "these credentials created nothing that the logs show (no instance, task, function, user, access key, password or role)"

// createdAnything reports whether the lineage created something left-running follows (the
// summary's created_resources); true when the summary does not say.
func (p *packer) createdAnything() bool {
	n, ok := number(row{res: p.results["summary"]}.get("created_resources"))
	return !ok || n > 0
}

// capList keeps at most n items and says how many more the files have.
func capList(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(slices.Clone(items[:n]), fmt.Sprintf("… and %d more (see the table)", len(items)-n))
}

// stolenKeys says, for each row of credential-misuse, which session key was used from where
// and whether it was stolen.
func (p *packer) stolenKeys() ([]string, string) {
	res, ok := p.results["credential-misuse"]
	if !ok {
		return nil, "not available: this build of trailhound has no query credential-misuse"
	}
	var out []string
	for i := range res.Values {
		r := row{res: res, i: i}
		keys := r.list("foreign_keys")
		what := "session key " + strings.Join(keys, ", ")
		if len(keys) > 1 {
			what = "session keys " + strings.Join(keys, ", ")
		}
		span := ""
		if a, ok := r.time("foreign_first"); ok {
			span = " from " + fmtTime(a)
			if b, ok := r.time("foreign_last"); ok && !b.Equal(a) {
				span += " to " + fmtTime(b)
			}
		}
		if r.text("verdict") == "stolen" {
			out = append(out, fmt.Sprintf("The %s issued to %s was used from %s%s: it was stolen. Why: %s.",
				what, r.text("issued_to"), r.text("foreign_origin"), span, r.text("why")))
		} else {
			out = append(out, fmt.Sprintf("The %s issued to %s was also used from %s%s; whether by its owner or by an attacker "+
				"is unknown: %s.", what, r.text("issued_to"), r.text("foreign_origin"), span, r.text("why")))
		}
	}
	return out, "no session key of these credentials was used from more than one origin"
}

// dataAccess says, per bucket, which objects the lineage read, wrote, deleted or listed (not
// the calls a workload made itself with its own session).
func (p *packer) dataAccess() ([]string, string) {
	res, ok := p.results["data-access"]
	if !ok {
		return nil, "not available: this build of trailhound has no query data-access"
	}
	type bucket struct {
		name  string
		parts []string
	}
	var buckets []*bucket
	own := 0
	for i := range res.Values {
		r := row{res: res, i: i}
		if b, _ := r.get("by_workload").(bool); b {
			own++
			continue
		}
		name := r.text("bucket")
		if len(buckets) == 0 || buckets[len(buckets)-1].name != name {
			buckets = append(buckets, &bucket{name: name})
		}
		b := buckets[len(buckets)-1]
		calls, failed := r.num("calls"), r.num("failed")
		verb := map[string][2]string{"read": {"read", "read"}, "written": {"wrote", "write"},
			"deleted": {"deleted", "delete"}, "listed": {"listed its objects", "list its objects"}}[r.text("action")]
		if verb[0] == "" {
			continue
		}
		var part string
		switch {
		case calls == 0:
			part = "tried to " + verb[1] + " (" + plural(failed, "call", "calls") + " failed)"
		case r.text("action") == "listed":
			part = verb[0]
		default:
			part = verb[0] + " " + plural(r.num("objects"), "object", "objects")
			if keys := r.list("object_keys"); len(keys) > 0 {
				part += " (" + joinCapped(keys, 4) + ")"
			}
			if failed > 0 {
				part += fmt.Sprintf(", %s failed", plural(failed, "call", "calls"))
			}
		}
		b.parts = append(b.parts, part)
	}
	var out []string
	for _, b := range buckets {
		out = append(out, "s3://"+b.name+": "+strings.Join(b.parts, "; "))
	}
	none := "no S3 object was read, written or deleted with these credentials in the logs (a trail records object " +
		"reads and writes only with S3 data events turned on)"
	if own > 0 {
		none = "none by anyone but the workloads themselves (their own calls with their own session keys are in the table)"
	}
	return out, none
}

// exposure lists what the lineage made public or shared with another account.
func (p *packer) exposure() ([]string, string) {
	res, ok := p.results["exposure"]
	if !ok {
		return nil, "not available: this build of trailhound has no query exposure"
	}
	var out []string
	for i := range res.Values {
		r := row{res: res, i: i}
		line := r.text("detail")
		if t, ok := r.time("event_time"); ok {
			line = fmtTime(t) + ": " + line
		}
		if e := r.text("error_code"); e != "" {
			line += " (tried; failed: " + e + ")"
		}
		out = append(out, line)
	}
	return out, "nothing: no public ACL or policy, public access block removed, or snapshot or image shared with these credentials"
}

// bruteForce describes the bursts of denied calls.
func (p *packer) bruteForce() ([]string, string) {
	res, ok := p.results["brute-force"]
	if !ok {
		return nil, "not available: this build of trailhound has no query brute-force"
	}
	var out []string
	for i := range res.Values {
		r := row{res: res, i: i}
		line := fmt.Sprintf("%s over %s in %s", plural(r.num("denied_calls"), "denied call", "denied calls"),
			plural(r.num("services"), "service", "services"), plural(r.num("seconds"), "second", "seconds"))
		if t, ok := r.time("first_seen"); ok {
			line += " from " + fmtTime(t)
		}
		line += " with key " + r.text("access_key_id")
		if ips := r.list("source_ips"); len(ips) > 0 {
			line += " from " + joinCapped(ips, 3)
		}
		line += ": permission brute-forcing (tools such as enumerate-iam find out what a key may do this way)"
		if a := r.list("allowed"); len(a) > 0 {
			line += "; allowed meanwhile: " + joinCapped(a, 8)
		}
		out = append(out, line)
	}
	return out, "no burst of denied calls over many services"
}

// leftRunning sums up the left-running table.
func (p *packer) leftRunning() string {
	res, ok := p.results["left-running"]
	if !ok {
		return "not available: this build of trailhound has no query left-running"
	}
	if res.Total == 0 {
		if !p.createdAnything() {
			return "nothing: " + nothingCreated
		}
		return "nothing: everything these credentials created was later stopped or deleted, as far as the logs show"
	}
	byType := map[string]int{}
	regions := map[string]bool{}
	for i := range res.Values {
		r := row{res: res, i: i}
		t := r.text("resource_type")
		if t == "" {
			t = "resource"
		}
		byType[t]++
		regions[r.text("region")] = true
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	slices.SortFunc(types, func(a, b string) int {
		if byType[a] != byType[b] {
			return byType[b] - byType[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = plural(int64(byType[t]), t, pluralNoun(t))
	}
	return fmt.Sprintf("%s in %s created by these credentials have no later stop, terminate or delete in the "+
		"logs (%s): check and remove them, see the table \"Still there\"",
		plural(int64(res.Total), "resource", "resources"), plural(int64(len(regions)), "region", "regions"),
		joinCapped(parts, 8))
}

// quarantine finds when AWS put its compromised-key policy on the key's user.
func (p *packer) quarantine() string {
	res, ok := p.results["aws-markers"]
	if !ok {
		return "not available: this build of trailhound has no query aws-markers"
	}
	for i := range res.Values {
		r := row{res: res, i: i}
		m := r.text("marker")
		lm := strings.ToLower(m + " " + r.text("event_name"))
		if !strings.Contains(lm, "quarantine") && !strings.Contains(lm, "exposedcredential") {
			continue
		}
		s := "AWS attached " + m
		if t := r.text("target"); t != "" {
			s += " to " + t
		}
		if t, ok := r.time("event_time"); ok {
			s += " on " + fmtTime(t)
		}
		return s
	}
	return "the logs show no quarantine policy from AWS on this key's user"
}
