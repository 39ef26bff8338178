package synth

import "strconv"

// Owner session kinds.
const (
	sessConsole uint8 = iota
	sessCLI
	sessBoto3
)

type ownerSession struct {
	start  int64
	kind   uint8
	region uint8
	key    string // console sessions: the ASIA key of the console session
}

// Owner operations.
const (
	opConsoleLogin uint8 = iota
	opGetCallerIdentity
	opGetUser
	opListAccessKeys
	opListBuckets
	opGetBucketLocation
	opDescribeInstances
	opDescribeSecurityGroups
	opDescribeVpcs
	opStartInstances
	opStopInstances
	opListFunctions
	opGetFunction
	opUpdateFunctionCode
	opDescribeLogGroups
	opFilterLogEvents
	opDescribeStacks
	opDescribeTable
	opGetParameter
	opListClusters
	opDescribeServices
	opGetCostAndUsage
	numOwnerOps
)

type ownerOp struct {
	w      [3]int // weight per session kind (console, cli, boto3)
	global bool   // recorded in us-east-1 regardless of the session region
	cmd    string // aws-cli command for the user agent
}

func ownerOps() []ownerOp {
	ops := make([]ownerOp, numOwnerOps)
	ops[opConsoleLogin] = ownerOp{global: true}
	ops[opGetCallerIdentity] = ownerOp{w: [3]int{0, 8, 6}, cmd: "sts.get-caller-identity"}
	ops[opGetUser] = ownerOp{w: [3]int{2, 3, 1}, global: true, cmd: "iam.get-user"}
	ops[opListAccessKeys] = ownerOp{w: [3]int{1, 2, 0}, global: true, cmd: "iam.list-access-keys"}
	ops[opListBuckets] = ownerOp{w: [3]int{4, 6, 4}, cmd: "s3.ls"}
	ops[opGetBucketLocation] = ownerOp{w: [3]int{2, 4, 8}, cmd: "s3api.get-bucket-location"}
	ops[opDescribeInstances] = ownerOp{w: [3]int{10, 8, 10}, cmd: "ec2.describe-instances"}
	ops[opDescribeSecurityGroups] = ownerOp{w: [3]int{4, 3, 2}, cmd: "ec2.describe-security-groups"}
	ops[opDescribeVpcs] = ownerOp{w: [3]int{2, 2, 1}, cmd: "ec2.describe-vpcs"}
	ops[opStartInstances] = ownerOp{w: [3]int{1, 1, 0}, cmd: "ec2.start-instances"}
	ops[opStopInstances] = ownerOp{w: [3]int{1, 1, 0}, cmd: "ec2.stop-instances"}
	ops[opListFunctions] = ownerOp{w: [3]int{5, 4, 2}, cmd: "lambda.list-functions"}
	ops[opGetFunction] = ownerOp{w: [3]int{4, 3, 3}, cmd: "lambda.get-function"}
	ops[opUpdateFunctionCode] = ownerOp{w: [3]int{1, 3, 1}, cmd: "lambda.update-function-code"}
	ops[opDescribeLogGroups] = ownerOp{w: [3]int{4, 3, 3}, cmd: "logs.describe-log-groups"}
	ops[opFilterLogEvents] = ownerOp{w: [3]int{4, 5, 8}, cmd: "logs.filter-log-events"}
	ops[opDescribeStacks] = ownerOp{w: [3]int{3, 2, 3}, cmd: "cloudformation.describe-stacks"}
	ops[opDescribeTable] = ownerOp{w: [3]int{2, 2, 6}, cmd: "dynamodb.describe-table"}
	ops[opGetParameter] = ownerOp{w: [3]int{1, 2, 8}, cmd: "ssm.get-parameter"}
	ops[opListClusters] = ownerOp{w: [3]int{3, 2, 2}, cmd: "ecs.list-clusters"}
	ops[opDescribeServices] = ownerOp{w: [3]int{3, 2, 4}, cmd: "ecs.describe-services"}
	ops[opGetCostAndUsage] = ownerOp{w: [3]int{2, 0, 0}, global: true, cmd: "ce.get-cost-and-usage"}
	return ops
}

// homeSlot returns 0 or 1 for the account's home region, or 0 if reg is not one.
func (a *account) homeSlot(reg uint8) int {
	if reg == a.home[1] && reg != a.home[0] {
		return 1
	}
	return 0
}

// owner fills rd.rc for an owner stub.
func (rd *renderer) owner(s *stub) {
	g := rd.g
	r := rd.r
	a := g.accts[s.acct]
	ss := &a.sessions[s.aux]
	region := g.region(s.reg)
	rc := &rd.rc
	op := s.sub

	if op == opConsoleLogin {
		rc.begin(r, a.id, s.t, "signin.amazonaws.com", "ConsoleLogin", region)
		rc.reqID = ""
		rc.evType = "AwsConsoleSignIn"
		rc.id = ident{typ: "IAMUser", pid: a.ownerPID, arn: a.ownerArn, acct: a.id, user: a.owner}
		rc.ip = a.homeIP
		rc.ua = ownerBrowser
		rc.resp = func(w *jw) { w.ks("ConsoleLogin", "Success") }
		state := hexN(r, 16)
		mfa := "No"
		if a.mfa {
			mfa = "Yes"
		}
		rc.aed = func(w *jw) {
			w.ks("LoginTo", "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_"+state)
			w.ks("MobileVersion", "No")
			w.ks("MFAUsed", mfa)
		}
		rc.tlsHost = "signin.aws.amazon.com"
		return
	}

	src, name := ownerOpName(op)
	rc.begin(r, a.id, s.t, src, name, region)
	rc.ver = versionFor(src)
	rc.ip = a.homeIP
	key := a.ownerKey
	if a.rotateAt > 0 && s.t >= a.rotateAt {
		key = a.newKey
	}
	rc.id = ident{typ: "IAMUser", pid: a.ownerPID, arn: a.ownerArn, acct: a.id, key: key, user: a.owner}
	isS3 := src == "s3.amazonaws.com"
	switch ss.kind {
	case sessConsole:
		rc.id.key = ss.key
		rd.sc = sessCtx{created: ss.start, mfa: a.mfa}
		rc.id.sess = &rd.sc
		rc.consoleCred = true
		rc.ua = ownerBrowser
		if isS3 {
			rc.ua = s3ConsoleUA
		}
	case sessCLI:
		rc.ua = ownerCLIPrefix + g.ops[op].cmd
		if isS3 {
			rc.ua = "[" + rc.ua + "]"
		}
	default:
		rc.ua = ownerBoto3
		if isS3 {
			rc.ua = "[" + rc.ua + "]"
		}
	}
	svc := src[:len(src)-len(".amazonaws.com")]
	rc.tlsHost = regionalHost(svc, region)
	rc.ro = true
	slot := a.homeSlot(s.reg)
	switch op {
	case opGetCallerIdentity:
		rc.tlsHost = regionalHost("sts", region)
	case opGetUser, opListAccessKeys:
		rc.tlsHost = "iam.amazonaws.com"
	case opListBuckets:
		host := regionalHost("s3", region)
		rc.req = func(w *jw) { w.ks("Host", host) }
		rc.aed = s3AED(r, 1200+r.IntN(900))
		rc.reqID = s3ReqID(r)
		rc.tlsHost = host
	case opGetBucketLocation:
		b := a.buckets[r.IntN(len(a.buckets))]
		host := b + ".s3." + region + ".amazonaws.com"
		rc.req = func(w *jw) {
			w.ks("bucketName", b)
			w.ks("Host", host)
			w.ks("location", "")
		}
		rc.aed = s3AED(r, 137)
		rc.reqID = s3ReqID(r)
		rc.res = []resource{{arn: "arn:aws:s3:::" + b, acct: a.id, typ: "AWS::S3::Bucket"}}
		rc.tlsHost = host
	case opDescribeInstances:
		console := ss.kind == sessConsole
		rc.req = func(w *jw) {
			if console {
				w.ki("maxResults", 1000)
			}
			w.emptyObj("instancesSet")
			w.emptyObj("filterSet")
		}
	case opDescribeSecurityGroups:
		rc.req = func(w *jw) {
			w.emptyObj("securityGroupSet")
			w.emptyObj("securityGroupIdSet")
			w.emptyObj("filterSet")
		}
	case opDescribeVpcs:
		rc.req = func(w *jw) {
			w.emptyObj("vpcSet")
			w.emptyObj("filterSet")
		}
	case opStartInstances, opStopInstances:
		rc.ro = false
		ids := a.instances[slot]
		inst := ids[r.IntN(len(ids))]
		reqID := rc.reqID
		start := op == opStartInstances
		rc.req = func(w *jw) {
			w.ko("instancesSet")
			w.ka("items")
			w.obj()
			w.ks("instanceId", inst)
			w.end()
			w.earr()
			w.end()
			if !start {
				w.kb("force", false)
			}
		}
		rc.resp = func(w *jw) {
			w.ks("requestId", reqID)
			w.ko("instancesSet")
			w.ka("items")
			w.obj()
			w.ks("instanceId", inst)
			if start {
				w.ko("currentState")
				w.ki("code", 0)
				w.ks("name", "pending")
				w.end()
				w.ko("previousState")
				w.ki("code", 80)
				w.ks("name", "stopped")
				w.end()
			} else {
				w.ko("currentState")
				w.ki("code", 64)
				w.ks("name", "stopping")
				w.end()
				w.ko("previousState")
				w.ki("code", 16)
				w.ks("name", "running")
				w.end()
			}
			w.end()
			w.earr()
			w.end()
		}
	case opListFunctions:
	case opGetFunction:
		f := a.functions[r.IntN(len(a.functions))]
		rc.req = func(w *jw) { w.ks("functionName", f) }
	case opUpdateFunctionCode:
		rc.ro = false
		f := a.functions[r.IntN(len(a.functions))]
		arn := "arn:aws:lambda:" + region + ":" + a.id + ":function:" + f
		roleArn := a.fnRole.arn(a.id)
		size := int64(20000 + r.IntN(4000000))
		sha := pick(r, b64, 43) + "="
		rev := uuid(r)
		mod := string(appendTime(nil, s.t)[:19]) + "." + strconv.Itoa(100+r.IntN(900)) + "+0000"
		rc.req = func(w *jw) {
			w.ks("functionName", f)
			w.kb("publish", false)
			w.kb("dryRun", false)
		}
		rc.resp = func(w *jw) {
			w.ks("functionName", f)
			w.ks("functionArn", arn)
			w.ks("runtime", "python3.12")
			w.ks("role", roleArn)
			w.ks("handler", "app.handler")
			w.ki("codeSize", size)
			w.ks("description", "")
			w.ki("timeout", 30)
			w.ki("memorySize", 256)
			w.ks("lastModified", mod)
			w.ks("codeSha256", sha)
			w.ks("version", "$LATEST")
			w.ko("tracingConfig")
			w.ks("mode", "PassThrough")
			w.end()
			w.ks("revisionId", rev)
			w.ks("state", "Active")
			w.ks("lastUpdateStatus", "InProgress")
			w.ks("lastUpdateStatusReason", "The function is being created.")
			w.ks("lastUpdateStatusReasonCode", "Creating")
			w.ks("packageType", "Zip")
			w.ka("architectures")
			w.str("arm64")
			w.earr()
			w.ko("ephemeralStorage")
			w.ki("size", 512)
			w.end()
		}
	case opDescribeLogGroups:
		rc.req = func(w *jw) { w.ki("limit", 50) }
	case opFilterLogEvents:
		lg := a.logGrps[r.IntN(len(a.logGrps))]
		end := s.t * 1000
		start := end - int64(900+r.IntN(86400))*1000
		rc.req = func(w *jw) {
			w.ks("logGroupName", lg)
			w.ki("startTime", start)
			w.ki("endTime", end)
			w.kb("interleaved", true)
		}
	case opDescribeStacks:
		st := a.stacks[r.IntN(len(a.stacks))]
		rc.req = func(w *jw) { w.ks("stackName", st) }
	case opDescribeTable:
		t := a.tables[r.IntN(len(a.tables))]
		rc.req = func(w *jw) { w.ks("tableName", t) }
	case opGetParameter:
		p := a.params[r.IntN(len(a.params))]
		rc.req = func(w *jw) {
			w.ks("name", p)
			w.kb("withDecryption", true)
		}
	case opListClusters:
	case opDescribeServices:
		cl := a.ecsClus
		svcs := a.ecsSvcs
		rc.req = func(w *jw) {
			w.ks("cluster", cl)
			w.ka("services")
			for _, s := range svcs {
				w.str(s)
			}
			w.earr()
		}
	case opGetCostAndUsage:
		from := string(appendTime(nil, s.t-9*86400)[:10])
		to := string(appendTime(nil, s.t)[:10])
		rc.tlsHost = "ce.us-east-1.amazonaws.com"
		rc.req = func(w *jw) {
			w.ko("timePeriod")
			w.ks("start", from)
			w.ks("end", to)
			w.end()
			w.ks("granularity", "DAILY")
			w.ka("metrics")
			w.str("UnblendedCost")
			w.earr()
			w.ka("groupBy")
			w.obj()
			w.ks("type", "DIMENSION")
			w.ks("key", "SERVICE")
			w.end()
			w.earr()
		}
	}
}

func ownerOpName(op uint8) (src, name string) {
	switch op {
	case opGetCallerIdentity:
		return "sts.amazonaws.com", "GetCallerIdentity"
	case opGetUser:
		return "iam.amazonaws.com", "GetUser"
	case opListAccessKeys:
		return "iam.amazonaws.com", "ListAccessKeys"
	case opListBuckets:
		return "s3.amazonaws.com", "ListBuckets"
	case opGetBucketLocation:
		return "s3.amazonaws.com", "GetBucketLocation"
	case opDescribeInstances:
		return "ec2.amazonaws.com", "DescribeInstances"
	case opDescribeSecurityGroups:
		return "ec2.amazonaws.com", "DescribeSecurityGroups"
	case opDescribeVpcs:
		return "ec2.amazonaws.com", "DescribeVpcs"
	case opStartInstances:
		return "ec2.amazonaws.com", "StartInstances"
	case opStopInstances:
		return "ec2.amazonaws.com", "StopInstances"
	case opListFunctions:
		return "lambda.amazonaws.com", "ListFunctions20150331"
	case opGetFunction:
		return "lambda.amazonaws.com", "GetFunction20150331v2"
	case opUpdateFunctionCode:
		return "lambda.amazonaws.com", "UpdateFunctionCode20150331v2"
	case opDescribeLogGroups:
		return "logs.amazonaws.com", "DescribeLogGroups"
	case opFilterLogEvents:
		return "logs.amazonaws.com", "FilterLogEvents"
	case opDescribeStacks:
		return "cloudformation.amazonaws.com", "DescribeStacks"
	case opDescribeTable:
		return "dynamodb.amazonaws.com", "DescribeTable"
	case opGetParameter:
		return "ssm.amazonaws.com", "GetParameter"
	case opListClusters:
		return "ecs.amazonaws.com", "ListClusters"
	case opDescribeServices:
		return "ecs.amazonaws.com", "DescribeServices"
	case opGetCostAndUsage:
		return "ce.amazonaws.com", "GetCostAndUsage"
	}
	return "sts.amazonaws.com", "GetCallerIdentity"
}
