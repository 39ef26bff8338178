package synth

import (
	"math/rand/v2"
	"strconv"
)

// Noise kinds: AWS service activity unrelated to the incident.
const (
	nConfigDescribe uint8 = iota // AWS Config service-linked role describing resources (all regions)
	nConfigAssume                // config.amazonaws.com assuming its service-linked role (all regions)
	nTrustedAdvisor              // Trusted Advisor service-linked role checks (all regions)
	nInspector                   // Inspector2 service-linked role scans (all regions)
	nCTBucketAcl                 // cloudtrail.amazonaws.com GetBucketAcl on the trail bucket (trail account, us-east-1)
	nCTKMS                       // cloudtrail.amazonaws.com GenerateDataKey on the trail key (trail account, us-east-1)
	nSSMAgent                    // SSM agent on the owner's instances (home regions)
	nASG                         // Auto Scaling service-linked role health checks (home regions)
	nLambdaAssume                // lambda.amazonaws.com assuming a function role (home regions)
	nECSAssume                   // ecs.amazonaws.com assuming AWSServiceRoleForECS (primary home region)
	numNoise
)

func noiseWeight(k uint8) int {
	switch k {
	case nConfigDescribe:
		return 30
	case nConfigAssume:
		return 5
	case nTrustedAdvisor:
		return 6
	case nInspector:
		return 10
	case nCTBucketAcl, nCTKMS:
		return 12
	case nSSMAgent:
		return 30
	case nASG:
		return 8
	case nLambdaAssume:
		return 10
	case nECSAssume:
		return 3
	}
	return 1
}

// noiseTable lists the noise kinds eligible in one account and region.
type noiseTable struct {
	kinds []uint8
	cum   []int // cumulative weights
}

func (t *noiseTable) pick(r *rand.Rand) uint8 {
	x := r.IntN(t.cum[len(t.cum)-1])
	for i, c := range t.cum {
		if x < c {
			return t.kinds[i]
		}
	}
	return t.kinds[len(t.kinds)-1]
}

func (g *gen) buildNoiseTables(a *account) []noiseTable {
	out := make([]noiseTable, len(g.regions))
	for ri := range g.regions {
		reg := uint8(ri)
		var t noiseTable
		add := func(k uint8) {
			t.kinds = append(t.kinds, k)
			prev := 0
			if len(t.cum) > 0 {
				prev = t.cum[len(t.cum)-1]
			}
			t.cum = append(t.cum, prev+noiseWeight(k))
		}
		add(nConfigDescribe)
		add(nConfigAssume)
		add(nTrustedAdvisor)
		add(nInspector)
		if a.idx == 0 && g.regions[ri] == trailHome {
			add(nCTBucketAcl)
			add(nCTKMS)
		}
		if reg == a.home[0] || reg == a.home[1] {
			add(nSSMAgent)
			add(nASG)
			add(nLambdaAssume)
		}
		if reg == a.home[0] {
			add(nECSAssume)
		}
		out[ri] = t
	}
	return out
}

// slotKey derives a stable value for (account, what, time slot).
func slotKey(a *account, what uint64, slot int64) uint64 {
	return mix(a.seed, what*0x100000001b3^uint64(slot))
}

// sessionStart returns a plausible creationDate for a service session that
// rotates every period seconds.
func sessionStart(a *account, what uint64, t, period int64) int64 {
	slot := t / period
	c := slot*period + int64(slotKey(a, what, slot)%uint64(period))
	if c > t {
		c -= period
	}
	return c
}

// slrIdent returns the identity of a service-linked role session; its
// sessionContext lives in rd.sc.
func (rd *renderer) slrIdent(a *account, rl role, session, service string, created int64) ident {
	rd.sc = sessCtx{issuerType: "Role", issuerPID: rl.id, issuerArn: rl.arn(a.id), issuerAcct: a.id, issuerUser: rl.name, created: created}
	return ident{
		typ:       "AssumedRole",
		pid:       rl.id + ":" + session,
		arn:       "arn:aws:sts::" + a.id + ":assumed-role/" + rl.name + "/" + session,
		acct:      a.id,
		sess:      &rd.sc,
		invokedBy: service,
	}
}

// noise fills rd.rc for a noise stub.
func (rd *renderer) noise(s *stub) {
	g := rd.g
	r := rd.r
	a := g.accts[s.acct]
	tab := &g.noiseTabs[s.acct][s.reg]
	kind := s.sub
	if r.IntN(10) >= 7 {
		kind = tab.pick(r)
	}
	region := g.region(s.reg)
	rc := &rd.rc
	const hour = 3600
	switch kind {
	case nConfigDescribe:
		names := [...]string{"DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "DescribeSubnets",
			"DescribeNetworkInterfaces", "DescribeVolumes", "DescribeRouteTables", "DescribeInternetGateways", "DescribeNetworkAcls",
			"GetRole", "ListAttachedRolePolicies", "ListRolePolicies"}
		n := 9
		if region == trailHome {
			n = len(names)
		}
		name := names[r.IntN(n)]
		src := "ec2.amazonaws.com"
		if name[0] != 'D' {
			src = "iam.amazonaws.com"
		}
		rc.begin(r, a.id, s.t, src, name, region)
		rc.id = rd.slrIdent(a, a.slrConfig, "AWSConfig-Describe", "config.amazonaws.com", sessionStart(a, 1<<8|uint64(s.reg), s.t, hour))
		rc.ip, rc.ua = "config.amazonaws.com", "config.amazonaws.com"
		rc.ro = true
		if src == "iam.amazonaws.com" {
			roles := [...]role{a.fnRole, a.ssmRole, a.slrConfig, a.slrECS, a.slrASG}
			rn := roles[r.IntN(len(roles))].name
			rc.req = func(w *jw) { w.ks("roleName", rn) }
		} else {
			rc.req = ec2DescribeReq(name)
		}
	case nConfigAssume:
		rc.begin(r, a.id, s.t, "sts.amazonaws.com", "AssumeRole", region)
		rc.id = ident{typ: "AWSService", invokedBy: "config.amazonaws.com"}
		rc.ip, rc.ua = "config.amazonaws.com", "config.amazonaws.com"
		rd.serviceAssume(a, a.slrConfig, "AWSConfig-Describe", hour, true)
	case nTrustedAdvisor:
		names := [...]string{"DescribeVolumes", "DescribeAddresses", "DescribeSnapshots", "DescribeReservedInstances", "GetAccountSummary", "GetAccountPasswordPolicy"}
		n := 4
		if region == trailHome {
			n = len(names)
		}
		name := names[r.IntN(n)]
		src := "ec2.amazonaws.com"
		if name[0] == 'G' {
			src = "iam.amazonaws.com"
		}
		rc.begin(r, a.id, s.t, src, name, region)
		day := s.t / 86400
		session := "TrustedAdvisor_" + a.id + "_" + uuid(rd.slotRand(slotKey(a, 2, day)))
		rc.id = rd.slrIdent(a, a.slrTA, session, "", s.t-int64(r.IntN(40)))
		rc.ip, rc.ua = "trustedadvisor.amazonaws.com", "trustedadvisor.amazonaws.com"
		rc.ro = true
		if src == "ec2.amazonaws.com" {
			rc.req = ec2DescribeReq(name)
		}
	case nInspector:
		name := "DescribeInstances"
		if r.IntN(4) == 0 {
			name = "DescribeImages"
		}
		rc.begin(r, a.id, s.t, "ec2.amazonaws.com", name, region)
		sk := slotKey(a, 3<<8|uint64(s.reg), s.t/hour)
		session := "MandoService" + strconv.FormatUint(sk%9000000000000000000+100000000000000000, 10)
		rc.id = rd.slrIdent(a, a.slrInspector, session, "inspector2.amazonaws.com", s.t-int64(r.IntN(20)))
		rc.ip, rc.ua = "inspector2.amazonaws.com", "inspector2.amazonaws.com"
		rc.ro = true
		if name == "DescribeImages" {
			ami := a.amis[s.reg]
			rc.req = func(w *jw) {
				w.ko("imagesSet")
				w.ka("items")
				w.obj()
				w.ks("imageId", ami)
				w.end()
				w.earr()
				w.end()
				w.kb("includeDeprecated", true)
			}
		} else {
			inst := ""
			if s.reg == a.home[0] || s.reg == a.home[1] {
				ids := a.instances[a.homeSlot(s.reg)]
				inst = ids[r.IntN(len(ids))]
			}
			rc.req = func(w *jw) {
				if inst == "" {
					w.emptyObj("instancesSet")
				} else {
					w.ko("instancesSet")
					w.ka("items")
					w.obj()
					w.ks("instanceId", inst)
					w.end()
					w.earr()
					w.end()
				}
				w.ko("filterSet")
				w.ka("items")
				w.obj()
				w.ks("name", "instance-state-name")
				w.ko("valueSet")
				w.ka("items")
				w.obj()
				w.ks("value", "running")
				w.end()
				w.obj()
				w.ks("value", "pending")
				w.end()
				w.earr()
				w.end()
				w.end()
				w.earr()
				w.end()
			}
		}
	case nCTBucketAcl:
		rc.begin(r, a.id, s.t, "s3.amazonaws.com", "GetBucketAcl", region)
		rc.reqID = s3ReqID(r)
		rc.id = ident{typ: "AWSService", invokedBy: "cloudtrail.amazonaws.com"}
		rc.ip, rc.ua = "cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com"
		rc.ro = true
		b := g.o.Bucket
		host := b + ".s3." + region + ".amazonaws.com"
		rc.req = func(w *jw) {
			w.ks("bucketName", b)
			w.ks("Host", host)
			w.ks("acl", "")
		}
		rc.aed = s3AED(r, 900+r.IntN(60))
		rc.res = []resource{{acct: a.id, typ: "AWS::S3::Bucket", arn: "arn:aws:s3:::" + b}}
		rc.shared = uuid(r)
	case nCTKMS:
		rc.begin(r, a.id, s.t, "kms.amazonaws.com", "GenerateDataKey", region)
		rc.id = ident{typ: "AWSService", invokedBy: "cloudtrail.amazonaws.com"}
		rc.ip, rc.ua = "cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com"
		rc.ro = true
		key, trail := a.kmsKey, a.trailArn
		s3arn := "arn:aws:s3:::" + g.o.Bucket + "/" + g.acctRoot(a) + "CloudTrail/"
		rc.req = func(w *jw) {
			w.ks("keyId", key)
			w.ko("encryptionContext")
			w.ks("aws:cloudtrail:arn", trail)
			w.ks("aws:s3:arn", s3arn)
			w.end()
			w.ks("keySpec", "AES_256")
		}
		rc.res = []resource{{acct: a.id, typ: "AWS::KMS::Key", arn: key}}
		rc.shared = uuid(r)
	case nSSMAgent:
		slot := a.homeSlot(s.reg)
		i := r.IntN(len(a.instances[slot]))
		inst, ip := a.instances[slot][i], a.privIPs[slot][i]
		name := "UpdateInstanceInformation"
		if r.IntN(3) == 0 {
			name = "ListInstanceAssociations"
		}
		rc.begin(r, a.id, s.t, "ssm.amazonaws.com", name, region)
		rc.ver = "1.09"
		const period = 6 * hour
		what := 4<<8 | uint64(slot)<<4 | uint64(i)
		created := sessionStart(a, what, s.t, period)
		rd.sc = sessCtx{issuerType: "Role", issuerPID: a.ssmRole.id, issuerArn: a.ssmRole.arn(a.id), issuerAcct: a.id,
			issuerUser: a.ssmRole.name, created: created, ec2Role: "2.0"}
		rc.id = ident{
			typ:  "AssumedRole",
			pid:  a.ssmRole.id + ":" + inst,
			arn:  "arn:aws:sts::" + a.id + ":assumed-role/" + a.ssmRole.name + "/" + inst,
			acct: a.id,
			key:  awsID("ASIA", a.num, rd.slotRand(slotKey(a, what, created))),
			sess: &rd.sc,
		}
		rc.ip, rc.ua = ip, ssmAgentUA
		rc.vpce = a.vpce[slot]
		rc.tlsHost = regionalHost("ssm", region)
		if name == "ListInstanceAssociations" {
			rc.ro = true
			rc.req = func(w *jw) {
				w.ks("instanceId", inst)
				w.ki("maxResults", 20)
			}
		} else {
			host := "ip-" + dashIP(ip) + "." + region + ".compute.internal"
			az := region + "a"
			rc.req = func(w *jw) {
				w.ks("instanceId", inst)
				w.ks("agentVersion", "3.3.987.0")
				w.ks("agentStatus", "Active")
				w.ks("platformType", "Linux")
				w.ks("platformName", "Amazon Linux")
				w.ks("platformVersion", "2023")
				w.ks("iPAddress", ip)
				w.ks("computerName", host)
				w.ks("agentName", "amazon-ssm-agent")
				w.ks("availabilityZone", az)
			}
		}
	case nASG:
		slot := a.homeSlot(s.reg)
		ids := a.instances[slot]
		if r.IntN(3) == 0 {
			rc.begin(r, a.id, s.t, "elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", region)
			tg := "arn:aws:elasticloadbalancing:" + region + ":" + a.id + ":targetgroup/" + a.ecsClus + "-tg/" + hex16(slotKey(a, 5, int64(s.reg)))
			rc.req = func(w *jw) { w.ks("targetGroupArn", tg) }
		} else {
			rc.begin(r, a.id, s.t, "ec2.amazonaws.com", "DescribeInstanceStatus", region)
			rc.req = func(w *jw) {
				w.ko("instancesSet")
				w.ka("items")
				for _, id := range ids {
					w.obj()
					w.ks("instanceId", id)
					w.end()
				}
				w.earr()
				w.end()
				w.emptyObj("filterSet")
				w.kb("includeAllInstances", true)
			}
		}
		rc.id = rd.slrIdent(a, a.slrASG, "AutoScaling", "autoscaling.amazonaws.com", s.t-int64(r.IntN(5)))
		rc.ip, rc.ua = "autoscaling.amazonaws.com", "autoscaling.amazonaws.com"
		rc.ro = true
	case nLambdaAssume:
		rc.begin(r, a.id, s.t, "sts.amazonaws.com", "AssumeRole", region)
		rc.id = ident{typ: "AWSService", invokedBy: "lambda.amazonaws.com"}
		rc.ip, rc.ua = "lambda.amazonaws.com", "lambda.amazonaws.com"
		ts := appendTime(nil, s.t)
		session := "awslambda_" + strconv.Itoa(100+r.IntN(900)) + "_" + string(ts[0:4]) + string(ts[5:7]) + string(ts[8:10]) +
			string(ts[11:13]) + string(ts[14:16]) + string(ts[17:19]) + strconv.Itoa(100+r.IntN(900))
		rd.serviceAssume(a, a.fnRole, session, 12*hour, false)
	case nECSAssume:
		rc.begin(r, a.id, s.t, "sts.amazonaws.com", "AssumeRole", region)
		rc.id = ident{typ: "AWSService", invokedBy: "ecs.amazonaws.com"}
		rc.ip, rc.ua = "ecs.amazonaws.com", "ecs.amazonaws.com"
		rd.serviceAssume(a, a.slrECS, "ecs-service-scheduler", hour, true)
	}
}

// serviceAssume fills request/response of an AssumeRole made by an AWS service.
func (rd *renderer) serviceAssume(a *account, rl role, session string, dur int64, withUser bool) {
	r := rd.r
	rc := &rd.rc
	rc.ro = true
	roleArn := rl.arn(a.id)
	key := awsID("ASIA", a.num, r)
	tok := sessionToken(r, 300+r.IntN(200))
	exp := stsDate(rc.t + dur)
	rid := rl.id + ":" + session
	uarn := "arn:aws:sts::" + a.id + ":assumed-role/" + rl.name + "/" + session
	rc.req = func(w *jw) {
		w.ks("roleArn", roleArn)
		w.ks("roleSessionName", session)
	}
	rc.resp = func(w *jw) {
		w.ko("credentials")
		w.ks("accessKeyId", key)
		w.ks("sessionToken", tok)
		w.ks("expiration", exp)
		w.end()
		if withUser {
			w.ko("assumedRoleUser")
			w.ks("assumedRoleId", rid)
			w.ks("arn", uarn)
			w.end()
		}
	}
	rc.res = []resource{{acct: a.id, typ: "AWS::IAM::Role", arn: roleArn}}
	rc.shared = uuid(r)
}

// ec2DescribeReq returns the empty-filter request of an EC2 Describe call.
func ec2DescribeReq(name string) func(w *jw) {
	var set string
	switch name {
	case "DescribeInstances":
		set = "instancesSet"
	case "DescribeSecurityGroups":
		return func(w *jw) {
			w.emptyObj("securityGroupSet")
			w.emptyObj("securityGroupIdSet")
			w.emptyObj("filterSet")
		}
	case "DescribeVpcs":
		set = "vpcSet"
	case "DescribeSubnets":
		set = "subnetSet"
	case "DescribeNetworkInterfaces":
		set = "networkInterfaceIdSet"
	case "DescribeVolumes":
		set = "volumeSet"
	case "DescribeRouteTables":
		set = "routeTableIdSet"
	case "DescribeInternetGateways":
		set = "internetGatewayIdSet"
	case "DescribeNetworkAcls":
		set = "networkAclIdSet"
	case "DescribeAddresses":
		return func(w *jw) {
			w.emptyObj("publicIpsSet")
			w.emptyObj("allocationIdsSet")
			w.emptyObj("filterSet")
		}
	case "DescribeSnapshots":
		return func(w *jw) {
			w.emptyObj("snapshotSet")
			w.ko("ownersSet")
			w.ka("items")
			w.obj()
			w.ks("owner", "self")
			w.end()
			w.earr()
			w.end()
			w.emptyObj("sharedUsersSet")
			w.emptyObj("filterSet")
		}
	case "DescribeReservedInstances":
		set = "reservedInstancesSet"
	default:
		return nil
	}
	return func(w *jw) {
		w.emptyObj(set)
		w.emptyObj("filterSet")
	}
}

// dashIP turns 10.0.1.23 into 10-0-1-23.
func dashIP(ip string) string {
	b := []byte(ip)
	for i, c := range b {
		if c == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

// hex16 formats v as 16 lower-case hex digits.
func hex16(v uint64) string {
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexd[v&0xf]
		v >>= 4
	}
	return string(b[:])
}
