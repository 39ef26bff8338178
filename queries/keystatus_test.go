package queries_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailhound/trailhound/queries"
)

// TestKeyStatusIncident: on the generated incident, the leaked key is deactivated when the
// owner deactivated it, the keys of the attacker's users are deleted, the role's sessions ended
// with the role, and the session token the leaked key minted still works until it expires:
// deactivating the key that made it does not end it.
func TestKeyStatusIncident(t *testing.T) {
	inc := generatedIncident(t)
	m := inc.m
	st := openRO(t, inc.db)
	rows := rowsOf(t, st.DB, "key-status", queries.Params{Keys: []string{m.LeakedKey}})
	by := map[string]map[string]any{}
	for _, r := range rows {
		by[str(r["access_key_id"])] = r
	}
	seed := by[m.LeakedKey]
	if seed == nil || str(seed["key_state"]) != "deactivated" || !seed["key_state_at"].(time.Time).Equal(m.KeyDeactivated) ||
		str(seed["user_name"]) != m.LeakedKeyUser {
		t.Errorf("the leaked key: %v, want deactivated at %s", seed, m.KeyDeactivated)
	}
	sessions, ended := 0, 0
	for _, k := range m.DerivedKeys {
		r := by[k]
		if r == nil {
			t.Errorf("derived key %s has no row", k)
			continue
		}
		switch {
		case strings.HasPrefix(k, "AKIA"):
			if str(r["status"]) != "deleted" {
				t.Errorf("created key %s: %v, want deleted (the owner deleted it)", k, r)
			}
		case str(r["via"]) == "AssumeRole":
			ended++
			if str(r["status"]) != "ended: its role was deleted" || r["expires_at"] == nil {
				t.Errorf("role session %s: %v", k, r)
			}
		case str(r["via"]) == "GetSessionToken":
			sessions++
			exp, ok := r["expires_at"].(time.Time)
			if str(r["status"]) != "works until it expires, unless revoked" || !ok || !exp.After(r["created_at"].(time.Time)) {
				t.Errorf("session token %s: %v", k, r)
			}
		}
	}
	if sessions == 0 || ended == 0 {
		t.Errorf("%d session tokens, %d role sessions: the test proves nothing", sessions, ended)
	}
}

// TestKeyStatusCases: a key made active again is active; the console's Revoke active sessions
// (AWSRevokeOlderSessions) revokes a role's older sessions but not a later one; both spellings of
// an STS expiration are read; a deletion at the same second as a deactivation wins.
func TestKeyStatusCases(t *testing.T) {
	dir := t.TempDir()
	const account = "111122223333"
	n := 0
	ev := func(at, key, arn, source, name, params, resp string) string {
		n++
		typ := "IAMUser"
		if strings.Contains(arn, "assumed-role") {
			typ = "AssumedRole"
		}
		return `{"eventVersion":"1.08","userIdentity":{"type":"` + typ + `","arn":"` + arn + `","accountId":"` + account +
			`","accessKeyId":"` + key + `","userName":"alice"},"eventTime":"` + at + `","eventSource":"` + source +
			`","eventName":"` + name + `","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1","userAgent":"aws-cli/2",` +
			`"requestParameters":` + params + `,"responseElements":` + resp + `,"eventID":"00000000-0000-4000-8000-` +
			strings.Repeat("0", 11) + string(rune('a'+n)) + `","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"` + account + `"}`
	}
	alice := "arn:aws:iam::" + account + ":user/alice"
	admin := "arn:aws:iam::" + account + ":user/admin"
	role := func(s string) string { return "arn:aws:sts::" + account + ":assumed-role/deploy/" + s }
	assume := func(at, session, key, exp string) string {
		return ev(at, "AKIASEED000000000001", alice, "sts.amazonaws.com", "AssumeRole",
			`{"roleArn":"arn:aws:iam::`+account+`:role/deploy","roleSessionName":"`+session+`"}`,
			`{"credentials":{"accessKeyId":"`+key+`","expiration":"`+exp+`","sessionToken":"x"},"assumedRoleUser":{"arn":"`+role(session)+`"}}`)
	}
	lines := []string{
		ev("2026-01-02T10:00:00Z", "AKIASEED000000000001", alice, "iam.amazonaws.com", "CreateAccessKey", `{"userName":"alice"}`,
			`{"accessKey":{"accessKeyId":"AKIANEW0000000000002","userName":"alice"}}`),
		ev("2026-01-02T10:01:00Z", "AKIANEW0000000000002", alice, "sts.amazonaws.com", "GetCallerIdentity", `null`, `null`),
		assume("2026-01-02T10:02:00Z", "s1", "ASIAOLD0000000000001", "Jan 2, 2026 11:02:00 AM"),
		ev("2026-01-02T10:03:00Z", "ASIAOLD0000000000001", role("s1"), "s3.amazonaws.com", "ListBuckets", `null`, `null`),
		// the owner deactivates the new key and makes it active again; deactivates and deletes the seed in one second
		ev("2026-01-02T11:00:00Z", "AKIAADMIN00000000009", admin, "iam.amazonaws.com", "UpdateAccessKey",
			`{"userName":"alice","accessKeyId":"AKIANEW0000000000002","status":"Inactive"}`, `null`),
		ev("2026-01-02T11:05:00Z", "AKIAADMIN00000000009", admin, "iam.amazonaws.com", "UpdateAccessKey",
			`{"userName":"alice","accessKeyId":"AKIANEW0000000000002","status":"Active"}`, `null`),
		ev("2026-01-02T11:06:00Z", "AKIAADMIN00000000009", admin, "iam.amazonaws.com", "DeleteAccessKey",
			`{"userName":"alice","accessKeyId":"AKIASEED000000000001"}`, `null`),
		ev("2026-01-02T11:06:00Z", "AKIAADMIN00000000009", admin, "iam.amazonaws.com", "UpdateAccessKey",
			`{"userName":"alice","accessKeyId":"AKIASEED000000000001","status":"Inactive"}`, `null`),
		// the console's Revoke active sessions on the role, then a new session
		ev("2026-01-02T11:10:00Z", "AKIAADMIN00000000009", admin, "iam.amazonaws.com", "PutRolePolicy",
			`{"roleName":"deploy","policyName":"AWSRevokeOlderSessions","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":[\"*\"],\"Resource\":[\"*\"],\"Condition\":{\"DateLessThan\":{\"aws:TokenIssueTime\":\"2026-01-02T11:10:00Z\"}}}]}"}`,
			`null`),
		ev("2026-01-02T11:20:00Z", "AKIASEED000000000001", alice, "sts.amazonaws.com", "AssumeRole",
			`{"roleArn":"arn:aws:iam::`+account+`:role/deploy","roleSessionName":"s2"}`,
			`{"credentials":{"accessKeyId":"ASIANEW0000000000002","expiration":"Jan 2, 2026, 12:20:00 PM","sessionToken":"x"},"assumedRoleUser":{"arn":"`+role("s2")+`"}}`),
	}
	if err := os.WriteFile(filepath.Join(dir, "k.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "k.duckdb")
	ingestPaths(t, db, dir)
	st := openRO(t, db)
	got := map[string]string{}
	exp := map[string]string{}
	for _, r := range rowsOf(t, st.DB, "key-status", queries.Params{Keys: []string{"AKIASEED000000000001"}}) {
		got[str(r["access_key_id"])] = str(r["status"])
		if e, ok := r["expires_at"].(time.Time); ok {
			exp[str(r["access_key_id"])] = e.UTC().Format(time.RFC3339)
		}
	}
	want := map[string]string{
		"AKIASEED000000000001": "deleted",
		"AKIANEW0000000000002": "active, as far as the logs show",
		"ASIAOLD0000000000001": "revoked: its role's older sessions are denied",
		"ASIANEW0000000000002": "works until it expires, unless revoked",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: status %q, want %q", k, got[k], w)
		}
	}
	if exp["ASIAOLD0000000000001"] != "2026-01-02T11:02:00Z" || exp["ASIANEW0000000000002"] != "2026-01-02T12:20:00Z" {
		t.Errorf("expirations %v", exp)
	}
}
