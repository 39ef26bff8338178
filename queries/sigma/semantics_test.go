package sigma

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// semCase is one semantics case: a rule's detection (or a whole correlation file) and
// records; want are the indexes of the records the rule must flag. Both the compiled SQL
// and the reference evaluator must give exactly want.
type semCase struct {
	name      string
	detection string   // the detection section's body (indented by 4), or "" with file
	file      string   // a whole rule file (correlations)
	records   []string // JSON objects; each gets eventID, eventTime (from "t" if given) and eventVersion
	want      []int
}

var semCases = []semCase{
	{name: "plain value: whole text, case-insensitive",
		detection: "sel:\n        eventName: DeleteBucket\n    condition: sel",
		records:   []string{`{"eventName":"DeleteBucket"}`, `{"eventName":"deletebucket"}`, `{"eventName":"DeleteBucketX"}`, `{"eventName":"xDeleteBucket"}`, `{}`},
		want:      []int{0, 1}},
	{name: "unicode case: Kelvin sign lower-cases to k",
		detection: "sel:\n        userAgent: 'kelvin'\n    condition: sel",
		records:   []string{"{\"userAgent\":\"\u212Aelvin\"}", `{"userAgent":"KELVIN"}`, `{"userAgent":"kelvinx"}`},
		want:      []int{0, 1}},
	{name: "wildcard *",
		detection: "sel:\n        userAgent: 'aws-cli/*'\n    condition: sel",
		records:   []string{`{"userAgent":"aws-cli/2.1"}`, `{"userAgent":"AWS-CLI/"}`, `{"userAgent":"boto aws-cli/2"}`, `{"userAgent":"aws-cli"}`},
		want:      []int{0, 1}},
	{name: "wildcard ? is one character",
		detection: "sel:\n        userAgent: 'a?c'\n    condition: sel",
		records:   []string{`{"userAgent":"abc"}`, `{"userAgent":"ac"}`, `{"userAgent":"abbc"}`, `{"userAgent":"aéc"}`, `{"userAgent":"a%c"}`},
		want:      []int{0, 3, 4}},
	{name: "escaped wildcards are literal",
		detection: "sel:\n        userAgent:\n            - 'a\\*b'\n            - 'c\\?d'\n    condition: sel",
		records:   []string{`{"userAgent":"a*b"}`, `{"userAgent":"axb"}`, `{"userAgent":"c?d"}`, `{"userAgent":"cxd"}`},
		want:      []int{0, 2}},
	{name: "escaped backslash before a wildcard",
		detection: "sel:\n        userAgent: 'a\\\\*'\n    condition: sel",
		records:   []string{`{"userAgent":"a\\xyz"}`, `{"userAgent":"a\\"}`, `{"userAgent":"axyz"}`},
		want:      []int{0, 1}},
	{name: "plain backslash",
		detection: "sel:\n        userAgent: 'C:\\Windows\\x'\n    condition: sel",
		records:   []string{`{"userAgent":"C:\\Windows\\x"}`, `{"userAgent":"C:Windowsx"}`},
		want:      []int{0}},
	{name: "LIKE metacharacters in values are literal",
		detection: "sel:\n        userAgent|contains: '100%_done'\n    condition: sel",
		records:   []string{`{"userAgent":"is 100%_done!"}`, `{"userAgent":"is 100x_done"}`, `{"userAgent":"100%xdone"}`},
		want:      []int{0}},
	{name: "list is any",
		detection: "sel:\n        eventName:\n            - StopLogging\n            - DeleteTrail\n    condition: sel",
		records:   []string{`{"eventName":"StopLogging"}`, `{"eventName":"deletetrail"}`, `{"eventName":"UpdateTrail"}`},
		want:      []int{0, 1}},
	{name: "contains|all over a whole object's JSON text",
		detection: "sel:\n        requestParameters|contains|all:\n            - '\"s3:GetObject\"'\n            - '\"Allow\"'\n    condition: sel",
		records: []string{`{"requestParameters":{"policy":{"Effect":"Allow","Action":"s3:GetObject"}}}`,
			`{"requestParameters":{"policy":{"Effect":"Deny","Action":"s3:GetObject"}}}`,
			`{"requestParameters":{"policy":"{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"}"}}`},
		want: []int{0}},
	{name: "startswith and endswith",
		detection: "a:\n        eventName|startswith: 'Update'\n    b:\n        eventName|endswith: 'v2'\n    condition: a and b",
		records:   []string{`{"eventName":"UpdateFunctionCode20150331v2"}`, `{"eventName":"updatex"}`, `{"eventName":"GetFunctionV2"}`},
		want:      []int{0}},
	{name: "contains '*' is any text, even empty, but no value is no match",
		detection: "sel:\n        errorMessage|contains: '*'\n    condition: sel",
		records:   []string{`{"errorMessage":"x"}`, `{"errorMessage":""}`, `{}`, `{"errorMessage":null}`, `{"errorMessage":0}`},
		want:      []int{0, 1, 4}},
	{name: "null is absent or JSON null, not empty",
		detection: "sel:\n        errorCode: null\n    condition: sel",
		records:   []string{`{}`, `{"errorCode":null}`, `{"errorCode":""}`, `{"errorCode":"x"}`, `{"errorCode":[]}`, `{"errorCode":[null,"x"]}`},
		want:      []int{0, 1, 4, 5}},
	{name: "empty value is the empty text only",
		detection: "sel:\n        errorCode: ''\n    condition: sel",
		records:   []string{`{}`, `{"errorCode":null}`, `{"errorCode":""}`, `{"errorCode":"x"}`},
		want:      []int{2}},
	{name: "not null: a negated null selection",
		detection: "sel:\n        eventName: X\n    none:\n        errorCode: null\n    condition: sel and not none",
		records:   []string{`{"eventName":"X"}`, `{"eventName":"X","errorCode":"AccessDenied"}`, `{"eventName":"X","errorCode":""}`, `{"eventName":"Y","errorCode":"z"}`},
		want:      []int{1, 2}},
	{name: "exists true: present even as null or []",
		detection: "sel:\n        requestParameters.layers|exists: true\n    condition: sel",
		records:   []string{`{"requestParameters":{"layers":[]}}`, `{"requestParameters":{"layers":null}}`, `{"requestParameters":{}}`, `{}`, `{"requestParameters":[{"x":1},{"layers":1}]}`},
		want:      []int{0, 1, 4}},
	{name: "exists false",
		detection: "sel:\n        eventName: X\n        errorCode|exists: false\n    condition: sel",
		records:   []string{`{"eventName":"X"}`, `{"eventName":"X","errorCode":null}`, `{"eventName":"X","errorCode":"e"}`},
		want:      []int{0}},
	{name: "numbers and strings compare as text",
		detection: "sel:\n        responseElements.count: 2\n    condition: sel",
		records:   []string{`{"responseElements":{"count":2}}`, `{"responseElements":{"count":"2"}}`, `{"responseElements":{"count":2.0}}`, `{"responseElements":{"count":"02"}}`, `{"responseElements":{"count":[1,2]}}`},
		want:      []int{0, 1, 4}},
	{name: "a float's text is DuckDB's (2.50 is 2.5, 1e3 is 1000.0)",
		detection: "sel:\n        responseElements.x:\n            - '2.5'\n            - '1000.0'\n    condition: sel",
		records:   []string{`{"responseElements":{"x":2.50}}`, `{"responseElements":{"x":1e3}}`, `{"responseElements":{"x":"2.50"}}`},
		want:      []int{0, 1}},
	{name: "'true' matches JSON true and the text in any case",
		detection: "sel:\n        responseElements.publiclyAccessible: 'true'\n    condition: sel",
		records:   []string{`{"responseElements":{"publiclyAccessible":true}}`, `{"responseElements":{"publiclyAccessible":"TRUE"}}`, `{"responseElements":{"publiclyAccessible":false}}`, `{"responseElements":{"publiclyAccessible":"1"}}`},
		want:      []int{0, 1}},
	{name: "YAML boolean is its text",
		detection: "sel:\n        requestParameters.enable: false\n    condition: sel",
		records:   []string{`{"requestParameters":{"enable":false}}`, `{"requestParameters":{"enable":"False"}}`, `{"requestParameters":{"enable":true}}`},
		want:      []int{0, 1}},
	{name: "numeric comparisons",
		detection: "sel:\n        responseElements.n|gt: 1\n    lt:\n        responseElements.n|lte: 10\n    condition: sel and lt",
		records:   []string{`{"responseElements":{"n":2}}`, `{"responseElements":{"n":"3"}}`, `{"responseElements":{"n":"x"}}`, `{"responseElements":{"n":0.5}}`, `{"responseElements":{"n":10}}`, `{"responseElements":{"n":11}}`, `{"responseElements":{"n":" 5"}}`},
		want:      []int{0, 1, 4}},
	{name: "regular expression: a case-sensitive search",
		detection: "sel:\n        userIdentity.arn|re: '.+:assumed-role/aws:.+'\n    condition: sel",
		records:   []string{`{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"}}`, `{"userIdentity":{"arn":"arn:aws:sts::1:ASSUMED-ROLE/aws:x"}}`, `{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/r/s"}}`},
		want:      []int{0}},
	{name: "re with i",
		detection: "sel:\n        userAgent|re|i: '^boto3/'\n    condition: sel",
		records:   []string{`{"userAgent":"Boto3/1.2"}`, `{"userAgent":"boto3/1"}`, `{"userAgent":"x boto3/1"}`},
		want:      []int{0, 1}},
	{name: "re with m: ^ and $ at lines",
		detection: "sel:\n        errorMessage|re|m: '^b$'\n    condition: sel",
		records:   []string{`{"errorMessage":"a\nb\nc"}`, `{"errorMessage":"ab"}`, `{"errorMessage":"b"}`},
		want:      []int{0, 2}},
	{name: "re with s: dot matches newline",
		detection: "sel:\n        errorMessage|re|s: 'a.b'\n    condition: sel",
		records:   []string{`{"errorMessage":"a\nb"}`, `{"errorMessage":"axb"}`, `{"errorMessage":"ab"}`},
		want:      []int{0, 1}},
	{name: "re without s: dot does not match newline",
		detection: "sel:\n        errorMessage|re: 'a.b'\n    condition: sel",
		records:   []string{`{"errorMessage":"a\nb"}`, `{"errorMessage":"axb"}`},
		want:      []int{1}},
	{name: "re: $ also before a final newline, as in PCRE",
		detection: "sel:\n        errorMessage|re: 'end$'\n    condition: sel",
		records:   []string{`{"errorMessage":"the end\n"}`, `{"errorMessage":"the end"}`, `{"errorMessage":"the end\n\n"}`, `{"errorMessage":"end."}`},
		want:      []int{0, 1}},
	{name: "cidr: IPv4 addresses in the network",
		detection: "sel:\n        sourceIPAddress|cidr:\n            - '10.0.0.0/8'\n            - '192.168.1.7/32'\n    condition: sel",
		records: []string{`{"sourceIPAddress":"10.1.2.3"}`, `{"sourceIPAddress":"10.1.2.300"}`, `{"sourceIPAddress":"11.0.0.1"}`, `{"sourceIPAddress":"2001:db8::1"}`,
			`{"sourceIPAddress":"010.1.2.3"}`, `{"sourceIPAddress":"192.168.1.7"}`, `{"sourceIPAddress":"192.168.1.8"}`, `{"sourceIPAddress":"ec2.amazonaws.com"}`, `{"sourceIPAddress":"::ffff:10.0.0.1"}`},
		want: []int{0, 5}},
	{name: "fieldref: equal to another field, case-insensitively",
		detection: "sel:\n        eventName: CreateAccessKey\n    self:\n        requestParameters.userName|fieldref: userIdentity.userName\n    condition: sel and not self",
		records: []string{`{"eventName":"CreateAccessKey","requestParameters":{"userName":"Alice"},"userIdentity":{"userName":"alice"}}`,
			`{"eventName":"CreateAccessKey","requestParameters":{"userName":"bob"},"userIdentity":{"userName":"alice"}}`,
			`{"eventName":"CreateAccessKey","userIdentity":{"userName":"alice"}}`},
		want: []int{1, 2}},
	{name: "fieldref with contains",
		detection: "sel:\n        userIdentity.arn|fieldref|contains: requestParameters.userName\n    condition: sel",
		records:   []string{`{"userIdentity":{"arn":"arn:aws:iam::1:user/alice"},"requestParameters":{"userName":"ALICE"}}`, `{"userIdentity":{"arn":"arn:aws:iam::1:user/alice"},"requestParameters":{"userName":"bob"}}`, `{"userIdentity":{"arn":"x"}}`},
		want:      []int{0}},
	{name: "cased: case-sensitive",
		detection: "sel:\n        eventName|cased: DeleteBucket\n    condition: sel",
		records:   []string{`{"eventName":"DeleteBucket"}`, `{"eventName":"deletebucket"}`},
		want:      []int{0}},
	{name: "windash: - and / and dashes at a word start",
		detection: "sel:\n        requestParameters.cmd|windash|contains: ' -enc '\n    condition: sel",
		records:   []string{`{"requestParameters":{"cmd":"ps -enc x"}}`, `{"requestParameters":{"cmd":"ps /enc x"}}`, "{\"requestParameters\":{\"cmd\":\"ps \u2013enc x\"}}", `{"requestParameters":{"cmd":"ps +enc x"}}`},
		want:      []int{0, 1, 2}},
	{name: "base64 and base64offset",
		detection: "a:\n        requestParameters.b|base64: 'abc'\n    b:\n        requestParameters.c|base64offset|contains: 'hello'\n    condition: a or b",
		records:   []string{`{"requestParameters":{"b":"YWJj"}}`, `{"requestParameters":{"b":"abc"}}`, `{"requestParameters":{"c":"eCBoZWxsbyB5"}}`, `{"requestParameters":{"c":"aGVsbG8="}}`, `{"requestParameters":{"c":"eHhoZWxsbw=="}}`},
		want:      []int{0, 2, 3, 4}},
	{name: "neq: different from every value (absent too)",
		detection: "sel:\n        eventSource: s.x\n        eventName|neq:\n            - A\n            - B\n    condition: sel",
		records:   []string{`{"eventSource":"s.x","eventName":"A"}`, `{"eventSource":"s.x","eventName":"C"}`, `{"eventSource":"s.x"}`, `{"eventSource":"s.x","eventName":"b"}`},
		want:      []int{1, 2}},
	{name: "keywords: anywhere in the record's text, case-insensitively",
		detection: "keywords:\n        - 'evilcorp'\n        - 'x\"y'\n    condition: keywords",
		records:   []string{`{"userAgent":"EvilCorp/1.0"}`, `{"requestParameters":{"note":"by evilcorp"}}`, `{"userAgent":"good"}`, `{"k":"x\"y"}`},
		want:      []int{0, 1}},
	{name: "keywords with all",
		detection: "keywords:\n        '|all':\n            - 'alpha'\n            - 'beta'\n    condition: keywords",
		records:   []string{`{"a":"alpha","b":"beta"}`, `{"a":"alpha"}`, `{"b":"BETA ALPHA"}`},
		want:      []int{0, 2}},
	{name: "arrays on the path: each element",
		detection: "sel:\n        requestParameters.containerDefinitions.command|contains: '$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'\n    condition: sel",
		records: []string{`{"requestParameters":{"containerDefinitions":[{"command":["sh","-c","curl $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}}`,
			`{"requestParameters":{"containerDefinitions":[{"command":"echo"},{"command":"x $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}]}}`,
			`{"requestParameters":{"containerDefinitions":{"command":"$aws_container_credentials_relative_uri"}}}`,
			`{"requestParameters":{"containerDefinitions":[[{"command":"$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}]]}}`,
			`{"requestParameters":{"containerDefinitions":[{"command":[["$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]]}]}}`},
		want: []int{0, 1, 2, 4}},
	{name: "array of objects at the end: each object as text",
		detection: "sel:\n        resources|contains: '\"type\":\"AWS::S3::Bucket\"'\n    condition: sel",
		records:   []string{`{"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"}]}`, `{"resources":[{"type":"AWS::S3::Object"}]}`},
		want:      []int{0}},
	{name: "top-level field that is an array or object",
		detection: "sel:\n        eventName: StopLogging\n    condition: sel",
		records:   []string{`{"eventName":["x","StopLogging"]}`, `{"eventName":{"n":"StopLogging"}}`, `{"eventName":"StopLogging","eventName":"x"}`, `{"eventName":"x","eventName":"StopLogging"}`},
		want:      []int{0, 2}},
	{name: "and, or, not, parentheses",
		detection: "a:\n        eventName: A\n    b:\n        eventSource: s1\n    c:\n        errorCode: E\n    condition: a and not (b or c)",
		records:   []string{`{"eventName":"A"}`, `{"eventName":"A","eventSource":"s1"}`, `{"eventName":"A","errorCode":"E"}`, `{"eventName":"B"}`},
		want:      []int{0}},
	{name: "precedence: not binds tighter than and, and than or",
		detection: "a:\n        eventName: A\n    b:\n        eventSource: s1\n    c:\n        errorCode: E\n    condition: a or b and not c",
		records:   []string{`{"eventName":"A","errorCode":"E"}`, `{"eventSource":"s1"}`, `{"eventSource":"s1","errorCode":"E"}`, `{}`},
		want:      []int{0, 1}},
	{name: "1 of pattern, all of pattern",
		detection: "sel_a:\n        eventName: A\n    sel_b:\n        eventSource: s1\n    filter_x:\n        errorCode: E\n    condition: 1 of sel_* and not all of filter*",
		records:   []string{`{"eventName":"A"}`, `{"eventSource":"s1","errorCode":"E"}`, `{"eventName":"B"}`},
		want:      []int{0}},
	{name: "1 of them leaves out _names; all of them",
		detection: "a:\n        eventName: A\n    _b:\n        eventSource: s1\n    c:\n        errorCode: E\n    condition: 1 of them and not all of them",
		records:   []string{`{"eventName":"A"}`, `{"eventName":"A","errorCode":"E"}`, `{"eventSource":"s1"}`, `{"errorCode":"E","eventSource":"s1"}`},
		want:      []int{0, 3}},
	{name: "a list of maps is any of them; a list of conditions too",
		detection: "sel:\n        - eventName: A\n          eventSource: s1\n        - errorCode: E\n    other:\n        userAgent: U\n    condition:\n        - sel\n        - other",
		records:   []string{`{"eventName":"A","eventSource":"s1"}`, `{"eventName":"A"}`, `{"errorCode":"E"}`, `{"userAgent":"u"}`},
		want:      []int{0, 2, 3}},
	{name: "field names with - and :",
		detection: "sel:\n        requestParameters.x-amz-acl: public-read\n    condition: sel",
		records:   []string{`{"requestParameters":{"x-amz-acl":"public-read"}}`, `{"requestParameters":{"x-amz-acl":["private","public-read"]}}`, `{"requestParameters":{"x":{"amz-acl":"public-read"}}}`},
		want:      []int{0, 1}},
	{name: "event_count with group-by and timespan",
		file: `title: many
correlation:
    type: event_count
    rules: [ec_base]
    group-by: [userIdentity.accessKeyId]
    timespan: 10m
    condition:
        gte: 3
---
title: base
name: ec_base
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: X
    condition: sel
`,
		records: []string{
			`{"t":"00:00:00","eventName":"X","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"00:04:00","eventName":"X","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"00:10:00","eventName":"X","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"00:25:00","eventName":"X","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"00:00:00","eventName":"X","userIdentity":{"accessKeyId":"K2"}}`,
			`{"t":"00:01:00","eventName":"X","userIdentity":{"accessKeyId":"K2"}}`,
			`{"t":"00:02:00","eventName":"Y","userIdentity":{"accessKeyId":"K2"}}`,
		},
		want: []int{0, 1, 2}},
	{name: "value_count",
		file: `title: regions
correlation:
    type: value_count
    rules: [vc_base]
    group-by: [userIdentity.accessKeyId]
    timespan: 1h
    condition:
        field: awsRegion
        gte: 2
---
title: base
name: vc_base
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: RunInstances
    condition: sel
`,
		records: []string{
			`{"t":"00:00:00","eventName":"RunInstances","awsRegion":"a","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"00:30:00","eventName":"RunInstances","awsRegion":"a","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"02:00:00","eventName":"RunInstances","awsRegion":"a","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"02:30:00","eventName":"RunInstances","awsRegion":"b","userIdentity":{"accessKeyId":"K1"}}`,
			`{"t":"02:40:00","eventName":"RunInstances","awsRegion":"a","userIdentity":{"accessKeyId":"K2"}}`,
		},
		want: []int{2, 3}},
	{name: "temporal: every rule in the window",
		file: `title: both
correlation:
    type: temporal
    rules: [tp_r1, tp_r2]
    group-by: [sourceIPAddress]
    timespan: 5m
---
title: r1
name: tp_r1
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: A
    condition: sel
---
title: r2
name: tp_r2
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: B
    condition: sel
`,
		records: []string{
			`{"t":"00:00:00","eventName":"A","sourceIPAddress":"1"}`,
			`{"t":"00:04:00","eventName":"B","sourceIPAddress":"1"}`,
			`{"t":"00:20:00","eventName":"A","sourceIPAddress":"1"}`,
			`{"t":"00:00:00","eventName":"A","sourceIPAddress":"2"}`,
			`{"t":"00:06:00","eventName":"B","sourceIPAddress":"2"}`,
		},
		want: []int{0, 1}},
	{name: "older form: count() by field > N within timeframe",
		file: `title: old
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName|startswith: list
    timeframe: 10m
    condition: sel | count() by sourceIPAddress > 2
`,
		records: []string{
			`{"t":"00:00:00","eventName":"ListUsers","sourceIPAddress":"1"}`,
			`{"t":"00:01:00","eventName":"ListRoles","sourceIPAddress":"1"}`,
			`{"t":"00:02:00","eventName":"ListKeys","sourceIPAddress":"1"}`,
			`{"t":"00:01:00","eventName":"ListKeys","sourceIPAddress":"2"}`,
			`{"t":"00:02:00","eventName":"ListKeys","sourceIPAddress":"2"}`,
		},
		want: []int{0, 1, 2}},
	{name: "older form without timeframe: the whole scope",
		file: `title: old
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: GetObject
    condition: sel | count(requestParameters.key) > 1
`,
		records: []string{
			`{"t":"00:00:00","eventName":"GetObject","requestParameters":{"key":"a"}}`,
			`{"t":"05:00:00","eventName":"GetObject","requestParameters":{"key":"b"}}`,
			`{"t":"09:00:00","eventName":"GetObject","requestParameters":{"key":"a"}}`,
		},
		want: []int{0, 1, 2}},
}

// TestSemantics runs every case through the compiled SQL and the reference evaluator.
func TestSemantics(t *testing.T) {
	dir := tempDir(t)
	var lines []string
	var rules []*Rule
	caseOf := map[string]int{}
	for ci, c := range semCases {
		for ri, rec := range c.records {
			var m map[string]any
			if err := json.Unmarshal([]byte(rec), &m); err != nil {
				t.Fatalf("%s: record %d: %v", c.name, ri, err)
			}
			tm := "00:00:00"
			if v, ok := m["t"].(string); ok {
				tm = v
			}
			head := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"c%02d-%02d","eventTime":"2026-01-01T%sZ",`, ci, ri, tm)
			body := strings.TrimPrefix(rec, "{")
			if body == "}" {
				head = strings.TrimSuffix(head, ",")
			}
			lines = append(lines, head+body)
		}
		text := c.file
		if text == "" {
			text = fmt.Sprintf("title: case %d\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    %s\n", ci, c.detection)
		}
		rs, probs := ParseFile(fmt.Sprintf("case%02d.yml", ci), []byte(text))
		if len(probs) > 0 {
			t.Fatalf("%s: %v", c.name, probs)
		}
		rules = append(rules, rs[0]) // the first document is the rule under test
		if len(rs) > 1 {
			rules = append(rules, rs[1:]...)
		}
		caseOf[rs[0].Source] = ci
	}
	if err := os.WriteFile(filepath.Join(dir, "cases.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "cases.duckdb")
	ingestInto(t, db, filepath.Join(dir, "cases.jsonl"))
	st := openStore(t, db)
	got, p := findings(t, st, rules, Options{})
	if len(p.Skipped) > 0 {
		t.Fatalf("skipped: %v", p.Skipped)
	}
	evs := storedEvents(t, st.DB)
	for _, r := range rules {
		ci, ok := caseOf[r.Source]
		if !ok || r.Doc != 1 {
			continue
		}
		c := semCases[ci]
		var want []string
		for _, i := range c.want {
			want = append(want, fmt.Sprintf("c%02d-%02d", ci, i))
		}
		var mine []refEvent
		for _, e := range evs {
			if strings.HasPrefix(e.id, fmt.Sprintf("c%02d-", ci)) {
				mine = append(mine, e)
			}
		}
		ref := refMatches(r, mine)
		var sqlGot []string
		for _, id := range got[r.Key()] {
			if strings.HasPrefix(id, fmt.Sprintf("c%02d-", ci)) {
				sqlGot = append(sqlGot, id)
			}
		}
		if !slices.Equal(sqlGot, want) {
			t.Errorf("%s: SQL flags %v, want %v", c.name, sqlGot, want)
		}
		if !slices.Equal(ref, want) {
			t.Errorf("%s: reference flags %v, want %v", c.name, ref, want)
		}
	}
}
