package synth

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// TheftOptions controls GenerateTheft. Zero values select defaults.
type TheftOptions struct {
	Seed  uint64
	Start time.Time // midnight UTC of the incident's day; default 2026-03-09
}

// TheftCase is the ground truth of a stolen session key incident, the second kind of case
// the generator writes (the first, Generate, is a leaked long-term key). It is modelled on
// CTF and lab write-ups (a Lambda function's environment leaked through its code, the
// session key then used from a laptop) and on real S3 ransom cases: an over-permissive
// function role, permission brute-forcing (enumerate-iam), role chaining to an admin role,
// objects read, written and deleted, a bucket made public, a snapshot shared out.
//
// Timeline (UTC, relative to Start):
//
//	08:00       lambda.amazonaws.com assumes the function's role: session key StolenKey
//	08:00-12:00 the function runs every 10 minutes from FunctionIP (the Lambda runtime's user
//	            agent): reads its input object, writes an export; S3 calls KMS Decrypt and
//	            GenerateDataKey for it ("AWS Internal", signed with StolenKey)
//	10:17       the attacker, from AttackerIP, validates StolenKey (GetCallerIdentity)
//	10:18       permission brute-force: BruteDenied denied calls over BruteServices services in
//	            about 90 seconds, a few allowed (ListBuckets)
//	10:24       lists the bucket, reads config/deploy.json and emergency.txt
//	10:26       assumes AdminRole (role chaining): session key AdminKey
//	10:27-10:33 with AdminKey: removes the bucket's public access block, grants AllUsers READ,
//	            writes a bucket policy for Principal "*", uploads a ransom note, deletes the
//	            exports, shares an EBS snapshot with an outside account
//
// The trail records S3 data events for the bucket. Addresses are documentation ranges
// except FunctionIP, an Amazon address as Lambda's are.
type TheftCase struct {
	Account      string
	Region       string
	Function     string // the Lambda function
	FunctionRole string // its execution role ARN
	StolenKey    string // the function's session key, used by the attacker too
	IssuedEvent  string // eventID of the AssumeRole that issued StolenKey
	FunctionIP   string // where the function's own calls come from
	AttackerIP   string
	AttackerUA   []string // sorted user agents of the attacker's calls
	AdminRole    string   // ARN of the role the attacker chained into
	AdminKey     string   // the session key that AssumeRole minted
	Bucket       string
	ObjectsRead  []string // keys the attacker read (GetObject), sorted
	ObjectsPut   []string // keys the attacker wrote
	ObjectsGone  []string // keys the attacker deleted (DeleteObjects)
	ExposedTo    string   // the account the snapshot was shared with
	Snapshot     string

	BruteFirst, BruteLast time.Time
	BruteDenied           int // denied calls in the burst
	BruteServices         int // distinct services they went to
	AWSInternal           int // calls S3 made to KMS on a caller's behalf ("AWS Internal")
	AttackerEvents        int // records the attacker signed (StolenKey from AttackerIP, and AdminKey)
	FirstAttack           time.Time
	LastAttack            time.Time
	ForeignLast           time.Time // the last call signed by StolenKey from AttackerIP
	Records               int
}

const (
	theftAccount  = "444455556666"
	theftOutside  = "999988887777"
	theftRegion   = "us-east-1"
	theftFnIP     = "3.91.171.40"
	theftAtkIP    = "203.0.113.7"
	theftFunction = "invoice-export"
	theftBucket   = "acme-invoices"
	lambdaUA      = "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209-218.812.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.34"
	awsInternal   = "AWS Internal"
)

// theft is the planning state of GenerateTheft.
type theft struct {
	r    *rand.Rand
	m    *TheftCase
	num  uint64
	recs []struct {
		t    int64
		data []byte
	}
	kmsKey string
}

func (th *theft) add(rc *rec, attacker bool) {
	var w jw
	rc.emit(&w)
	th.recs = append(th.recs, struct {
		t    int64
		data []byte
	}{rc.t, w.b})
	if attacker {
		th.m.AttackerEvents++
		t := time.Unix(rc.t, 0).UTC()
		if th.m.FirstAttack.IsZero() || t.Before(th.m.FirstAttack) {
			th.m.FirstAttack = t
		}
		if t.After(th.m.LastAttack) {
			th.m.LastAttack = t
		}
		if rc.id.key == th.m.StolenKey && t.After(th.m.ForeignLast) {
			th.m.ForeignLast = t
		}
		if !slices.Contains(th.m.AttackerUA, rc.ua) {
			th.m.AttackerUA = append(th.m.AttackerUA, rc.ua)
		}
	}
}

// call starts a record of a call made with identity id.
func (th *theft) call(t int64, id ident, ip, ua, src, name string) *rec {
	rc := &rec{}
	rc.begin(th.r, th.m.Account, t, src, name, th.m.Region)
	rc.ver = versionFor(src)
	rc.id = id
	rc.ip, rc.ua = ip, ua
	rc.tlsHost = hostFor(src, th.m.Region)
	return rc
}

// s3 fills a data event on an object of the bucket.
func (th *theft) s3(rc *rec, key string, out, in int) {
	b := th.m.Bucket
	rc.cat = "Data"
	rc.mgmt = false
	rc.reqID = s3ReqID(th.r)
	rc.ver = "1.09"
	rc.tlsHost = b + ".s3.amazonaws.com"
	rc.req = func(w *jw) {
		w.ks("bucketName", b)
		w.ks("Host", b+".s3.amazonaws.com")
		if key != "" {
			w.ks("key", key)
		}
	}
	id2 := amzID2(th.r)
	rc.aed = func(w *jw) {
		w.ks("SignatureVersion", "SigV4")
		w.ks("CipherSuite", "TLS_AES_128_GCM_SHA256")
		w.ki("bytesTransferredIn", int64(in))
		w.ks("AuthenticationMethod", "AuthHeader")
		w.ks("x-amz-id-2", id2)
		w.ki("bytesTransferredOut", int64(out))
	}
	rc.res = []resource{{typ: "AWS::S3::Object", arn: "arn:aws:s3:::" + b + "/" + key},
		{acct: th.m.Account, typ: "AWS::S3::Bucket", arn: "arn:aws:s3:::" + b}}
	if key == "" {
		rc.res = rc.res[1:]
	}
}

// kms is the KMS call S3 makes on the caller's behalf for an SSE-KMS object: recorded with
// the caller's identity and key, from "AWS Internal".
func (th *theft) kms(t int64, id ident, name string) {
	rc := th.call(t, id, awsInternal, awsInternal, "kms.amazonaws.com", name)
	rc.id.invokedBy = awsInternal
	rc.tlsHost = ""
	rc.ro = name == "Decrypt"
	key, b := th.kmsKey, th.m.Bucket
	rc.req = func(w *jw) {
		if name == "GenerateDataKey" {
			w.ks("keyId", key)
			w.ks("keySpec", "AES_256")
		}
		w.ko("encryptionContext")
		w.ks("aws:s3:arn", "arn:aws:s3:::"+b)
		w.end()
		w.ks("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
	}
	rc.res = []resource{{acct: th.m.Account, typ: "AWS::KMS::Key", arn: key}}
	th.add(rc, false)
	th.m.AWSInternal++
}

// GenerateTheft writes the stolen session key incident under dir as CloudTrail S3 delivery
// files (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/, one .json.gz per 5-minute batch)
// and returns its ground truth. The same options give byte-identical files.
func GenerateTheft(ctx context.Context, dir string, o TheftOptions) (TheftCase, error) {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	}
	day := o.Start.UTC().Truncate(24 * time.Hour).Unix()
	m := TheftCase{Account: theftAccount, Region: theftRegion, Function: theftFunction, FunctionIP: theftFnIP,
		AttackerIP: theftAtkIP, Bucket: theftBucket, ExposedTo: theftOutside}
	th := &theft{r: rand.New(rand.NewPCG(mix(o.Seed, 0x7e4f7), mix(o.Seed, 3))), m: &m, num: 0x4444555566}
	r := th.r
	acct := m.Account
	fnRole := role{name: "invoice-export-role", path: "/service-role/", id: awsID("AROA", th.num, r)}
	admin := role{name: "ops-admin", path: "/", id: awsID("AROA", th.num, r)}
	m.FunctionRole = fnRole.arn(acct)
	m.AdminRole = admin.arn(acct)
	th.kmsKey = "arn:aws:kms:" + m.Region + ":" + acct + ":key/" + uuid(r)
	m.Snapshot = resID(r, "snap")

	// 08:00 Lambda assumes the function's role for a new execution environment.
	t := day + 8*3600
	m.StolenKey = awsID("ASIA", th.num, r)
	rc := th.call(t, ident{typ: "AWSService", invokedBy: "lambda.amazonaws.com"}, "lambda.amazonaws.com",
		"lambda.amazonaws.com", "sts.amazonaws.com", "AssumeRole")
	rc.tlsHost = ""
	rc.ro = true
	session := "awslambda_" + strconv.Itoa(100+r.IntN(900)) + "_" + time.Unix(t, 0).UTC().Format("20060102150405") + "123"
	roleArn, stolen, tok := m.FunctionRole, m.StolenKey, sessionToken(r, 420)
	exp := stsDate(t + 12*3600)
	rc.req = func(w *jw) {
		w.ks("roleArn", roleArn)
		w.ks("roleSessionName", session)
	}
	rc.resp = func(w *jw) {
		w.ko("credentials")
		w.ks("accessKeyId", stolen)
		w.ks("sessionToken", tok)
		w.ks("expiration", exp)
		w.end()
	}
	rc.res = []resource{{acct: acct, typ: "AWS::IAM::Role", arn: roleArn}}
	rc.shared = uuid(r)
	m.IssuedEvent = rc.evID
	th.add(rc, false)

	fnSess := &sessCtx{issuerType: "Role", issuerPID: fnRole.id, issuerArn: m.FunctionRole, issuerAcct: acct,
		issuerUser: fnRole.name, created: t}
	fnID := ident{typ: "AssumedRole", pid: fnRole.id + ":" + m.Function,
		arn: "arn:aws:sts::" + acct + ":assumed-role/" + fnRole.name + "/" + m.Function, acct: acct, key: m.StolenKey, sess: fnSess}

	// The function's own work, every 10 minutes until noon.
	for run := day + 8*3600 + 30; run < day+12*3600; run += 600 {
		rt := run + int64(r.IntN(20))
		stamp := time.Unix(rt, 0).UTC().Format("2006-01-02T1504")
		rc := th.call(rt, fnID, m.FunctionIP, lambdaUA, "s3.amazonaws.com", "GetObject")
		th.s3(rc, "incoming/orders.csv", 18000+r.IntN(4000), 0)
		rc.ro = true
		th.add(rc, false)
		th.kms(rt, fnID, "Decrypt")
		rt += int64(1 + r.IntN(3))
		rc = th.call(rt, fnID, m.FunctionIP, lambdaUA, "s3.amazonaws.com", "PutObject")
		th.s3(rc, "exports/"+stamp+".csv", 0, 9000+r.IntN(2000))
		th.add(rc, false)
		th.kms(rt, fnID, "GenerateDataKey")
	}

	// 10:17 the attacker validates the stolen key from a laptop.
	atkID := fnID
	t = day + 10*3600 + 17*60 + 5
	rc = th.call(t, atkID, m.AttackerIP, kaliBoto3New, "sts.amazonaws.com", "GetCallerIdentity")
	rc.ro = true
	th.add(rc, true)

	// 10:18 permission brute-force (enumerate-iam): many services, mostly denied.
	probes := []struct{ src, name, code string }{
		{"iam", "ListUsers", "AccessDenied"}, {"iam", "ListRoles", "AccessDenied"}, {"iam", "GetAccountAuthorizationDetails", "AccessDenied"},
		{"iam", "ListPolicies", "AccessDenied"}, {"ec2", "DescribeInstances", "Client.UnauthorizedOperation"},
		{"ec2", "DescribeVpcs", "Client.UnauthorizedOperation"}, {"ec2", "DescribeSnapshots", "Client.UnauthorizedOperation"},
		{"ec2", "DescribeSecurityGroups", "Client.UnauthorizedOperation"}, {"lambda", "ListFunctions20150331", "AccessDenied"},
		{"dynamodb", "ListTables", "AccessDenied"}, {"sns", "ListTopics", "AuthorizationError"}, {"sqs", "ListQueues", "AccessDenied"},
		{"rds", "DescribeDBInstances", "AccessDenied"}, {"secretsmanager", "ListSecrets", "AccessDenied"},
		{"ssm", "DescribeParameters", "AccessDeniedException"}, {"kms", "ListKeys", "AccessDeniedException"},
		{"logs", "DescribeLogGroups", "AccessDeniedException"}, {"ecs", "ListClusters", "AccessDeniedException"},
		{"eks", "ListClusters", "AccessDeniedException"}, {"cloudformation", "DescribeStacks", "AccessDenied"},
		{"s3", "ListBuckets", ""}, {"sts", "GetCallerIdentity", ""}, {"cloudtrail", "DescribeTrails", "AccessDenied"},
		{"guardduty", "ListDetectors", "AccessDeniedException"}, {"organizations", "DescribeOrganization", "AccessDeniedException"},
	}
	t = day + 10*3600 + 18*60 + 2
	services := map[string]bool{}
	for round := 0; round < 2; round++ {
		for _, p := range probes {
			if round == 1 && p.code == "" {
				continue
			}
			t += int64(1 + r.IntN(3))
			src := p.src + ".amazonaws.com"
			rc := th.call(t, atkID, m.AttackerIP, kaliBoto3New, src, p.name)
			rc.ro = true
			if p.code != "" {
				rc.errCode = p.code
				rc.errMsg = "User: " + atkID.arn + " is not authorized to perform: " + p.src + ":" + strings.TrimSuffix(p.name, "20150331") +
					" because no identity-based policy allows the " + p.src + ":" + strings.TrimSuffix(p.name, "20150331") + " action"
				if m.BruteFirst.IsZero() {
					m.BruteFirst = time.Unix(t, 0).UTC()
				}
				m.BruteLast = time.Unix(t, 0).UTC()
				m.BruteDenied++
				services[src] = true
			}
			if p.name == "ListBuckets" {
				rc.reqID = s3ReqID(r)
				rc.req = func(w *jw) { w.ks("Host", "s3.amazonaws.com") }
			}
			th.add(rc, true)
		}
	}
	m.BruteServices = len(services)

	// 10:24 the bucket: list it, read what looks useful.
	t = day + 10*3600 + 24*60 + 11
	cli := func(cmd string) string { return "[" + kaliCLIPrefix + cmd + "]" }
	rc = th.call(t, atkID, m.AttackerIP, cli("s3.ls"), "s3.amazonaws.com", "ListObjects")
	th.s3(rc, "", 2200, 0)
	rc.ro = true
	b := m.Bucket
	rc.req = func(w *jw) {
		w.ks("bucketName", b)
		w.ks("Host", b+".s3.amazonaws.com")
		w.ks("prefix", "")
	}
	th.add(rc, true)
	for _, key := range []string{"config/deploy.json", "emergency.txt"} {
		t += int64(8 + r.IntN(20))
		rc := th.call(t, atkID, m.AttackerIP, cli("s3.cp"), "s3.amazonaws.com", "GetObject")
		th.s3(rc, key, 900+r.IntN(3000), 0)
		rc.ro = true
		th.add(rc, true)
		th.kms(t, atkID, "Decrypt")
		m.ObjectsRead = append(m.ObjectsRead, key)
	}

	// 10:26 role chaining: the function's role may assume ops-admin.
	t = day + 10*3600 + 26*60 + 3
	m.AdminKey = awsID("ASIA", th.num, r)
	rc = th.call(t, atkID, m.AttackerIP, kaliCLIPrefix+"sts.assume-role", "sts.amazonaws.com", "AssumeRole")
	rc.ro = true
	adminArn, adminKey, adminTok := m.AdminRole, m.AdminKey, sessionToken(r, 520)
	adminExp := stsDate(t + 3600)
	adminUser := "arn:aws:sts::" + acct + ":assumed-role/" + admin.name + "/recovery"
	rc.req = func(w *jw) {
		w.ks("roleArn", adminArn)
		w.ks("roleSessionName", "recovery")
	}
	rc.resp = func(w *jw) {
		w.ko("credentials")
		w.ks("accessKeyId", adminKey)
		w.ks("sessionToken", adminTok)
		w.ks("expiration", adminExp)
		w.end()
		w.ko("assumedRoleUser")
		w.ks("assumedRoleId", admin.id+":recovery")
		w.ks("arn", adminUser)
		w.end()
	}
	rc.res = []resource{{acct: acct, typ: "AWS::IAM::Role", arn: adminArn}}
	th.add(rc, true)
	admID := ident{typ: "AssumedRole", pid: admin.id + ":recovery", arn: adminUser, acct: acct, key: m.AdminKey,
		sess: &sessCtx{issuerType: "Role", issuerPID: admin.id, issuerArn: adminArn, issuerAcct: acct,
			issuerUser: admin.name, created: t}}

	// 10:27 with the admin session: open the bucket to the world.
	t += 64
	rc = th.call(t, admID, m.AttackerIP, cli("s3api.delete-public-access-block"), "s3.amazonaws.com", "DeleteBucketPublicAccessBlock")
	th.s3(rc, "", 0, 0)
	rc.cat, rc.mgmt = "Management", true
	rc.req = func(w *jw) {
		w.ks("bucketName", b)
		w.ks("Host", b+".s3.amazonaws.com")
		w.ks("publicAccessBlock", "")
	}
	th.add(rc, true)
	t += int64(20 + r.IntN(20))
	owner := hexN(r, 64)
	rc = th.call(t, admID, m.AttackerIP, cli("s3api.put-bucket-acl"), "s3.amazonaws.com", "PutBucketAcl")
	th.s3(rc, "", 0, 0)
	rc.cat, rc.mgmt = "Management", true
	rc.req = func(w *jw) {
		w.ks("bucketName", b)
		w.ks("Host", b+".s3.amazonaws.com")
		w.ks("acl", "")
		w.ko("AccessControlPolicy")
		w.ko("AccessControlList")
		w.ka("Grant")
		w.obj()
		w.ko("Grantee")
		w.ks("xsi:type", "CanonicalUser")
		w.ks("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
		w.ks("ID", owner)
		w.end()
		w.ks("Permission", "FULL_CONTROL")
		w.end()
		w.obj()
		w.ko("Grantee")
		w.ks("xsi:type", "Group")
		w.ks("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
		w.ks("URI", "http://acs.amazonaws.com/groups/global/AllUsers")
		w.end()
		w.ks("Permission", "READ")
		w.end()
		w.earr()
		w.end()
		w.ks("xmlns", "http://s3.amazonaws.com/doc/2006-03-01/")
		w.ko("Owner")
		w.ks("ID", owner)
		w.end()
		w.end()
	}
	th.add(rc, true)
	t += int64(20 + r.IntN(20))
	rc = th.call(t, admID, m.AttackerIP, cli("s3api.put-bucket-policy"), "s3.amazonaws.com", "PutBucketPolicy")
	th.s3(rc, "", 0, 0)
	rc.cat, rc.mgmt = "Management", true
	rc.req = func(w *jw) {
		w.ko("bucketPolicy")
		w.ks("Version", "2012-10-17")
		w.ka("Statement")
		w.obj()
		w.ks("Sid", "PublicRead")
		w.ks("Effect", "Allow")
		w.ks("Principal", "*")
		w.ks("Action", "s3:GetObject")
		w.ks("Resource", "arn:aws:s3:::"+b+"/*")
		w.end()
		w.earr()
		w.end()
		w.ks("bucketName", b)
		w.ks("Host", b+".s3.amazonaws.com")
		w.ks("policy", "")
	}
	th.add(rc, true)

	// 10:29 the ransom note, then the exports are deleted.
	t += int64(60 + r.IntN(30))
	rc = th.call(t, admID, m.AttackerIP, cli("s3.cp"), "s3.amazonaws.com", "PutObject")
	th.s3(rc, "README-RECOVER-FILES.txt", 0, 612)
	th.add(rc, true)
	th.kms(t, admID, "GenerateDataKey")
	m.ObjectsPut = append(m.ObjectsPut, "README-RECOVER-FILES.txt")
	// the exports the function wrote before the note: their names carry the minute it wrote them
	var gone []string
	for _, rr := range th.recs {
		if rr.t < t && bytes.Contains(rr.data, []byte(`"eventName":"PutObject"`)) && bytes.Contains(rr.data, []byte(lambdaUA)) {
			if i := bytes.Index(rr.data, []byte(`"key":"exports/`)); i >= 0 {
				k := rr.data[i+len(`"key":"`):]
				gone = append(gone, string(k[:bytes.IndexByte(k, '"')]))
			}
		}
	}
	t += int64(30 + r.IntN(30))
	rc = th.call(t, admID, m.AttackerIP, cli("s3.rm"), "s3.amazonaws.com", "DeleteObjects")
	th.s3(rc, "", 0, 0)
	rc.req = func(w *jw) {
		w.ks("bucketName", b)
		w.ks("Host", b+".s3.amazonaws.com")
		w.ks("delete", "")
	}
	rc.res = nil
	for _, k := range gone {
		rc.res = append(rc.res, resource{typ: "AWS::S3::Object", arn: "arn:aws:s3:::" + b + "/" + k})
	}
	rc.res = append(rc.res, resource{acct: acct, typ: "AWS::S3::Bucket", arn: "arn:aws:s3:::" + b})
	th.add(rc, true)
	m.ObjectsGone = gone

	// 10:33 a snapshot of the database volume shared with the attacker's account.
	t += int64(180 + r.IntN(60))
	rc = th.call(t, admID, m.AttackerIP, kaliCLIPrefix+"ec2.modify-snapshot-attribute", "ec2.amazonaws.com", "ModifySnapshotAttribute")
	snap, out := m.Snapshot, m.ExposedTo
	rc.req = func(w *jw) {
		w.ks("snapshotId", snap)
		w.ks("attributeType", "CREATE_VOLUME_PERMISSION")
		w.ko("createVolumePermission")
		w.ko("add")
		w.ka("items")
		w.obj()
		w.ks("userId", out)
		w.end()
		w.earr()
		w.end()
		w.end()
	}
	reqID := rc.reqID
	rc.resp = func(w *jw) {
		w.ks("requestId", reqID)
		w.kb("_return", true)
	}
	th.add(rc, true)

	slices.Sort(m.ObjectsRead)
	slices.Sort(m.ObjectsPut)
	slices.Sort(m.ObjectsGone)
	slices.Sort(m.AttackerUA)
	m.Records = len(th.recs)
	if err := ctx.Err(); err != nil {
		return m, err
	}
	return m, th.write(dir)
}

// write delivers the records as CloudTrail does: one file per 5-minute batch, named by its
// delivery time.
func (th *theft) write(dir string) error {
	slices.SortStableFunc(th.recs, func(a, b struct {
		t    int64
		data []byte
	}) int {
		return int(a.t - b.t)
	})
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzLevel)
	for i := 0; i < len(th.recs); {
		win := th.recs[i].t / window
		j := i
		var w jw
		w.b = append(w.b, `{"Records":[`...)
		for ; j < len(th.recs) && th.recs[j].t/window == win; j++ {
			w.raw(th.recs[j].data)
		}
		w.b = append(w.b, "]}"...)
		ts := (win + 1) * window
		tb := time.Unix(ts, 0).UTC()
		rel := filepath.Join("AWSLogs", th.m.Account, "CloudTrail", th.m.Region, tb.Format("2006"), tb.Format("01"), tb.Format("02"),
			fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", th.m.Account, th.m.Region, tb.Format("20060102T1504Z"), pick(th.r, alnum, 16)))
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		if err := writeGz(p, gz, &buf, w.b); err != nil {
			return err
		}
		i = j
	}
	return nil
}
