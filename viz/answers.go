package viz

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/trailhound/trailhound/queries"
)

// md escapes data for answers.md: every character Markdown would interpret is escaped.
func md(s string) string { return queries.MarkdownText(s) }

// maxItems caps each list in answers.md; the files have every row.
const maxItems = 40

// writeAnswers writes answers.md: AWS Support's checklist for a compromised key, point by point,
// with the evidence for each answer.
func (p *packer) writeAnswers(s summary, steps, done []Action) error {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	keys := make([]string, len(p.o.Params.Keys))
	for i, k := range p.o.Params.Keys {
		keys[i] = md(k)
	}
	w("# Answers for AWS Support: compromised access key %s\n\n", strings.Join(keys, ", "))
	if len(s.accounts) > 0 {
		w("Account: %s. ", md(strings.Join(s.accounts, ", ")))
	}
	w("%s %s\n\n", md(scopeText(p.o.Params)), md(p.madeBy()))
	writeDoNow(w, steps, done)
	if !s.first.IsZero() {
		w("The attacker's first activity in the logs: %s; the last: %s.\n\n", fmtTime(s.first), fmtTime(s.last))
	}
	w("Each answer names its evidence: files of this pack (data/NAME.csv, with the same rows in data/NAME.jsonl; " +
		"the CloudTrail records themselves in data/lineage-events.jsonl). manifest.json gives the SHA-256 of every " +
		"file and of every CloudTrail file the analysis was made from. Secrets are redacted; see manifest.json.\n\n")
	p.answerConflicts(w)

	iam := p.results["iam-changes"]
	iamRows := func(names ...string) ([]string, bool) {
		if iam == nil {
			return nil, false
		}
		var out []string
		for i := range iam.Values {
			r := row{res: iam, i: i}
			if !slices.Contains(names, r.text("event_name")) || r.text("error_code") != "" {
				continue
			}
			line := r.text("event_time") + " " + r.text("event_name")
			if t := r.text("target"); t != "" {
				line += ": " + t
			}
			if d := r.text("detail"); d != "" {
				line += " (" + clip(d, 200) + ")"
			}
			if k := r.text("access_key_id"); k != "" {
				line += ", with key " + k
			}
			out = append(out, line)
		}
		return out, true
	}
	list := func(items []string) {
		for i, it := range items {
			if i == maxItems {
				w("- … and %d more (see the file)\n", len(items)-maxItems)
				break
			}
			w("- %s\n", md(it))
		}
		w("\n")
	}
	section := func(title, question string, names []string, none, evidence string) {
		w("## %s\n\n%s\n\n", title, question)
		rows, ok := iamRows(names...)
		switch {
		case !ok:
			w("**Answer:** not available: this build of trailhound has no query iam-changes.\n\n")
		case len(rows) == 0:
			w("**Answer:** %s\n\n", none)
		default:
			w("**Answer:** %s found in the logs:\n\n", plural(int64(len(rows)), "change", "changes"))
			list(rows)
		}
		w("Evidence: %s\n\n", evidence)
	}

	section("1. Unauthorized IAM users", "Did anyone create IAM users?", []string{"CreateUser"},
		"no IAM user was created with these credentials.", "data/iam-changes.csv, rows with event_name CreateUser.")

	w("## 2. Access keys\n\nWhich access keys were used or created without authorization?\n\n")
	w("**Answer:** the leaked key %s, and every key derived from it:\n\n", md(strings.Join(p.o.Params.Keys, ", ")))
	if lin, ok := p.results["lineage"]; ok {
		var items []string
		for i := range lin.Values {
			r := row{res: lin, i: i}
			it := r.text("access_key_id")
			if it == "" {
				it = "(no key of its own)"
			}
			if v := r.text("via"); v != "" {
				it += " via " + v
			}
			if par := r.text("parent_access_key_id"); par != "" {
				it += " from " + par
			}
			if c := r.text("created_at"); c != "" {
				it += " at " + c
			}
			if pr := r.text("principal"); pr != "" {
				it += " (" + pr + ")"
			}
			if n := r.text("note"); n != "" {
				it += "; " + n
			}
			items = append(items, it)
		}
		list(items)
	} else {
		w("not available: this build of trailhound has no query lineage.\n\n")
	}
	if rows, ok := iamRows("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"); ok && len(rows) > 0 {
		w("Access key changes in IAM:\n\n")
		list(rows)
	}
	w("Evidence: data/lineage.csv; data/key-usage.csv (how each key was used); data/iam-changes.csv, rows with " +
		"event_name CreateAccessKey. Delete every key above, and rotate the leaked one.\n\n")

	section("3. Login profiles (console passwords)", "Did anyone give IAM users a console password?",
		[]string{"CreateLoginProfile", "UpdateLoginProfile", "ChangePassword"},
		"no login profile was created or changed with these credentials.",
		"data/iam-changes.csv, rows with event_name CreateLoginProfile or UpdateLoginProfile.")
	section("4. Policies", "Were policies attached, written or changed?",
		[]string{"AttachUserPolicy", "PutUserPolicy", "AttachGroupPolicy", "PutGroupPolicy", "AttachRolePolicy",
			"PutRolePolicy", "CreatePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion", "AddUserToGroup"},
		"no policy was attached or changed with these credentials.",
		"data/iam-changes.csv, rows with event_name Attach*Policy, Put*Policy, CreatePolicy*, AddUserToGroup.")
	section("5. Roles", "Were IAM roles created, or their trust policies changed?",
		[]string{"CreateRole", "UpdateAssumeRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile"},
		"no role was created or changed with these credentials.",
		"data/iam-changes.csv, rows with event_name CreateRole or UpdateAssumeRolePolicy.")

	w("## 6. Temporary credentials\n\nWere temporary credentials (session keys) obtained? They stay valid until they " +
		"expire, even after the key that made them is deleted.\n\n")
	if lin, ok := p.results["lineage"]; ok {
		var items []string
		for i := range lin.Values {
			r := row{res: lin, i: i}
			k := r.text("access_key_id")
			if !strings.HasPrefix(k, "ASIA") {
				continue
			}
			it := k + " via " + r.text("via")
			if c := r.text("created_at"); c != "" {
				it += " at " + c
			}
			items = append(items, it)
		}
		if len(items) == 0 {
			w("**Answer:** no temporary credential was obtained with these credentials.\n\n")
		} else {
			w("**Answer:** %s:\n\n", plural(int64(len(items)), "temporary credential", "temporary credentials"))
			list(items)
		}
	} else {
		w("**Answer:** not available: this build of trailhound has no query lineage.\n\n")
	}
	w("Evidence: data/lineage.csv, rows whose access_key_id begins with ASIA; data/key-usage.csv.\n\n")

	p.answerRegions(w, s)

	answer := func(title, question string, items []string, none, evidence string) {
		w("## %s\n\n%s\n\n", title, question)
		if len(items) == 0 {
			w("**Answer:** %s.\n\n", md(none))
		} else {
			w("**Answer:**\n\n")
			list(items)
		}
		w("Evidence: %s\n\n", evidence)
	}
	answer("8. Stolen credentials", "Were session keys used from somewhere other than the workload or person they were "+
		"issued to?", s.stolen, s.stolenNote, "data/credential-misuse.csv (each foreign address with the event ids of its "+
		"calls, and the AssumeRole that issued the key); data/key-usage.csv.")
	answer("9. Data read or changed", "Which S3 objects did these credentials read, write or delete?", s.data, s.dataNote,
		"data/data-access.csv (per bucket and action, with the object keys and bytes); data/timeline.csv, one line per call.")
	answer("10. Resources made public or shared", "Was anything made public, or shared with another AWS account?",
		s.exposed, s.exposedNote, "data/exposure.csv. Undo each: restore the bucket's ACL, policy and public access block, "+
			"remove the snapshot's or image's permissions.")
	answer("11. Permission brute-forcing", "Did anyone probe what these credentials may do?", s.brute, s.bruteNote,
		"data/brute-force.csv (a burst is 10 or more denied calls over 5 or more services, at most 60 seconds apart); "+
			"data/errors.csv.")

	w("## 12. AWS's own actions\n\n**Answer:** %s.\n\nEvidence: data/aws-markers.csv.\n\n", md(s.quarantine))
	p.answerSections(w, list)
	f, err := p.create("answers.md")
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.abort()
		return fmt.Errorf("evidence pack: answers.md: %w", err)
	}
	return f.close()
}

// answerConflicts says, when the store holds records that share an eventID with different
// content, that each was kept, and why it matters.
func (p *packer) answerConflicts(w func(string, ...any)) {
	n := int64(p.counts["conflicts"])
	res := p.results["conflicts"]
	if n == 0 || res == nil {
		return
	}
	ids := ""
	if int64(len(res.Values)) == n {
		seen := map[string]bool{}
		for i := range res.Values {
			seen[row{res: res, i: i}.text("event_id")] = true
		}
		ids = " under " + plural(int64(len(seen)), "eventID", "eventIDs")
	}
	w("**Records that share an eventID:** the logs hold %s%s with different content (another time, identity or address). "+
		"CloudTrail gives every event its own eventID, so such records were altered, forged or mangled by an export; "+
		"none was merged or dropped: each is kept, and counted, as an event of its own. Evidence: data/conflicts.csv "+
		"(each record's time, identity, address and source file).\n\n", plural(n, "record", "records"), ids)
}

// answerRegions answers "usage in every region": per region, what was launched and what is left.
func (p *packer) answerRegions(w func(string, ...any), s summary) {
	w("## 7. Usage in every region\n\nWhat did the attacker do in each region, and what is still there?\n\n")
	type counts struct{ launched, failed, left int64 }
	per := map[string]*counts{}
	at := func(r string) *counts {
		if per[r] == nil {
			per[r] = &counts{}
		}
		return per[r]
	}
	for _, r := range s.regions {
		at(r)
	}
	comp, haveComp := p.results["compute-launches"]
	if haveComp {
		for i := range comp.Values {
			r := row{res: comp, i: i}
			c := at(r.text("region"))
			c.launched += r.num("launched")
			c.failed += r.num("failed")
		}
	}
	left, haveLeft := p.results["left-running"]
	if haveLeft {
		for i := range left.Values {
			at(row{res: left, i: i}.text("region")).left++
		}
	}
	regions := make([]string, 0, len(per))
	for r := range per {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	if len(regions) == 0 {
		w("**Answer:** no activity of these credentials in any region.\n\n")
	} else {
		w("**Answer:** the attacker's calls reached %s.\n\n", plural(int64(len(s.regions)), "region", "regions"))
		na := func(ok bool, v int64) string {
			if !ok {
				return "n/a"
			}
			return fmt.Sprint(v)
		}
		w("| region | launched | failed launches | still there |\n| --- | ---: | ---: | ---: |\n")
		for _, r := range regions {
			c := per[r]
			w("| %s | %s | %s | %s |\n", md(r), na(haveComp, c.launched), na(haveComp, c.failed), na(haveLeft, c.left))
		}
		w("\n")
	}
	w("Still there: %s.\n\n", md(s.leftRunning))
	w("Evidence: data/compute-launches.csv (launches per hour and region), data/left-running.csv (the cleanup " +
		"list), data/regions.csv, data/coverage.csv (hours with no events in a region: holes in the logs).\n\n")
}

// writeDoNow writes "Do this now" as the page has it, each step naming its evidence as files.
func writeDoNow(w func(string, ...any), steps, done []Action) {
	if len(steps) == 0 && len(done) == 0 {
		return
	}
	w("## Do this now\n\n")
	if len(steps) == 0 {
		w("The logs show nothing left to do.\n\n")
	}
	for i, a := range steps {
		w("%d. %s", i+1, md(a.Text))
		if a.How != "" {
			w(" %s", md(a.How))
		}
		if len(a.Files) > 0 {
			w(" Evidence: %s.", md(strings.Join(a.Files, ", ")))
		}
		w("\n")
		if a.Code != "" {
			w("\n")
			for _, line := range strings.Split(a.Code, "\n") {
				w("        %s\n", line) // a code block inside the list item
			}
			w("\n")
		}
	}
	w("\n")
	if len(done) > 0 {
		w("Already done, as the logs show (check each in the AWS console):\n\n")
		for _, a := range done {
			w("- %s", md(a.Text))
			if len(a.Files) > 0 {
				w(" Evidence: %s.", md(strings.Join(a.Files, ", ")))
			}
			w("\n")
		}
		w("\n")
	}
}
