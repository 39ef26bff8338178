package lake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/trailhound/trailhound/lake"
	"github.com/trailhound/trailhound/queries"
)

// threatInputs are hand-made CloudTrail records (event source, name, record) for the cases
// the data sets lack or hold once: canned ACLs, grant headers and AccessControlPolicy grants
// (a list, or one object), object ACLs named by resources, bucket policies as objects and as
// strings, public access blocks removed or turned off, snapshots and images shared, and
// calls that open nothing.
var threatInputs = [][3]string{
	{"s3.amazonaws.com", "PutBucketAcl", `{"requestParameters":{"bucketName":"b1","x-amz-acl":["public-read"]}}`},
	{"s3.amazonaws.com", "PutBucketAcl", `{"requestParameters":{"bucketName":"b1","x-amz-acl":"public-read-write"}}`},
	{"s3.amazonaws.com", "PutBucketAcl", `{"requestParameters":{"bucketName":"b1","accessControlList":{"x-amz-acl":"authenticated-read"}}}`},
	{"s3.amazonaws.com", "PutObjectAcl", `{"requestParameters":{"bucketName":"b1","key":"k/x y",` +
		`"x-amz-grant-read":"uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",` +
		`"x-amz-grant-full-control":"uri=http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}}`},
	{"s3.amazonaws.com", "PutObjectAcl", `{"requestParameters":{"AccessControlPolicy":{"AccessControlList":{"Grant":[` +
		`{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},"Permission":"WRITE"},` +
		`{"Grantee":{"ID":"abc"},"Permission":"FULL_CONTROL"},{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AllUsers"}}]}}},` +
		`"resources":[{"ARN":"arn:aws:s3:::bkt"},{"ARN":"arn:aws:s3:::bkt/obj/1"}]}`},
	{"s3.amazonaws.com", "PutBucketAcl", `{"requestParameters":{"bucketName":"b2","AccessControlPolicy":{"AccessControlList":{"Grant":` +
		`{"Grantee":{"URI":"http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},"Permission":"READ"}}}}}`},
	{"s3.amazonaws.com", "PutBucketAcl", `{"requestParameters":{"bucketName":"b2","AccessControlPolicy":{"AccessControlList":{"Grant":` +
		`{"Grantee":{"ID":"x"},"Permission":"READ"}}}}}`},
	{"s3.amazonaws.com", "PutBucketPolicy", `{"requestParameters":{"bucketName":"b3","bucketPolicy":{"Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":["arn:x","*"]},"Action":["s3:PutObject","s3:GetObject"]},` +
		`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Condition":{"a":1}},{"Effect":"Deny","Principal":"*"}]}}}`},
	{"s3.amazonaws.com", "PutBucketPolicy", `{"requestParameters":{"bucketName":"b3",` +
		`"bucketPolicy":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"}}}"}}`},
	{"s3.amazonaws.com", "PutBucketPolicy", `{"requestParameters":{"bucketName":"b3","bucketPolicy":"not json"}}`},
	{"s3.amazonaws.com", "PutBucketPolicy", `{"requestParameters":{"bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"}}]}}}`},
	{"s3.amazonaws.com", "DeleteBucketPublicAccessBlock", `{"requestParameters":{}}`},
	{"s3.amazonaws.com", "DeleteAccountPublicAccessBlock", `{"recipientAccountId":"123","requestParameters":{}}`},
	{"s3.amazonaws.com", "PutBucketPublicAccessBlock", `{"requestParameters":{"bucketName":"b4","PublicAccessBlockConfiguration":` +
		`{"BlockPublicAcls":false,"IgnorePublicAcls":"False","BlockPublicPolicy":true,"RestrictPublicBuckets":false}}}`},
	{"s3.amazonaws.com", "PutAccountPublicAccessBlock", `{"requestParameters":{"PublicAccessBlockConfiguration":{"BlockPublicAcls":false}}}`},
	{"s3.amazonaws.com", "PutPublicAccessBlock", `{"requestParameters":{"bucketName":"b5","PublicAccessBlockConfiguration":{"BlockPublicAcls":true}}}`},
	{"ec2.amazonaws.com", "ModifySnapshotAttribute", `{"requestParameters":{"snapshotId":"snap-1","createVolumePermission":` +
		`{"add":{"items":[{"userId":"2"},{"userId":"1"},{"group":"all"},{"userId":""}]}}}}`},
	{"ec2.amazonaws.com", "ModifyImageAttribute", `{"requestParameters":{"imageId":"ami-1","launchPermission":{"add":{"items":{"userId":"9"}}}}}`},
	{"rds.amazonaws.com", "ModifyDBClusterSnapshotAttribute", `{"requestParameters":{"dBClusterSnapshotIdentifier":"c1",` +
		`"attributeName":"restore","valuesToAdd":["5","all"]}}`},
	{"rds.amazonaws.com", "ModifyDBSnapshotAttribute", `{"requestParameters":{"dBSnapshotIdentifier":"c1","attributeName":"other","valuesToAdd":["5"]}}`},
	{"s3.amazonaws.com", "GetObject", `{"requestParameters":{"bucketName":"b6","key":"a/b.txt"}}`},
	{"s3.amazonaws.com", "GetObject", "{\"resources\":[{\"ARN\":\"arn:aws:s3:::b7/k\\n\"}]}"},
	{"ec2.amazonaws.com", "RunInstances", `{}`},
	{"lambda.amazonaws.com", "CreateFunction20150331", `{}`},
	{"iam.amazonaws.com", "PutUserPolicy", `{"requestParameters":{"policyDocument":"{\"Statement\":[{\"Effect\":\"Deny\"},{\"Action\":1}]}"}}`},
	{"iam.amazonaws.com", "PutUserPolicy", `{"requestParameters":{"policyDocument":"{\"Statement\":[{\"Effect\":\"Deny\"},{\"Effect\":\"Allow\"}]}"}}`},
	{"iam.amazonaws.com", "PutUserPolicy", `{"requestParameters":{"policyDocument":"{\"Statement\":{\"Effect\":\"Deny\"}}"}}`},
	{"iam.amazonaws.com", "PutUserPolicy", `{"requestParameters":{"policyDocument":"{\"Statement\":[]}"}}`},
	{"iam.amazonaws.com", "PutUserPolicy", `{"requestParameters":{"policyDocument":"{\"Statement\":[{\"Effect\":null}]}"}}`},
	{"iam.amazonaws.com", "PutUserPolicy", `{"requestParameters":{"policyDocument":"not json"}}`},
}

// TestTrinoThreatFragments: the Trino fragments exposure, s3_object, creates_resource and
// policy_only_denies answer as the DuckDB macros do on threatInputs.
func TestTrinoThreatFragments(t *testing.T) {
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
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	var vals []string
	for i, in := range threatInputs {
		vals = append(vals, fmt.Sprintf("(%d, %s, %s, %s)", i, q(in[0]), q(in[1]), q(in[2])))
	}
	body := `SELECT n, x.resource, x.exposed_to, x.what, s3_object(r) AS object, creates_resource(s, e) AS creates,
    policy_only_denies(json_extract_%s(r, '$.requestParameters.policyDocument')) AS only_denies
FROM (SELECT *, exposure(s, e, r) AS x FROM (VALUES ` + strings.Join(vals, ",\n") + `) AS t(n, s, e, r))
ORDER BY n`
	rows, err := st.DB.QueryContext(ctx, fmt.Sprintf(body, "string"))
	want := jsonl(t, rows, err)
	trows, release, err := eng.Run(ctx, queries.Query{Name: "threat fragments",
		Trino: "WITH {{exposure}}, {{creates_resource}}, {{policy_only_denies}}\n" + fmt.Sprintf(body, "scalar")}, queries.Params{})
	if release != nil {
		defer release()
	}
	got := jsonl(t, trows, err)
	// The macros' own answers, so that the comparison cannot pass on nothing.
	for _, s := range []string{`"what":"made bucket b1 public (AllUsers READ, AllUsers WRITE)"`,
		`"what":"made object s3://bkt/obj/1 public (AllUsers ?, AuthenticatedUsers WRITE)"`,
		`"what":"made bucket b3 public (its policy lets anyone, Principal \"*\", s3:GetObject s3:PutObject, with conditions)"`,
		`"what":"turned off the public access block of bucket b4 (BlockPublicAcls, IgnorePublicAcls, RestrictPublicBuckets off)"`,
		`"exposed_to":"1, 2, all","what":"made snapshot snap-1 public"`, `"object":"s3://b6/a/b.txt"`, `"creates":true`,
		`"only_denies":true`} {
		if !strings.Contains(want, s) {
			t.Errorf("DuckDB's macros: no %s in\n%s", s, want)
		}
	}
	if got != want {
		t.Errorf("Trino's fragments answer differently.\nDuckDB:\n%s\nTrino:\n%s", want, got)
	}
}
