package viz

import (
	"encoding/json"
	"reflect"
	"testing"
)

const token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenbody0123456789+/abcdefghijklmnopqrstuvwxyz=="

func TestRedactJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"session token by name",
			`{"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE000000001","sessionToken":"abc","expiration":"Nov 9, 2026, 11:22:25 AM"}}}`,
			`{"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE000000001","sessionToken":"[REDACTED]","expiration":"Nov 9, 2026, 11:22:25 AM"}}}`},
		{"member names in any case, with - and _, spacing kept",
			"{\"Password\" : \"x\",\n \"AWS_SECRET_ACCESS_KEY\":\"y\", \"x-amz-security-token\": \"z\"}",
			"{\"Password\" : \"[REDACTED]\",\n \"AWS_SECRET_ACCESS_KEY\":\"[REDACTED]\", \"x-amz-security-token\": \"[REDACTED]\"}"},
		{"a secret member holding an object or a number",
			`{"privateKey":{"pem":"x"},"password":12345,"keyMaterial":["a"],"clientSecret":null}`,
			`{"privateKey":"[REDACTED]","password":"[REDACTED]","keyMaterial":"[REDACTED]","clientSecret":null}`},
		{"not secrets: key ids, booleans named like secrets, short strings",
			`{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","passwordResetRequired":false,"userName":"password","sha1":"da39a3ee5e6b4b0d3255bfef95601890afd80709"}`,
			`{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","passwordResetRequired":false,"userName":"password","sha1":"da39a3ee5e6b4b0d3255bfef95601890afd80709"}`},
		{"a session token anywhere",
			`{"requestParameters":{"note":"token ` + token + ` leaked"}}`,
			`{"requestParameters":{"note":"token [REDACTED] leaked"}}`},
		{"a 40-character secret key in free text",
			`{"description":"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY in .env"}`,
			`{"description":"aws_secret_access_key=[REDACTED] in .env"}`},
		{"escaped text is matched after unescaping",
			`{"d":"key wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY \u0021"}`,
			`{"d":"key [REDACTED] !"}`},
		{"not a secret: a CloudTrail object's key that has a 40-character run",
			`{"object":"s3://trailhound-demo-trail/AWSLogs/111122223333/CloudTrail/eu-central-1/2026/11/09/x.json.gz"}`,
			`{"object":"s3://trailhound-demo-trail/AWSLogs/111122223333/CloudTrail/eu-central-1/2026/11/09/x.json.gz"}`},
		{"a PEM private key",
			`{"userData":"x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\ny"}`,
			`{"userData":"x\n[REDACTED]\ny"}`},
		{"a secret member in an array of objects",
			`[{"name":"a","sessionToken":"t1"},{"name":"b","sessionToken":"t2"}]`,
			`[{"name":"a","sessionToken":"[REDACTED]"},{"name":"b","sessionToken":"[REDACTED]"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(RedactJSON([]byte(tc.in)))
			if got != tc.want {
				t.Errorf("RedactJSON(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not JSON any more: %s", got)
			}
		})
	}
}

func TestRedactValue(t *testing.T) {
	in := map[string]any{
		"credentials": map[string]any{"accessKeyId": "ASIAEXAMPLE000000001", "sessionToken": token},
		"list":        []any{"plain", "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 3.0},
		"doc":         `{"password":"hunter22"}`,
		"n":           nil,
	}
	orig, _ := json.Marshal(in)
	got := RedactValue(in)
	after, _ := json.Marshal(in)
	if string(orig) != string(after) {
		t.Fatal("RedactValue modified its argument")
	}
	want := map[string]any{
		"credentials": map[string]any{"accessKeyId": "ASIAEXAMPLE000000001", "sessionToken": Redacted},
		"list":        []any{"plain", "secret " + Redacted, 3.0},
		"doc":         `{"password":"[REDACTED]"}`,
		"n":           nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RedactValue = %v\nwant %v", got, want)
	}
	for _, s := range []string{"AKIAIOSFODNN7EXAMPLE", "arn:aws:iam::111122223333:user/ops-monitoring", "i-0123456789abcdef0"} {
		if RedactValue(s) != s {
			t.Errorf("%s was redacted", s)
		}
	}
}
