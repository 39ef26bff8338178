package viz

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// "Do this now": what the victim must do, in order, each step from the store (the canned
// queries key-status, left-running, iam-changes, exposure and summary, already run for the
// pack) and each naming its evidence. The page puts it first and answers.md at its top.

// Action is one step of "Do this now", or one thing the logs show already done.
type Action struct {
	Text  string
	How   string   // how to do it, in the AWS console
	Code  string   // a policy to paste, shown as code
	Links []Link   // its evidence on the page
	Files []string // its evidence as files of the pack (answers.md names these)
}

// Link is a link to an element of the same page.
type Link struct {
	Text, Href string
}

// cleanupStep is how to remove one kind of resource left-running lists: the service and
// resource_type of its rows, in the order the steps go (what starts the others goes first: an
// Auto Scaling group starts instances, a service starts tasks, a cluster with tasks cannot be
// deleted), with the verb and the plain name the page uses.
type cleanupStep struct {
	service, kind string
	verb          string // Terminate, Delete...
	one, many     string // plain names, with the AWS name in brackets where it differs
	how           string
}

// cleanupSteps are the compute and other resources, in the order to remove them. IAM users,
// access keys, console passwords and roles (left-running's service iam) are steps of their own,
// before these. A kind not listed here is shown after them as "check and delete".
var cleanupSteps = []cleanupStep{
	{"autoscaling", "auto-scaling-group", "Delete", "Auto Scaling group", "Auto Scaling groups",
		"first: a group starts new instances when its instances stop (EC2 console: Auto Scaling groups, in each region named)."},
	{"ecs", "service", "Delete", "ECS service", "ECS services",
		"before the tasks: a service starts new tasks when they stop (ECS console: Clusters, the cluster, Services, in each region named)."},
	{"ecs", "task", "Stop", "container (ECS task)", "containers (ECS tasks)",
		"ECS console: Clusters, the cluster, Tasks, select them, Stop, in each region named."},
	{"ecs", "cluster", "Delete", "ECS cluster", "ECS clusters",
		"once their tasks are stopped: AWS refuses to delete a cluster that still has tasks (ECS console: Clusters, Delete cluster)."},
	{"ec2", "spot-instance-request", "Cancel", "Spot Instance request", "Spot Instance requests",
		"before the instances: an open request starts them again (EC2 console: Spot Requests, in each region named)."},
	{"ec2", "instance", "Terminate", "virtual machine (EC2 instance)", "virtual machines (EC2 instances)",
		"EC2 console: Instances, in each region named: select them, Instance state, Terminate instance."},
	{"lambda", "function", "Delete", "Lambda function", "Lambda functions", "Lambda console: Functions, in each region named."},
	{"ec2", "key-pair", "Delete", "EC2 key pair", "EC2 key pairs", "EC2 console: Key Pairs, in each region named."},
	{"ec2", "security-group", "Delete", "security group", "security groups",
		"after the instances that use them (EC2 console: Security Groups, in each region named)."},
}

// iamKinds are left-running's IAM resources, with their plain names.
var iamKinds = map[string][2]string{
	"user":          {"IAM user", "IAM users"},
	"access-key":    {"access key", "access keys"},
	"login-profile": {"console password (login profile)", "console passwords (login profiles)"},
	"role":          {"IAM role", "IAM roles"},
}

// stillGroup is one kind of resource left-running lists: how many, where, which.
type stillGroup struct {
	service, kind string
	one, many     string
	rows          []int          // rows of left-running
	ids           []string       // resource ids, in the table's order
	regions       []string       // sorted
	perRegion     map[string]int // rows per region
}

func (g *stillGroup) anchor() string { return "still-" + anchorSafe(g.service+"-"+g.kind) }

// anchorSafe keeps letters, digits and dashes (left-running's names are trailhound's own; this
// keeps an id an id whatever a future query returns).
func anchorSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// stillThere groups left-running's rows by service and resource type: the IAM kinds first,
// then the cleanup steps in order, then any other kind.
func stillThere(res *queries.Collected) []*stillGroup {
	if res == nil {
		return nil
	}
	by := map[string]*stillGroup{}
	var order []string
	for i := range res.Values {
		r := row{res: res, i: i}
		service, kind := r.text("service"), r.text("resource_type")
		k := service + " " + kind
		g := by[k]
		if g == nil {
			g = &stillGroup{service: service, kind: kind, perRegion: map[string]int{}}
			g.one, g.many = kind, pluralNoun(kind)
			if service == "iam" && iamKinds[kind][0] != "" {
				g.one, g.many = iamKinds[kind][0], iamKinds[kind][1]
			}
			for _, s := range cleanupSteps {
				if s.service == service && s.kind == kind {
					g.one, g.many = s.one, s.many
				}
			}
			by[k] = g
			order = append(order, k)
		}
		g.rows = append(g.rows, i)
		g.ids = append(g.ids, r.text("resource_id"))
		region := r.text("region")
		if g.perRegion[region] == 0 {
			g.regions = append(g.regions, region)
		}
		g.perRegion[region]++
	}
	rank := func(g *stillGroup) int {
		if g.service == "iam" {
			return slices.Index([]string{"user", "access-key", "login-profile", "role"}, g.kind)
		}
		for i, s := range cleanupSteps {
			if s.service == g.service && s.kind == g.kind {
				return 10 + i
			}
		}
		return 100
	}
	groups := make([]*stillGroup, 0, len(order))
	for _, k := range order {
		slices.Sort(by[k].regions)
		groups = append(groups, by[k])
	}
	slices.SortStableFunc(groups, func(a, b *stillGroup) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.service+" "+a.kind, b.service+" "+b.kind)
	})
	return groups
}

// where says in which regions a group is: "in ap-southeast-2", or "in 12 regions:
// ap-northeast-1 (60), ..." (the counts only when a region has more than one).
func (g *stillGroup) where() string {
	if len(g.regions) == 1 {
		if g.regions[0] == "global" {
			return ""
		}
		return " in " + short(g.regions[0])
	}
	counts := len(g.rows) > len(g.regions)
	parts := make([]string, len(g.regions))
	for i, r := range g.regions {
		parts[i] = short(r)
		if counts {
			parts[i] += " (" + strconv.Itoa(g.perRegion[r]) + ")"
		}
	}
	return fmt.Sprintf(" in %d regions: %s", len(g.regions), strings.Join(parts, ", "))
}

// idList lists a group's ids when there are at most maxIDs (as the CLI's demo does).
func (g *stillGroup) idList() string {
	if len(g.ids) > maxIDs {
		return ""
	}
	ids := make([]string, len(g.ids))
	for i, id := range g.ids {
		ids[i] = short(id)
	}
	return strings.Join(ids, ", ")
}

// maxIDs is how many ids a line lists; more are in the full table.
const maxIDs = 8

// short cuts one CloudTrail name (a region, an id) for a sentence: an attacker can make it
// 10 kB long; the tables and files have it whole.
func short(s string) string { return clip(s, 120) }

// stillTable is the "Still there" table at the top of the page: one row per kind, in the order
// to remove them.
func stillTable(groups []*stillGroup, total int) Table {
	t := Table{Name: "still-there", Query: "left-running", Title: "Still there: what the attacker made that the logs never show stopped or deleted",
		Description: "Grouped by kind, in the order to remove them. The full list, one row each with when it was made " +
			"and with which key, is the table \"Still there, one by one\" further down, and data/left-running.csv.",
		Available: true, Columns: []string{"what", "how many", "where", "which"}, Total: len(groups),
		Files: []string{"data/left-running.csv", "data/left-running.jsonl"}}
	for _, g := range groups {
		where := strings.TrimPrefix(g.where(), " in ")
		if where == "" {
			where = "global (IAM)"
		}
		which := g.idList()
		if which == "" {
			which = fmt.Sprintf("%d ids: see the full list", len(g.ids))
		}
		t.Rows = append(t.Rows, []Cell{{Text: g.many}, {Text: strconv.Itoa(len(g.rows)), Class: "num"}, {Text: where},
			{Text: which}})
		t.RowIDs = append(t.RowIDs, g.anchor())
	}
	if total == 0 {
		t.Empty = "nothing."
	}
	return t
}

// rowLink links to row i of a page table, or to the table when the page does not show it.
func rowLink(table string, i int, text string) Link {
	if i < pageRows {
		return Link{Text: text, Href: "#" + rowID(table, i)}
	}
	return Link{Text: text, Href: "#table-" + table}
}

// rowID is the id of row i (0-based) of a page table.
func rowID(table string, i int) string { return table + "-" + strconv.Itoa(i+1) }

// keyRow is a row of key-status.
type keyRow struct {
	row
	key, kind, via, identity, user, role, status string
}

func (p *packer) keyRows() []keyRow {
	res := p.results["key-status"]
	if res == nil {
		return nil
	}
	out := make([]keyRow, len(res.Values))
	for i := range res.Values {
		r := row{res: res, i: i}
		out[i] = keyRow{row: r, key: r.text("access_key_id"), kind: r.text("kind"), via: r.text("via"),
			identity: r.text("identity"), user: r.text("user_name"), role: r.text("role_name"), status: r.text("status")}
	}
	return out
}

// expiredReason groups the session keys that expired before the pack was made.
const expiredReason = "expired"

// sessionGroup is the session keys of one role or user that still work.
type sessionGroup struct {
	kind, name string // role, user, root or unknown
	keys       []keyRow
}

// doNow lists the steps and what the logs show already done.
func (p *packer) doNow() (steps, done []Action) {
	keys := p.keyRows()
	left := p.results["left-running"]
	groups := stillThere(left)
	group := func(service, kind string) *stillGroup {
		for _, g := range groups {
			if g.service == service && g.kind == kind {
				return g
			}
		}
		return nil
	}
	keyLinks := func(rows []keyRow, n int) []Link {
		var out []Link
		for i, k := range rows {
			if i == n {
				break
			}
			out = append(out, rowLink("key-status", k.i, "key status of "+short(k.key)))
		}
		return out
	}
	keyFiles := []string{"data/key-status.csv"}
	leftFiles := []string{"data/left-running.csv"}

	// 1. The leaked keys themselves.
	for _, k := range keys {
		if k.via != "seed" || k.kind != "access key" {
			continue
		}
		owner := "of IAM user " + short(k.user)
		console := "in the IAM console: Users, " + short(k.user) + ", Security credentials, Access keys, Actions"
		switch {
		case k.identity == "root":
			owner, console = "of the root user", "signed in as the root user: Security credentials, Access keys, Actions"
		case k.user == "":
			owner, console = "(the logs do not name its user)", "in the IAM console: find its user, Security credentials, Access keys, Actions"
		}
		links := []Link{rowLink("key-status", k.i, "key status of "+short(k.key))}
		switch k.get("key_state") {
		case "deleted":
			done = append(done, Action{Text: "The leaked access key " + short(k.key) + " was deleted" + when(k.row, "key_state_at") + ".",
				Links: links, Files: keyFiles})
			continue
		}
		if t, ok := k.time("user_deleted_at"); ok {
			done = append(done, Action{Text: "The leaked access key " + short(k.key) + " was deleted with its user " +
				short(k.user) + " on " + fmtTime(t) + ".", Links: links, Files: keyFiles})
			continue
		}
		if k.get("key_state") == "deactivated" {
			steps = append(steps, Action{
				Text: "Delete the leaked access key " + short(k.key) + " " + owner + ". The logs show it deactivated" +
					when(k.row, "key_state_at") + ", but a deactivated key can be made active again until it is deleted.",
				How:   "Check first that it is still Inactive, " + console + ", Delete; give whatever of yours used it a new key.",
				Links: links, Files: keyFiles})
			continue
		}
		steps = append(steps, Action{
			Text:  "Deactivate the leaked access key " + short(k.key) + " " + owner + " now.",
			How:   strings.ToUpper(console[:1]) + console[1:] + ", Deactivate. Then delete it, once whatever of yours used it has a new key.",
			Links: links, Files: keyFiles})
	}

	// 2. IAM users, keys, passwords and roles the attacker made and nobody deleted.
	userSet := map[string]bool{}
	var users []string
	if g := group("iam", "user"); g != nil {
		for _, id := range g.ids {
			if !userSet[id] {
				userSet[id] = true
				users = append(users, id)
			}
		}
	}
	keyUser := map[string]string{}
	for _, k := range keys {
		keyUser[k.key] = k.user
	}
	var theirKeys, otherKeys, otherPasswords []string
	if g := group("iam", "access-key"); g != nil {
		for _, id := range g.ids {
			if userSet[keyUser[id]] {
				theirKeys = append(theirKeys, short(id))
			} else if u := keyUser[id]; u != "" {
				otherKeys = append(otherKeys, short(id)+" (of user "+short(u)+")")
			} else {
				otherKeys = append(otherKeys, short(id))
			}
		}
	}
	passwords := 0
	if g := group("iam", "login-profile"); g != nil {
		for _, id := range g.ids {
			if userSet[id] {
				passwords++
			} else {
				otherPasswords = append(otherPasswords, short(id))
			}
		}
	}
	iamLinks := func(kind string, names ...string) []Link {
		var out []Link
		if g := group("iam", kind); g != nil {
			out = append(out, Link{Text: "Still there: " + g.many, Href: "#" + g.anchor()})
		}
		if iam := p.results["iam-changes"]; iam != nil && kind == "user" {
			for i := range iam.Values {
				r := row{res: iam, i: i}
				if r.text("event_name") == "CreateUser" && r.text("error_code") == "" && slices.Contains(names, r.text("target")) {
					out = append(out, rowLink("iam-changes", i, "CreateUser "+short(r.text("target"))))
				}
			}
		}
		return out
	}
	if len(users) > 0 {
		names := make([]string, len(users))
		for i, u := range users {
			names[i] = short(u)
		}
		text := "Delete the " + plural(int64(len(users)), "IAM user", "IAM users") + " the attacker made, " + andList(names)
		var with []string
		if len(theirKeys) > 0 {
			with = append(with, fmt.Sprintf("%s (%s)", plural(int64(len(theirKeys)), "access key", "access keys"), joinCapped(theirKeys, maxIDs)))
		}
		if passwords > 0 {
			with = append(with, plural(int64(passwords), "console password (login profile)", "console passwords (login profiles)"))
		}
		if len(with) > 0 {
			text += ", with " + pronoun(len(users)) + " " + andList(with)
		}
		steps = append(steps, Action{Text: text + ".",
			How: "IAM console: Users, tick them, Delete: the console removes a user's access keys, console password and policies " +
				"with it. Deleting a user also ends every session key and console session it holds: they lose its permissions.",
			Links: iamLinks("user", users...), Files: []string{"data/left-running.csv", "data/iam-changes.csv"}})
	}
	if len(otherKeys) > 0 {
		steps = append(steps, Action{Text: "Delete the access keys the attacker made for users it did not make: " + joinCapped(otherKeys, maxIDs) + ".",
			How:   "IAM console: Users, the user, Security credentials, Access keys, Actions: Deactivate, then Delete.",
			Links: iamLinks("access-key"), Files: leftFiles})
	}
	if len(otherPasswords) > 0 {
		steps = append(steps, Action{Text: "Remove the console passwords the attacker set for users it did not make: " +
			joinCapped(otherPasswords, maxIDs) + ".",
			How:   "IAM console: Users, the user, Security credentials, Console sign-in: disable console access (or set a new password).",
			Links: iamLinks("login-profile"), Files: leftFiles})
	}
	roleSet := map[string]bool{}
	if g := group("iam", "role"); g != nil {
		names := make([]string, len(g.ids))
		for i, id := range g.ids {
			roleSet[id] = true
			names[i] = short(id)
		}
		sessions := 0
		for _, k := range keys {
			if k.kind == "session key" && roleSet[k.role] {
				sessions++
			}
		}
		how := "IAM console: Roles, tick them, Delete."
		if sessions > 0 {
			how += fmt.Sprintf(" Deleting a role also ends the sessions opened in it (%s in the logs): they lose its permissions.",
				plural(int64(sessions), "session key", "session keys"))
		}
		steps = append(steps, Action{Text: "Delete the " + plural(int64(len(names)), "IAM role", "IAM roles") + " the attacker made: " +
			joinCapped(names, maxIDs) + ".", How: how, Links: iamLinks("role"), Files: leftFiles})
	}

	// 3. Session keys that still work: revoke them through what they act as.
	var live []*sessionGroup
	ended := map[string][]keyRow{}
	var endedOrder []string
	for _, k := range keys {
		if k.kind != "session key" {
			continue
		}
		var reason string
		switch {
		case strings.HasPrefix(k.status, "ended: its role"):
			reason = "role " + short(k.role) + " was deleted" + when(k.row, "role_deleted_at")
		case strings.HasPrefix(k.status, "ended: its user"):
			reason = "user " + short(k.user) + " was deleted" + when(k.row, "user_deleted_at")
		case strings.HasPrefix(k.status, "revoked"):
			reason = "the older sessions of " + who(k) + " were revoked" + when(k.row, "sessions_revoked_at")
		case k.identity == "role" && roleSet[k.role], (k.identity == "user" || k.identity == "federated") && userSet[k.user]:
			continue // ended by a step above
		}
		if reason == "" && p.expired(k) {
			reason = expiredReason
		}
		if reason != "" {
			if _, ok := ended[reason]; !ok {
				endedOrder = append(endedOrder, reason)
			}
			ended[reason] = append(ended[reason], k)
			continue
		}
		kind, name := k.identity, ""
		switch k.identity {
		case "role":
			name = k.role
		case "user", "federated":
			kind, name = "user", k.user
		case "root":
		default:
			kind = "unknown"
		}
		var g *sessionGroup
		for _, x := range live {
			if x.kind == kind && x.name == name {
				g = x
			}
		}
		if g == nil {
			g = &sessionGroup{kind: kind, name: name}
			live = append(live, g)
		}
		g.keys = append(g.keys, k)
	}
	for _, g := range live {
		ids := make([]string, len(g.keys))
		for i, k := range g.keys {
			ids[i] = short(k.key)
		}
		what := fmt.Sprintf("%s (%s)", plural(int64(len(g.keys)), "session key", "session keys"), joinCapped(ids, 4))
		if len(g.keys) == 1 {
			what = "session key " + ids[0]
		}
		until := p.until(g.keys)
		a := Action{Links: keyLinks(g.keys, 5), Files: keyFiles}
		switch g.kind {
		case "role":
			a.Text = "Revoke the sessions of role " + short(g.name) + ": " + what + " " + verb(len(g.keys), "keeps", "keep") +
				" working " + until + ", whatever happens to the keys that made " + pronounObj(len(g.keys)) + "."
			a.How = "Session keys (ASIA...) cannot be deactivated or deleted. In the IAM console: Roles, " + short(g.name) +
				", the Revoke sessions tab, Revoke active sessions. AWS then attaches to the role the inline policy " +
				"AWSRevokeOlderSessions, which denies every action to the sessions issued before that moment (the condition " +
				"aws:TokenIssueTime); sessions that start later are not affected."
		case "user":
			a.Text = "Deny the older sessions of IAM user " + short(g.name) + ": " + what + " made with its keys " +
				verb(len(g.keys), "keeps", "keep") + " working " + until + ", even after the access key that made " +
				pronounObj(len(g.keys)) + " is deactivated or deleted."
			a.How = "Session keys (ASIA...) cannot be deactivated or deleted, and IAM has no Revoke button for a user. In the IAM " +
				"console: Users, " + short(g.name) + ", Permissions, Add permissions, Create inline policy, JSON: paste this " +
				"policy with the time you add it (UTC) in place of the one shown. It denies every action to the temporary " +
				"credentials issued before that time and does not affect the user's access keys."
			a.Code = revokePolicy(p.o.RunAt)
		case "root":
			a.Text = "Session keys of the root user cannot be revoked: " + what + " " + verb(len(g.keys), "keeps", "keep") +
				" working " + until + "."
			a.How = "Deactivate and delete the root user's access keys, and change its password and MFA."
		default:
			a.Text = "Find what " + what + " " + verb(len(g.keys), "acts", "act") + " as (the logs do not say), and revoke " +
				"that role's sessions: " + pronoun(len(g.keys)) + " " + verb(len(g.keys), "keeps", "keep") + " working " + until + "."
			a.How = "Session keys (ASIA...) cannot be deactivated or deleted. In the IAM console: Roles, the role, the Revoke " +
				"sessions tab, Revoke active sessions."
		}
		steps = append(steps, a)
	}
	steps = append(steps, p.stolenSteps()...)
	for _, reason := range endedOrder {
		ks := ended[reason]
		ids := make([]string, len(ks))
		for i, k := range ks {
			ids[i] = short(k.key)
		}
		if reason == expiredReason {
			last, _ := lastExpiry(ks) // (every one has its expiry: that is how they expired)
			reason = verb(len(ks), "it expired on ", "they expired, the last on ") + fmtTime(last) + ", before this pack was made"
		}
		text := fmt.Sprintf("%s (%s) no longer work: %s.", plural(int64(len(ks)), "session key", "session keys"),
			joinCapped(ids, 4), reason)
		if len(ks) == 1 {
			text = "Session key " + ids[0] + " no longer works: " + reason + "."
		}
		done = append(done, Action{Text: text, Links: keyLinks(ks, 3), Files: keyFiles})
	}

	// 4. Users the attacker made that were deleted.
	var gone []string
	for _, u := range (row{res: p.results["summary"]}).list("created_users") {
		if !userSet[u] {
			gone = append(gone, short(u))
		}
	}
	if len(gone) > 0 && left != nil {
		done = append(done, Action{Text: "The " + plural(int64(len(gone)), "IAM user", "IAM users") + " the attacker made, " +
			andList(gone) + ", " + verb(len(gone), "was", "were") + " deleted, as the logs show: check in IAM that " +
			verb(len(gone), "it is", "they are") + " gone.", Links: iamLinks("user", gone...), Files: []string{"data/iam-changes.csv"}})
	}

	if q := p.quarantine(); strings.HasPrefix(q, "AWS attached ") {
		done = append(done, Action{Text: q + ": it denies the riskiest actions to that user; leave it in place until AWS Support says otherwise.",
			Links: []Link{{Text: "what AWS itself did", Href: "#table-aws-markers"}}, Files: []string{"data/aws-markers.csv"}})
	}

	// 5. Changes to users, roles and groups the attacker did not make.
	if a, ok := p.policyChanges(); ok {
		steps = append(steps, a)
	}

	// 6. What was made public or shared.
	if res := p.results["exposure"]; res != nil {
		var what []string
		var links []Link
		for i := range res.Values {
			r := row{res: res, i: i}
			if r.text("error_code") != "" {
				continue
			}
			what = append(what, short(r.text("detail")))
			if len(links) < 5 {
				links = append(links, rowLink("exposure", i, "exposure row "+strconv.Itoa(i+1)))
			}
		}
		if len(what) > 0 {
			steps = append(steps, Action{Text: "Undo what the attacker made public or shared: " + joinSemi(what, 4) + ".",
				How: "Restore each bucket's ACL, bucket policy and Block Public Access settings (S3 console: the bucket, " +
					"Permissions); remove the accounts a snapshot or image was shared with (EC2 console: the snapshot or AMI, " +
					"Actions, Modify permissions).", Links: links, Files: []string{"data/exposure.csv"}})
		}
	}

	// 7. Compute and the rest, in the order to remove them.
	for _, g := range groups {
		if g.service == "iam" {
			continue
		}
		verbText, how := "Check and delete", "The full list has each one's id and region."
		for _, s := range cleanupSteps {
			if s.service == g.service && s.kind == g.kind {
				verbText, how = s.verb, s.how
			}
		}
		text := verbText + " " + plural(int64(len(g.rows)), g.one, g.many) + g.where()
		if ids := g.idList(); ids != "" {
			text += ": " + ids
		}
		steps = append(steps, Action{Text: text + ".", How: strings.ToUpper(how[:1]) + how[1:],
			Links: []Link{{Text: "Still there: " + g.many, Href: "#" + g.anchor()}, {Text: "the full list", Href: "#table-left-running"}},
			Files: leftFiles})
	}
	if left != nil {
		if a, ok := p.cleanedUp(groups); ok {
			done = append(done, a)
		}
	}
	if len(steps) > 0 || len(done) > 0 {
		steps = append(steps, Action{
			Text: "Then open a case with AWS Support (Support Center: Create case; Account and billing for the charges), and " +
				"answer their questions with answers.md from this folder; keep the whole folder as the evidence.",
			Files: []string{"answers.md"}})
	}
	return steps, done
}

// cleanedUp says what of the compute the lineage started the logs show stopped or terminated:
// the machines and containers the summary counts, less those left-running still lists.
func (p *packer) cleanedUp(groups []*stillGroup) (Action, bool) {
	sum := row{res: p.results["summary"]}
	still := func(service, kind string) int64 {
		for _, g := range groups {
			if g.service == service && g.kind == kind {
				return int64(len(g.rows))
			}
		}
		return 0
	}
	var parts []string
	for _, c := range []struct {
		col, service, kind, one, many, gone string
	}{
		{"ec2_instances", "ec2", "instance", "virtual machine (EC2 instance)", "virtual machines (EC2 instances)", "terminated or stopped"},
		{"ecs_tasks", "ecs", "task", "container (ECS task)", "containers (ECS tasks)", "stopped"},
	} {
		made := sum.num(c.col)
		if gone := made - still(c.service, c.kind); gone > 0 {
			parts = append(parts, fmt.Sprintf("%d of the %s %s", gone, plural(made, c.one, c.many), c.gone))
		}
	}
	if len(parts) == 0 {
		return Action{}, false
	}
	return Action{Text: "The logs show " + andList(parts) + " later.",
		Links: []Link{{Text: "what was started", Href: "#table-compute-launches"}},
		Files: []string{"data/compute-launches.csv", "data/left-running.csv"}}, true
}

// stolenSteps: for each workload whose session key was stolen (credential-misuse), find how,
// and close that hole: the workload gets new keys by itself, and they can be taken the same way.
func (p *packer) stolenSteps() []Action {
	res := p.results["credential-misuse"]
	if res == nil {
		return nil
	}
	var out []Action
	seen := map[string]bool{}
	for i := range res.Values {
		r := row{res: res, i: i}
		who := r.text("issued_to")
		if r.text("verdict") != "stolen" || seen[who] {
			continue
		}
		seen[who] = true
		how := "Where a workload keeps its session key: a Lambda function's environment (its code, its dependencies, " +
			"anything it echoes in errors or logs); an EC2 instance's metadata service (anything on the instance that fetches " +
			"a URL for someone else: require IMDSv2); an ECS task's credentials endpoint."
		out = append(out, Action{
			Text: "Find how the session key of " + short(who) + " was stolen, and close that hole: the workload gets new " +
				"session keys by itself, and the attacker can take them again the same way.",
			How: how, Links: []Link{rowLink("credential-misuse", i, "stolen temporary keys, row "+strconv.Itoa(i+1))},
			Files: []string{"data/credential-misuse.csv"}})
	}
	return out
}

// policyChanges is the step that checks what the attacker changed on users, roles and groups
// it did not make (iam-changes); AWS's own quarantine is not the attacker's.
func (p *packer) policyChanges() (Action, bool) {
	iam := p.results["iam-changes"]
	if iam == nil {
		return Action{}, false
	}
	made := map[string]bool{}
	for i := range iam.Values {
		r := row{res: iam, i: i}
		if slices.Contains([]string{"CreateUser", "CreateRole", "CreateGroup"}, r.text("event_name")) && r.text("error_code") == "" {
			made[r.text("target")] = true
		}
	}
	changes := []string{"AttachUserPolicy", "PutUserPolicy", "AttachRolePolicy", "PutRolePolicy", "AttachGroupPolicy",
		"PutGroupPolicy", "AddUserToGroup", "UpdateAssumeRolePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion",
		"PutUserPermissionsBoundary", "PutRolePermissionsBoundary", "UpdateLoginProfile"}
	var what []string
	var links []Link
	for i := range iam.Values {
		r := row{res: iam, i: i}
		if !slices.Contains(changes, r.text("event_name")) || r.text("error_code") != "" || made[r.text("target")] ||
			strings.Contains(r.text("detail"), "(applied by AWS, not the attacker)") {
			continue
		}
		line := r.text("event_name") + " on " + short(r.text("target"))
		if d := r.text("detail"); d != "" {
			line += " (" + clip(d, 120) + ")"
		}
		what = append(what, line)
		if len(links) < 5 {
			links = append(links, rowLink("iam-changes", i, r.text("event_name")+" "+short(r.text("target"))))
		}
	}
	if len(what) == 0 {
		return Action{}, false
	}
	return Action{Text: "Check, and undo unless you did it yourself, what the attacker changed on users, roles and groups it " +
		"did not make: " + joinSemi(what, 4) + ".",
		How:   "IAM console: the user, role or group, Permissions (and Trust relationships for a role).",
		Links: links, Files: []string{"data/iam-changes.csv"}}, true
}

// expired reports whether a session key expired before the pack was made.
func (p *packer) expired(k keyRow) bool {
	t, ok := k.time("expires_at")
	return ok && !p.o.RunAt.IsZero() && t.Before(p.o.RunAt)
}

// until says until when session keys work: the last expiry the logs give, or that they do not.
func (p *packer) until(ks []keyRow) string {
	last, ok := lastExpiry(ks)
	if !ok {
		return verb(len(ks), "until it expires", "until they expire") +
			" (the logs do not say when: at most 36 hours after " + verb(len(ks), "it was", "they were") + " made)"
	}
	if len(ks) == 1 {
		return "until it expires on " + fmtTime(last)
	}
	return "until they expire, the last on " + fmtTime(last)
}

// lastExpiry is when the last of the session keys expires; false when the logs do not say for one.
func lastExpiry(ks []keyRow) (time.Time, bool) {
	var last time.Time
	for _, k := range ks {
		t, ok := k.time("expires_at")
		if !ok {
			return time.Time{}, false
		}
		if t.After(last) {
			last = t
		}
	}
	return last, len(ks) > 0
}

// revokePolicy is the inline policy that denies the temporary credentials issued before t (the
// IAM User Guide's "Denying access to temporary security credentials issued before a specific
// time").
func revokePolicy(t time.Time) string {
	at := "2026-01-01T00:00:00Z"
	if !t.IsZero() {
		at = t.UTC().Format(time.RFC3339)
	}
	return `{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",` + "\n" +
		`  "Condition": {"DateLessThan": {"aws:TokenIssueTime": "` + at + `"}}}}`
}

// when formats a time column as " on TIME", or "" when the row has none.
func when(r row, col string) string {
	if t, ok := r.time(col); ok {
		return " on " + fmtTime(t)
	}
	return ""
}

func who(k keyRow) string {
	if k.identity == "role" {
		return "role " + short(k.role)
	}
	return "user " + short(k.user)
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func pronoun(n int) string { return verb(n, "its", "their") }

func pronounObj(n int) string { return verb(n, "it", "them") }

// joinSemi lists at most n items that may hold commas, then says how many more there are.
func joinSemi(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
}

// andList joins items as English does: "a", "a and b", "a, b and c".
func andList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
