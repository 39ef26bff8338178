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

// leftRunning sums up the left-running table.
func (p *packer) leftRunning() string {
	res, ok := p.results["left-running"]
	if !ok {
		return "not available: this build of trailhound has no query left-running"
	}
	if res.Total == 0 {
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
