package lake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/lake"
	"github.com/trailhound/trailhound/queries"
)

// originInputs are hand-made calls (source IP, user agent, identity type, invokedBy, event
// source, event name, record; "-" for NULL) for the cases the data sets lack or hold once:
// IPv6 and non-addresses (a trailing newline, a placeholder, a service's name with a space),
// S3's bracketed agents, AWS's own agents, the workload runtimes, and AWS's quarantine
// policies (managed and inline; deny-only documents as a list, an object, without Effect;
// one that allows; a name with a trailing newline).
var originInputs = [][7]string{
	{"1.2.3.4", "[aws-cli/2.15.30 Python/3.11]", "IAMUser", "-", "ec2.amazonaws.com", "DescribeRegions", `{}`},
	{"1.2.3.4\n", "[ \tpadded ]", "IAMUser", "ec2.amazonaws.com", "s3.amazonaws.com", "GetObject", `{}`},
	{"2001:db8::1", "aws-internal/3 aws-sdk-java/1.12", "AssumedRole", "-", "ec2.amazonaws.com", "RunInstances", `{}`},
	{"fe80::1%eth0", "Boto3/1.34 exec-env/AWS_Lambda_python3.12", "AssumedRole", "lambda.amazonaws.com", "s3.amazonaws.com", "PutObject", `{}`},
	{"AWS Internal", "AWS Internal", "AssumedRole", "-", "ec2.amazonaws.com", "DescribeInstances", `{}`},
	{"aws.internal", "aws-sdk-go exec-env/AWS_ECS_FARGATE", "AssumedRole", "-", "ecs.amazonaws.com", "RunTask", `{}`},
	{"ec2.amazonaws.com", "ec2.amazonaws.com", "AWSService", "-", "sts.amazonaws.com", "AssumeRole", `{}`},
	{"192.0.2.9", "-", "AWSService", "cloudtrail.amazonaws.com", "sts.amazonaws.com", "AssumeRole", `{}`},
	{"-", "-", "AWSService", "-", "sts.amazonaws.com", "AssumeRole", `{}`},
	{"a b.amazonaws.com", "console.ec2.amazonaws.com", "IAMUser", "-", "ec2.amazonaws.com", "StopInstances", `{}`},
	{"redacted", "signin.amazonaws.com", "IAMUser", "signin.amazonaws.com", "signin.amazonaws.com", "ConsoleLogin", `{}`},
	{"-", "Coral/Netty4", "-", "-", "iam.amazonaws.com", "AttachUserPolicy",
		`{"requestParameters":{"policyArn":"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"}}`},
	{"-", "AWS CloudWatch Console", "IAMUser", "-", "iam.amazonaws.com", "AttachUserPolicy",
		`{"requestParameters":{"policyArn":"arn:aws-cn:iam::aws:policy/AWSCompromisedKeyQuarantine"}}`},
	{"-", "AWS Console", "IAMUser", "-", "iam.amazonaws.com", "AttachUserPolicy",
		`{"requestParameters":{"policyArn":"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2\n"}}`},
	{"-", "EC2ConsoleFrontend, aws-internal/3", "IAMUser", "-", "iam.amazonaws.com", "AttachUserPolicy",
		`{"requestParameters":{"policyArn":"arn:aws:iam::123:policy/AWSCompromisedKeyQuarantineV2"}}`},
	{"-", "amazon-ssm-agent/3.2.582.0", "IAMUser", "-", "iam.amazonaws.com", "PutUserPolicy",
		`{"requestParameters":{"policyName":"AWSCompromisedKeyQuarantine","policyDocument":"{\"Statement\":[{\"Effect\":\"Deny\"},{\"Action\":1}]}"}}`},
	{"-", "[]", "IAMUser", "-", "iam.amazonaws.com", "PutUserPolicy",
		`{"requestParameters":{"policyName":"AWSExposedCredentialPolicy_DO_NOT_REMOVE","policyDocument":"{\"Statement\":{\"Effect\":\"Deny\"}}"}}`},
	{"-", "[", "IAMUser", "-", "iam.amazonaws.com", "PutUserPolicy",
		`{"requestParameters":{"policyName":"AWSCompromisedKeyQuarantineV3","policyDocument":"{\"Statement\":[{\"Effect\":\"Deny\"},{\"Effect\":\"Allow\"}]}"}}`},
	{"-", "AWSConsole", "IAMUser", "-", "iam.amazonaws.com", "PutUserPolicy",
		`{"requestParameters":{"policyName":"AWSCompromisedKeyQuarantineV2","policyDocument":{"Statement":[{"Effect":"Deny"}]}}}`},
	{"-", "[AWS Internal]", "IAMUser", "-", "iam.amazonaws.com", "PutUserPolicy",
		`{"requestParameters":{"policyName":"AWSCompromisedKeyQuarantineV2","policyDocument":"{\"Statement\":[{\"Action\":1}]}"}}`},
	{"-", "-", "IAMUser", "-", "iam.amazonaws.com", "PutUserPolicy",
		`{"requestParameters":{"policyName":"MyPolicy","policyDocument":"{\"Statement\":[{\"Effect\":\"Deny\"}]}"}}`},
}

// TestTrinoOriginFragments: the Trino fragments ip_address, agent_name, aws_agent, aws_origin,
// workload_agent, by_aws and aws_quarantine answer as the DuckDB macros do on originInputs.
func TestTrinoOriginFragments(t *testing.T) {
	ctx := context.Background()
	st, err := queries.Open(ctx, t.TempDir()+"/macros.duckdb", queries.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := lake.OpenEngine(ctx, startTrino(t))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	q := func(s string) string {
		if s == "-" {
			return "CAST(NULL AS varchar)"
		}
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	var vals []string
	for i, in := range originInputs {
		vals = append(vals, fmt.Sprintf("(%d, %s, %s, %s, %s, %s, %s, %s)", i, q(in[0]), q(in[1]), q(in[2]), q(in[3]), q(in[4]), q(in[5]), q(in[6])))
	}
	body := `SELECT n, ip_address(ip) AS ip, agent_name(ua) AS agent, aws_agent(ua) AS aws_agent,
    aws_origin(ip, ua, it, inv) AS origin, workload_agent(ua) AS workload, by_aws(ua, ip, it) AS by_aws,
    aws_quarantine(s, e, r) AS quarantine
FROM (VALUES ` + strings.Join(vals, ",\n") + `) AS t(n, ip, ua, it, inv, s, e, r)
ORDER BY n`
	rows, err := st.DB.QueryContext(ctx, body)
	want := jsonl(t, rows, err)
	trows, release, err := eng.Run(ctx, queries.Query{Name: "origin fragments",
		Trino: "WITH {{aws_origin}}, {{workload_agent}}, {{by_aws}}, {{aws_quarantine}}\n" + body}, queries.Params{})
	if release != nil {
		defer release()
	}
	got := jsonl(t, trows, err)
	// The macros' own answers, so that the comparison cannot pass on nothing.
	for _, s := range []string{`"ip":true,"agent":"aws-cli/2.15.30 Python/3.11"`, `"origin":"cloudtrail.amazonaws.com"`,
		`"origin":"an AWS service"`, `"workload":"Lambda runtime"`, `"workload":"ECS task runtime"`, `"workload":"SSM agent"`,
		`"quarantine":"AWSCompromisedKeyQuarantineV2"`, `"quarantine":"AWSExposedCredentialPolicy_DO_NOT_REMOVE"`,
		`"quarantine":"AWSCompromisedKeyQuarantine"`, `"by_aws":true`, `"origin":"Coral/Netty4"`} {
		if !strings.Contains(want, s) {
			t.Errorf("DuckDB's macros: no %s in\n%s", s, want)
		}
	}
	if got != want {
		t.Errorf("Trino's fragments answer differently.\nDuckDB:\n%s\nTrino:\n%s", want, got)
	}
}
