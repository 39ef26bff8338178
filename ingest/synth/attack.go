package synth

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// atkEvent is one pre-rendered incident record (attacker, follow-on service
// activity, or the owner's containment).
type atkEvent struct {
	t        int64
	reg      uint8
	data     []byte
	attacker bool
	name     string
	ua       string
}

const (
	scannerIP  = "192.0.2.143"
	awsAgentIP = "72.21.217.97" // an Amazon address, as in AWS's own quarantine records
	atkIP1     = "198.51.100.77"
	atkIP2     = "192.0.2.210"

	adminPolicy   = "arn:aws:iam::aws:policy/AdministratorAccess"
	ecsExecPolicy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
	quotaCode     = "L-1216C47A"
	instanceType  = "c5.xlarge"
	canonicalAcct = "099720109477"
)

// sweep outcomes per region (fixed so the incident is the same for every seed).
const (
	outOK uint8 = iota
	outDenied
	outOptIn
	outVcpu
)

func sweepOutcome(region string) uint8 {
	switch region {
	case "sa-east-1", "ap-northeast-3":
		return outDenied // owner's IAM policy denies these regions
	case "ap-south-1", "eu-north-1":
		return outOptIn
	case "ca-central-1", "us-west-1":
		return outVcpu
	}
	return outOK
}

type iamUser struct {
	name, pid, arn, key string
}

// atk is the planning state of the incident.
type atk struct {
	g  *gen
	a  *account
	rd *renderer
	r  *rand.Rand
	m  *Manifest

	derived   []string
	users     []iamUser
	ecsRole   role
	taskArns  map[string][]string
	inst      map[string][]string // launched instance ids per region
	milestone []Milestone
	runs      []*ComputeRun            // what ran, for the manifest
	svcRuns   map[string][]*ComputeRun // region -> the ECS service's task slots
	instRuns  map[string]*ComputeRun   // instance id -> its run
}

func hostFor(src, region string) string {
	svc := strings.TrimSuffix(src, ".amazonaws.com")
	switch svc {
	case "iam", "sts", "s3":
		return svc + ".amazonaws.com"
	case "signin":
		return "signin.aws.amazon.com"
	case "servicequotas":
		return "servicequotas." + region + ".amazonaws.com"
	}
	return svc + "." + region + ".amazonaws.com"
}

// ev starts a record made with identity id.
func (at *atk) ev(t int64, id ident, ip, ua, src, name, region string) *rec {
	rc := &at.rd.rc
	rc.begin(at.r, at.a.id, t, src, name, region)
	rc.ver = versionFor(src)
	rc.id = id
	rc.ip, rc.ua = ip, ua
	rc.tlsHost = hostFor(src, region)
	return rc
}

// commit renders the current record and stores it.
func (at *atk) commit(attacker bool) {
	rc := &at.rd.rc
	var w jw
	w.b = make([]byte, 0, 1024)
	rc.emit(&w)
	at.g.attack = append(at.g.attack, atkEvent{
		t: rc.t, reg: at.g.regIdx[rc.region], data: w.b, attacker: attacker, name: rc.name, ua: rc.ua,
	})
}

func (at *atk) mile(t int64, s string) {
	at.milestone = append(at.milestone, Milestone{Time: time.Unix(t, 0).UTC(), Name: s})
}

func (at *atk) gap(lo, hi int) int64 { return int64(lo + at.r.IntN(hi-lo+1)) }

func (at *atk) userIdent(u iamUser) ident {
	return ident{typ: "IAMUser", pid: u.pid, arn: u.arn, acct: at.a.id, key: u.key, user: u.name}
}

func denyMsg(arn, action, resource string) string {
	m := "User: " + arn + " is not authorized to perform: " + action
	if resource != "" {
		m += " on resource: " + resource
	}
	return m + " with an explicit deny in an identity-based policy"
}

// planAttack renders the incident into g.attack and fills the ground truth.
func (g *gen) planAttack() {
	a := g.accts[0]
	rd := newRenderer(g)
	rd.reseed(mix(g.o.Seed, 0xa77ac4))
	at := &atk{g: g, a: a, rd: rd, r: rd.r, m: &g.m,
		taskArns: map[string][]string{}, inst: map[string][]string{},
		svcRuns: map[string][]*ComputeRun{}, instRuns: map[string]*ComputeRun{}}
	m := &g.m
	m.Account = a.id
	m.LeakedKey = a.ownerKey
	m.LeakedKeyUser = a.owner
	m.OwnerIP = a.homeIP
	m.OwnerNewKey = a.newKey
	m.RunInstances = map[string]int{}
	m.RunInstancesFailures = map[string]string{}
	m.ECSTasks = map[string]int{}
	m.ECSTasksByHour = map[string]int{}
	m.ECSServiceDesired = map[string]int{}
	m.ECSClusters = map[string]string{}
	m.AttackerIPs = []string{scannerIP, atkIP1, atkIP2}
	slices.Sort(m.AttackerIPs)

	d5 := g.day0 + 5*86400
	leaked := ident{typ: "IAMUser", pid: a.ownerPID, arn: a.ownerArn, acct: a.id, key: a.ownerKey, user: a.owner}

	// Phase 0: a secret scanner validates the key.
	t := d5 + 19*3600 + 12*60 + 7
	at.ev(t, leaked, scannerIP, scannerUA, "sts.amazonaws.com", "GetCallerIdentity", "us-east-1").ro = true
	at.commit(true)
	at.mile(t, "leaked key validated by a secret scanner (TruffleHog) from "+scannerIP)

	t = at.recon(d5+23*3600+14*60+at.gap(0, 40), leaked)
	s1 := at.persist(t+at.gap(60, 180), leaked)
	at.sweep(d5+23*3600+48*60+at.gap(0, 30), s1)
	at.quarantine(d5+86400+18*60+at.gap(0, 300), leaked)
	at.console(d5 + 86400 + 31*60 + at.gap(0, 50))
	at.ecs(d5 + 86400 + 65*60 + at.gap(0, 60))
	at.checks(d5+86400, s1)
	at.contain(d5 + 3*86400 + 8*3600 + 42*60 + at.gap(0, 50))

	slices.Sort(at.derived)
	m.DerivedKeys = at.derived
	for _, u := range at.users {
		m.AttackerUsers = append(m.AttackerUsers, u.name)
	}
	slices.Sort(m.AttackerUsers)
	m.AttackerRoles = []string{at.ecsRole.arn(a.id)}
	slices.SortFunc(at.milestone, func(x, y Milestone) int { return x.Time.Compare(y.Time) })
	m.Milestones = at.milestone
	for _, rs := range []*[]Resource{&m.LeftRunning, &m.CleanedUp} {
		slices.SortFunc(*rs, func(x, y Resource) int {
			return strings.Compare(x.Region+"\x00"+x.Service+"\x00"+x.Type+"\x00"+x.ID,
				y.Region+"\x00"+y.Service+"\x00"+y.Type+"\x00"+y.ID)
		})
	}
	slices.Sort(m.InstanceIDs)
	for _, i := range at.runs {
		m.ComputeRuns = append(m.ComputeRuns, *i)
	}
	slices.SortFunc(m.ComputeRuns, func(x, y ComputeRun) int {
		return strings.Compare(x.Region+"\x00"+x.Service+"\x00"+x.Type+"\x00"+x.ID, y.Region+"\x00"+y.Service+"\x00"+y.Type+"\x00"+y.ID)
	})

	m.IncidentEvents = len(g.attack)
	uas := map[string]bool{}
	m.AttackerEventsByName = map[string]int{}
	for _, e := range g.attack {
		if !e.attacker {
			continue
		}
		uas[e.ua] = true
		m.AttackerEvents++
		m.AttackerEventsByName[e.name]++
		tt := time.Unix(e.t, 0).UTC()
		if m.FirstAttackerEvent.IsZero() || tt.Before(m.FirstAttackerEvent) {
			m.FirstAttackerEvent = tt
		}
		if tt.After(m.LastAttackerEvent) {
			m.LastAttackerEvent = tt
		}
	}
	for ua := range uas {
		m.AttackerUserAgents = append(m.AttackerUserAgents, ua)
	}
	slices.Sort(m.AttackerUserAgents)
}

// quarantine: AWS finds the key exposed and puts its quarantine policy on the user. The
// record carries the user's identity and the leaked key, but comes from an AWS agent.
func (at *atk) quarantine(t int64, leaked ident) {
	const policy = "AWSCompromisedKeyQuarantineV3"
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"Stmt1538161409","Effect":"Deny","Action":["lambda:CreateFunction","iam:AttachUserPolicy","iam:PutUserPolicy","organizations:InviteAccountToOrganization","ec2:RunInstances","iam:DetachUserPolicy","iam:CreateUser","lightsail:Create*","lightsail:Update*","ec2:StartInstances","ec2:RequestSpotInstances","iam:ChangePassword","iam:CreateLoginProfile","organizations:CreateOrganization","organizations:CreateAccount","lightsail:Delete*","iam:AttachGroupPolicy","iam:CreateAccessKey","iam:UpdateUser","iam:UpdateAccountPasswordPolicy","iam:DeleteUserPolicy","iam:PutUserPermissionsBoundary","iam:UpdateAccessKey","iam:CreateInstanceProfile","lightsail:Start*","iam:CreateRole","iam:PutGroupPolicy","iam:AttachRolePolicy"],"Resource":["*"]}]}`
	user := at.a.owner
	rc := at.ev(t, leaked, awsAgentIP, awsInternalUA, "iam.amazonaws.com", "PutUserPolicy", "us-east-1")
	rc.req = func(w *jw) {
		w.ks("userName", user)
		w.ks("policyName", policy)
		w.ks("policyDocument", doc)
	}
	at.commit(false)
	at.m.Quarantine = time.Unix(t, 0).UTC()
	at.m.QuarantinePolicy = policy
	at.m.QuarantineIP = awsAgentIP
	at.mile(t, "AWS puts its quarantine policy "+policy+" on "+user)
}

// sortedRegions returns region names in alphabetical order, the order of a
// DescribeRegions response.
func (g *gen) sortedRegions() []string {
	rs := slices.Clone(g.regions)
	slices.Sort(rs)
	return rs
}

func (at *atk) recon(t int64, leaked ident) int64 {
	a := at.a
	cli := func(cmd string) string { return kaliCLIPrefix + cmd }
	rc := at.ev(t, leaked, atkIP1, cli("sts.get-caller-identity"), "sts.amazonaws.com", "GetCallerIdentity", "us-east-1")
	rc.ro = true
	at.commit(true)
	at.mile(t, "attacker validates the key from "+atkIP1+" (aws-cli on Kali)")

	iamCalls := []struct{ name, cmd string }{
		{"GetUser", "iam.get-user"},
		{"ListUsers", "iam.list-users"},
		{"ListAttachedUserPolicies", "iam.list-attached-user-policies"},
		{"ListUserPolicies", "iam.list-user-policies"},
		{"ListGroupsForUser", "iam.list-groups-for-user"},
		{"GetAccountAuthorizationDetails", "iam.get-account-authorization-details"},
		{"ListRoles", "iam.list-roles"},
		{"ListAccountAliases", "iam.list-account-aliases"},
		{"GetAccountSummary", "iam.get-account-summary"},
	}
	for _, c := range iamCalls {
		t += at.gap(3, 20)
		rc := at.ev(t, leaked, atkIP1, cli(c.cmd), "iam.amazonaws.com", c.name, "us-east-1")
		rc.ro = true
		switch c.name {
		case "ListAttachedUserPolicies", "ListUserPolicies", "ListGroupsForUser":
			u := a.owner
			rc.req = func(w *jw) { w.ks("userName", u) }
		}
		at.commit(true)
	}
	t += at.gap(5, 15)
	rc = at.ev(t, leaked, atkIP1, "["+cli("s3.ls")+"]", "s3.amazonaws.com", "ListBuckets", "us-east-1")
	rc.ro = true
	rc.reqID = s3ReqID(at.r)
	rc.req = func(w *jw) { w.ks("Host", "s3.amazonaws.com") }
	rc.aed = s3AED(at.r, 1450)
	at.commit(true)

	t += at.gap(5, 15)
	rc = at.ev(t, leaked, atkIP1, cli("ec2.describe-regions"), "ec2.amazonaws.com", "DescribeRegions", "us-east-1")
	rc.ro = true
	rc.req = func(w *jw) {
		w.emptyObj("regionSet")
		w.kb("allRegions", true)
	}
	at.commit(true)

	// Quota and account-attribute sweep over every region with boto3.
	t += at.gap(20, 60)
	for _, region := range at.g.sortedRegions() {
		denied := sweepOutcome(region) == outDenied
		t += at.gap(1, 3)
		rc := at.ev(t, leaked, atkIP1, kaliBoto3, "servicequotas.amazonaws.com", "GetServiceQuota", region)
		rc.ro = true
		if denied {
			rc.errCode = "AccessDenied"
			rc.errMsg = denyMsg(a.ownerArn, "servicequotas:GetServiceQuota", "arn:aws:servicequotas:"+region+":"+a.id+":ec2/"+quotaCode)
		} else {
			rc.req = func(w *jw) {
				w.ks("serviceCode", "ec2")
				w.ks("quotaCode", quotaCode)
			}
		}
		at.commit(true)
		t += at.gap(0, 2)
		rc = at.ev(t, leaked, atkIP1, kaliBoto3, "ec2.amazonaws.com", "DescribeAccountAttributes", region)
		rc.ro = true
		if denied {
			rc.errCode = "Client.UnauthorizedOperation"
			rc.errMsg = "You are not authorized to perform this operation. " + denyMsg(a.ownerArn, "ec2:DescribeAccountAttributes", "")
		}
		rc.req = func(w *jw) {
			w.ko("accountAttributeNameSet")
			w.ka("items")
			w.obj()
			w.ks("attributeName", "max-instances")
			w.end()
			w.earr()
			w.end()
			w.emptyObj("filterSet")
		}
		at.commit(true)
	}
	return t
}

// persist creates the backdoor users and mints a session token; it returns
// the identity of that session.
func (at *atk) persist(t int64, leaked ident) ident {
	a := at.a
	cli := func(cmd string) string { return kaliCLIPrefix + cmd }
	first := t
	for _, name := range []string{"ops-monitoring", "AdminsDDefault"} {
		u := iamUser{name: name, pid: awsID("AIDA", a.num, at.r), arn: "arn:aws:iam::" + a.id + ":user/" + name}
		rc := at.ev(t, leaked, atkIP1, cli("iam.create-user"), "iam.amazonaws.com", "CreateUser", "us-east-1")
		created := iamDate(t)
		rc.req = func(w *jw) { w.ks("userName", u.name) }
		rc.resp = func(w *jw) {
			w.ko("user")
			w.ks("path", "/")
			w.ks("userName", u.name)
			w.ks("userId", u.pid)
			w.ks("arn", u.arn)
			w.ks("createDate", created)
			w.end()
		}
		at.commit(true)

		t += at.gap(4, 15)
		rc = at.ev(t, leaked, atkIP1, cli("iam.attach-user-policy"), "iam.amazonaws.com", "AttachUserPolicy", "us-east-1")
		rc.req = func(w *jw) {
			w.ks("userName", u.name)
			w.ks("policyArn", adminPolicy)
		}
		at.commit(true)

		t += at.gap(4, 15)
		rc = at.ev(t, leaked, atkIP1, cli("iam.create-login-profile"), "iam.amazonaws.com", "CreateLoginProfile", "us-east-1")
		created = iamDate(t)
		rc.req = func(w *jw) {
			w.kb("passwordResetRequired", false)
			w.ks("userName", u.name)
		}
		rc.resp = func(w *jw) {
			w.ko("loginProfile")
			w.kb("passwordResetRequired", false)
			w.ks("userName", u.name)
			w.ks("createDate", created)
			w.end()
		}
		at.commit(true)

		t += at.gap(4, 15)
		u.key = awsID("AKIA", a.num, at.r)
		rc = at.ev(t, leaked, atkIP1, cli("iam.create-access-key"), "iam.amazonaws.com", "CreateAccessKey", "us-east-1")
		created = iamDate(t)
		rc.req = func(w *jw) { w.ks("userName", u.name) }
		rc.resp = func(w *jw) {
			w.ko("accessKey")
			w.ks("accessKeyId", u.key)
			w.ks("status", "Active")
			w.ks("userName", u.name)
			w.ks("createDate", created)
			w.end()
		}
		at.commit(true)
		at.users = append(at.users, u)
		at.derived = append(at.derived, u.key)
		t += at.gap(20, 60)
	}
	at.mile(first, "attacker creates IAM users ops-monitoring and AdminsDDefault with AdministratorAccess, login profiles and access keys")

	// GetSessionToken: a 36-hour ASIA key for the owner's user.
	t += at.gap(30, 90)
	key := awsID("ASIA", a.num, at.r)
	tok := sessionToken(at.r, 560)
	exp := stsDate(t + 129600)
	rc := at.ev(t, leaked, atkIP1, kaliBoto3, "sts.amazonaws.com", "GetSessionToken", "us-east-1")
	rc.req = func(w *jw) { w.ki("durationSeconds", 129600) }
	rc.resp = func(w *jw) {
		w.ko("credentials")
		w.ks("accessKeyId", key)
		w.ks("sessionToken", tok)
		w.ks("expiration", exp)
		w.end()
	}
	at.commit(true)
	at.derived = append(at.derived, key)
	at.mile(t, "GetSessionToken mints session key "+key)
	s1 := ident{typ: "IAMUser", pid: a.ownerPID, arn: a.ownerArn, acct: a.id, key: key, user: a.owner,
		sess: &sessCtx{created: t}}
	return s1
}

func (at *atk) encodedFailure() string {
	return pick(at.r, alnum+"-_", 420+at.r.IntN(200))
}

// sweep launches c5.xlarge instances in every region within ~27 minutes.
func (at *atk) sweep(t int64, s1 ident) {
	a, m := at.a, at.m
	for i, region := range at.g.sortedRegions() {
		reg := at.g.regIdx[region]
		rt := t + int64(i)*95 + at.gap(0, 20)
		out := sweepOutcome(region)

		rc := at.ev(rt, s1, atkIP1, kaliBoto3, "ec2.amazonaws.com", "DescribeImages", region)
		rc.ro = true
		if out == outDenied {
			rc.errCode = "Client.UnauthorizedOperation"
			rc.errMsg = "You are not authorized to perform this operation. " + denyMsg(a.ownerArn, "ec2:DescribeImages", "")
		}
		rc.req = func(w *jw) {
			w.emptyObj("imagesSet")
			w.ko("ownersSet")
			w.ka("items")
			w.obj()
			w.ks("owner", canonicalAcct)
			w.end()
			w.earr()
			w.end()
			w.ko("filterSet")
			w.ka("items")
			w.obj()
			w.ks("name", "name")
			w.ko("valueSet")
			w.ka("items")
			w.obj()
			w.ks("value", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*")
			w.end()
			w.earr()
			w.end()
			w.end()
			w.earr()
			w.end()
		}
		at.commit(true)

		run := func(n int, errCode, errMsg string) []string {
			rt += at.gap(2, 8)
			if m.SweepStart.IsZero() {
				m.SweepStart = time.Unix(rt, 0).UTC()
			}
			m.SweepEnd = time.Unix(rt, 0).UTC()
			rc := at.ev(rt, s1, atkIP1, kaliBoto3, "ec2.amazonaws.com", "RunInstances", region)
			rc.errCode, rc.errMsg = errCode, errMsg
			ami := a.amis[reg]
			token := uuid(at.r)
			rc.req = func(w *jw) {
				w.ko("instancesSet")
				w.ka("items")
				w.obj()
				w.ks("imageId", ami)
				w.ki("minCount", int64(n))
				w.ki("maxCount", int64(n))
				w.end()
				w.earr()
				w.end()
				w.ks("userData", "<sensitiveDataRemoved>")
				w.ks("instanceType", instanceType)
				w.emptyObj("blockDeviceMapping")
				w.ko("monitoring")
				w.kb("enabled", false)
				w.end()
				w.kb("disableApiTermination", false)
				w.kb("disableApiStop", false)
				w.ks("clientToken", token)
			}
			if errCode != "" {
				at.commit(true)
				return nil
			}
			ids := make([]string, n)
			for k := range ids {
				ids[k] = resID(at.r, "i")
			}
			resv := resID(at.r, "r")
			reqID := rc.reqID
			launch := rt * 1000
			sub := a.subnets[reg][at.r.IntN(3)]
			vpc, sg := a.vpcs[reg], a.sgs[reg]
			az := region + string(rune('a'+at.r.IntN(3)))
			dns := region + ".compute.internal"
			if region == "us-east-1" {
				dns = "ec2.internal"
			}
			ips := make([]string, n)
			for k := range ips {
				ips[k] = "172.31." + strconv.Itoa(at.r.IntN(64)) + "." + strconv.Itoa(4+at.r.IntN(250))
			}
			rc.resp = func(w *jw) {
				w.ks("requestId", reqID)
				w.ks("reservationId", resv)
				w.ks("ownerId", a.id)
				w.emptyObj("groupSet")
				w.ko("instancesSet")
				w.ka("items")
				for k, id := range ids {
					w.obj()
					w.ks("instanceId", id)
					w.ks("imageId", ami)
					w.ks("currentInstanceBootMode", "legacy-bios")
					w.ko("instanceState")
					w.ki("code", 0)
					w.ks("name", "pending")
					w.end()
					w.ks("privateDnsName", "ip-"+dashIP(ips[k])+"."+dns)
					w.ki("amiLaunchIndex", int64(k))
					w.emptyObj("productCodes")
					w.ks("instanceType", instanceType)
					w.ki("launchTime", launch)
					w.ko("placement")
					w.ks("availabilityZone", az)
					w.ks("tenancy", "default")
					w.end()
					w.ko("monitoring")
					w.ks("state", "disabled")
					w.end()
					w.ks("subnetId", sub)
					w.ks("vpcId", vpc)
					w.ks("privateIpAddress", ips[k])
					w.ko("stateReason")
					w.ks("code", "pending")
					w.ks("message", "pending")
					w.end()
					w.ks("architecture", "x86_64")
					w.ks("rootDeviceType", "ebs")
					w.ks("rootDeviceName", "/dev/sda1")
					w.emptyObj("blockDeviceMapping")
					w.ks("virtualizationType", "hvm")
					w.ks("hypervisor", "xen")
					w.ks("clientToken", token)
					w.ko("groupSet")
					w.ka("items")
					w.obj()
					w.ks("groupId", sg)
					w.ks("groupName", "default")
					w.end()
					w.earr()
					w.end()
					w.kb("sourceDestCheck", true)
					w.kb("ebsOptimized", false)
					w.kb("enaSupport", true)
					w.ko("cpuOptions")
					w.ki("coreCount", 2)
					w.ki("threadsPerCore", 2)
					w.end()
					w.ko("capacityReservationSpecification")
					w.ks("capacityReservationPreference", "open")
					w.end()
					w.ko("hibernationOptions")
					w.kb("configured", false)
					w.end()
					w.ko("enclaveOptions")
					w.kb("enabled", false)
					w.end()
					w.ko("metadataOptions")
					w.ks("state", "pending")
					w.ks("httpTokens", "required")
					w.ki("httpPutResponseHopLimit", 2)
					w.ks("httpEndpoint", "enabled")
					w.ks("httpProtocolIpv4", "enabled")
					w.ks("httpProtocolIpv6", "disabled")
					w.ks("instanceMetadataTags", "disabled")
					w.end()
					w.ko("maintenanceOptions")
					w.ks("autoRecovery", "default")
					w.end()
					w.end()
				}
				w.earr()
				w.end()
			}
			at.commit(true)
			return ids
		}
		vcpuMsg := func(limit int) string {
			return "You have requested more vCPU capacity than your current vCPU limit of " + strconv.Itoa(limit) +
				" allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."
		}
		switch out {
		case outDenied:
			run(20, "Client.UnauthorizedOperation", "You are not authorized to perform this operation. "+
				denyMsg(a.ownerArn, "ec2:RunInstances", "arn:aws:ec2:"+region+":"+a.id+":instance/*")+
				". Encoded authorization failure message: "+at.encodedFailure())
			m.RunInstancesFailures[region] = "Client.UnauthorizedOperation"
		case outOptIn:
			run(20, "Client.OptInRequired", "You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.")
			m.RunInstancesFailures[region] = "Client.OptInRequired"
		case outVcpu:
			run(20, "Client.VcpuLimitExceeded", vcpuMsg(0))
			run(1, "Client.VcpuLimitExceeded", vcpuMsg(0))
			m.RunInstancesFailures[region] = "Client.VcpuLimitExceeded"
		default:
			n := [...]int{1, 2, 4, 5, 8}[at.r.IntN(5)]
			if at.r.IntN(2) == 0 {
				run(20, "Client.VcpuLimitExceeded", vcpuMsg(n*4))
			}
			ids := run(n, "", "")
			for _, id := range ids {
				r := &ComputeRun{Region: region, Service: "ec2", Type: instanceType, ID: id, VCPU: 4, Start: time.Unix(rt, 0).UTC()}
				at.runs = append(at.runs, r)
				at.instRuns[id] = r
			}
			m.RunInstances[region] += len(ids)
			at.inst[region] = ids
			m.InstanceIDs = append(m.InstanceIDs, ids...)
			rt += at.gap(3, 10)
			rc := at.ev(rt, s1, atkIP1, kaliBoto3, "ec2.amazonaws.com", "DescribeInstances", region)
			rc.ro = true
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
			}
			at.commit(true)
		}
	}
	at.mile(m.SweepStart.Unix(), "RunInstances c5.xlarge sweep across every region begins")
	at.mile(m.SweepEnd.Unix(), "RunInstances sweep ends")
}

// console: the attacker signs in to the console as a backdoor user.
func (at *atk) console(t int64) {
	a, m := at.a, at.m
	u := at.users[0]
	id := ident{typ: "IAMUser", pid: u.pid, arn: u.arn, acct: a.id, user: u.name}
	rc := at.ev(t, id, atkIP1, attackerBrowse, "signin.amazonaws.com", "ConsoleLogin", "us-east-1")
	rc.reqID = ""
	rc.evType = "AwsConsoleSignIn"
	rc.resp = func(w *jw) { w.ks("ConsoleLogin", "Success") }
	state := hexN(at.r, 16)
	rc.aed = func(w *jw) {
		w.ks("LoginTo", "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_"+state)
		w.ks("MobileVersion", "No")
		w.ks("MFAUsed", "No")
	}
	at.commit(true)
	at.mile(t, "attacker console login as "+u.name+" from "+atkIP1)

	key := awsID("ASIA", a.num, at.r)
	m.AttackerConsoleKeys = append(m.AttackerConsoleKeys, key)
	cid := ident{typ: "IAMUser", pid: u.pid, arn: u.arn, acct: a.id, key: key, user: u.name, sess: &sessCtx{created: t}}
	call := func(src, name, region string) *rec {
		t += at.gap(4, 30)
		rc := at.ev(t, cid, atkIP1, attackerBrowse, src, name, region)
		rc.consoleCred = true
		return rc
	}
	for _, region := range []string{"us-east-1", "us-east-2", "eu-west-1"} {
		rc := call("ec2.amazonaws.com", "DescribeInstances", region)
		rc.ro = true
		rc.req = func(w *jw) {
			w.ki("maxResults", 1000)
			w.emptyObj("instancesSet")
			w.emptyObj("filterSet")
		}
		at.commit(true)
	}
	rc = call("servicequotas.amazonaws.com", "ListServiceQuotas", "us-east-1")
	rc.ro = true
	rc.req = func(w *jw) {
		w.ks("serviceCode", "ec2")
		w.ki("maxResults", 100)
	}
	at.commit(true)
	for _, region := range []string{"us-east-1", "us-east-2", "eu-west-1"} {
		rc := call("servicequotas.amazonaws.com", "RequestServiceQuotaIncrease", region)
		id := hexN(at.r, 32)
		created := t
		requester := `{"accountId":"` + a.id + `","callerArn":"` + u.arn + `"}`
		qarn := "arn:aws:servicequotas:" + region + ":" + a.id + ":ec2/" + quotaCode
		rc.req = func(w *jw) {
			w.ks("serviceCode", "ec2")
			w.ks("quotaCode", quotaCode)
			w.ki("desiredValue", 640)
		}
		rc.resp = func(w *jw) {
			w.ko("requestedQuota")
			w.ks("id", id)
			w.ks("serviceCode", "ec2")
			w.ks("serviceName", "Amazon Elastic Compute Cloud (Amazon EC2)")
			w.ks("quotaCode", quotaCode)
			w.ks("quotaName", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")
			w.ki("desiredValue", 640)
			w.ks("status", "PENDING")
			w.ks("created", stsDate(created))
			w.ks("requester", requester)
			w.ks("quotaArn", qarn)
			w.kb("globalQuota", false)
			w.ks("unit", "None")
			w.ks("quotaRequestedAtLevel", "ACCOUNT")
			w.end()
		}
		at.commit(true)
	}
}

// checks: the attacker periodically lists its instances with the session key.
func (at *atk) checks(d6 int64, s1 ident) {
	regions := make([]string, 0, len(at.m.RunInstances))
	for _, region := range at.g.sortedRegions() {
		if at.m.RunInstances[region] > 0 {
			regions = append(regions, region)
		}
	}
	for k := 0; k < 5; k++ {
		t := d6 + int64(6+6*k)*3600 + at.gap(0, 600)
		for _, region := range regions {
			t += at.gap(1, 4)
			rc := at.ev(t, s1, atkIP1, kaliBoto3, "ec2.amazonaws.com", "DescribeInstances", region)
			rc.ro = true
			rc.req = func(w *jw) {
				w.emptyObj("instancesSet")
				w.ko("filterSet")
				w.ka("items")
				w.obj()
				w.ks("name", "instance-type")
				w.ko("valueSet")
				w.ka("items")
				w.obj()
				w.ks("value", instanceType)
				w.end()
				w.earr()
				w.end()
				w.end()
				w.earr()
				w.end()
			}
			at.commit(true)
		}
	}
}
