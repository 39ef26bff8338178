package canonjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func canon(t *testing.T, s string) string {
	t.Helper()
	b, err := Append(nil, []byte(s))
	if err != nil {
		t.Fatalf("Append(%q): %v", s, err)
	}
	return string(b)
}

// TestSameValue: spellings of one value have one canonical form, and that form is the
// value (it decodes to what the input decodes to) and is its own canonical form.
func TestSameValue(t *testing.T) {
	for _, group := range [][]string{
		{`{"b":1,"a":[true,false,null]}`, " {\n \"a\" : [ true , false , null ] ,\t\"b\" : 1 } ", `{"a":[true,false,null],"b":1.0}`},
		{`"é<&>\u2028"`, `"\u00e9\u003c\u0026\u003e\u2028"`, `"\u00E9<&>` + "\u2028" + `"`},
		{`"a/b"`, `"a\/b"`},
		{`"\u0001\n\"\\"`, `"\u0001\u000a\u0022\u005c"`, `"\u0001\u000A\"\\"`},
		{`"😀"`, `"\ud83d\ude00"`, `"\uD83D\uDE00"`},
		{`100`, `1e2`, `1E+2`, `100.0`, `10e1`, `1000e-1`},
		{`0`, `-0`, `0.0`, `0e5`, `-0.0e-3`},
		{`0.1`, `1e-1`, `0.10`, `10E-2`},
		{`-12.5`, `-1.25e1`, `-125e-1`},
		{`{"userIdentity":{"type":"IAMUser","arn":"x"},"eventID":"1"}`, `{"eventID":"1","userIdentity":{"arn":"x","type":"IAMUser"}}`},
		{`[]`, `[ ]`}, {`{}`, ` { } `},
	} {
		want := canon(t, group[0])
		for _, s := range group[1:] {
			if got := canon(t, s); got != want {
				t.Errorf("%s -> %s, but %s -> %s", group[0], want, s, got)
			}
		}
		if again := canon(t, want); again != want {
			t.Errorf("canonical %s -> %s", want, again)
		}
		var a, b any
		if err := json.Unmarshal([]byte(group[0]), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(want), &b); err != nil {
			t.Fatalf("canonical form %s does not decode: %v", want, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s decodes to %v, its canonical form %s to %v", group[0], a, want, b)
		}
	}
}

// TestDifferentValues: values that differ, however slightly, never share a form.
func TestDifferentValues(t *testing.T) {
	vals := []string{
		`{"a":1}`, `{"a":"1"}`, `{"a":1,"b":null}`, `{"a":[1,2]}`, `{"a":[2,1]}`, `{"A":1}`,
		`"x"`, `"x "`, `"X"`, `"\u0000"`, `"\ud800"`, `"\udc00"`, `""`,
		`0.1`, `0.10000000000000001`, `1`, `-1`, `10`, `1e400`, `123456789012345678901234567890123`,
		`123456789012345678901234567891`, `true`, `false`, `null`, `[]`, `{}`, `[null]`,
		`{"eventTime":"2024-01-01T00:00:00Z"}`, `{"eventTime":"2024-01-01T00:00:01Z"}`,
		`{"a":1,"a":2}`, `{"a":2,"a":1}`,
	}
	seen := map[string]string{}
	for _, v := range vals {
		c := canon(t, v)
		if prev, ok := seen[c]; ok {
			t.Errorf("%s and %s share the form %s", prev, v, c)
		}
		seen[c] = v
	}
}

func TestNotJSON(t *testing.T) {
	for _, s := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1 2]`, `"abc`, `tru`, `01x`, `1.`, `-`, `1e`, `{} {}`, `"\x"`, `"\u12"`, strings.Repeat("[", maxDepth+2)} {
		if b, err := Append(nil, []byte(s)); err == nil {
			t.Errorf("Append(%.20q) = %s, want an error", s, b)
		}
	}
	if _, ok := Sum([]byte(`{`)); ok {
		t.Error("Sum of a broken document says ok")
	}
	a, _ := Sum([]byte(`{"b":2, "a":1}`))
	b, ok := Sum([]byte(`{"a":1,"b":2}`))
	if !ok || a != b {
		t.Error("Sum differs for two spellings of one object")
	}
}

var sample = []byte(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"alice","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"2022-02-07T22:17:32Z","mfaAuthenticated":"false"}}},"eventTime":"2022-02-07T22:23:37Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"ap-southeast-2","sourceIPAddress":"1.2.3.4","userAgent":"aws-cli/2.4.6 Python/3.8.8 Linux/5.10 exe/x86_64.ubuntu.20 prompt/off command/ec2.describe-instances","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-01234567890123456"}]},"filterSet":{}},"responseElements":null,"requestID":"5e2d469d-002a-40b1-9922-a2e7dca03332","eventID":"0828c0d2-3589-4390-b954-c78b4a7df44b","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"ec2.ap-southeast-2.amazonaws.com"}}`)

func BenchmarkSum(b *testing.B) {
	b.SetBytes(int64(len(sample)))
	for b.Loop() {
		Sum(sample)
	}
}
