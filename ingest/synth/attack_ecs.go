package synth

import (
	"net/url"
	"slices"
	"strconv"
	"time"
)

const (
	// forgottenRegion is where the owner's containment misses the attacker's instances.
	forgottenRegion = "ap-southeast-2"

	ecsFamily  = "sysupdate"
	ecsImage   = "public.ecr.aws/q7w3e9r2/sysupdate:latest"
	ecsCPU     = "16384"
	ecsMemory  = "32768"
	ecsRegions = 12
	ecsWaves   = 17
	ecsSize    = "16 vCPU / 32 GB" // ecsCPU and ecsMemory as query cost names them
)

// ecsNet writes networkConfiguration.
func ecsNet(w *jw, subnet, sg string) {
	w.ko("networkConfiguration")
	w.ko("awsvpcConfiguration")
	w.ka("subnets")
	w.str(subnet)
	w.earr()
	w.ka("securityGroups")
	w.str(sg)
	w.earr()
	w.ks("assignPublicIp", "ENABLED")
	w.end()
	w.end()
}

// ecs: Fargate mining tasks in many regions over about two days, driven with
// the backdoor user's key through an assumed admin role.
func (at *atk) ecs(t int64) {
	g, a := at.g, at.a
	u1, u2 := at.users[0], at.users[1]
	uid := at.userIdent(u1)
	ua := kaliBoto3New

	rc := at.ev(t, uid, atkIP2, ua, "sts.amazonaws.com", "GetCallerIdentity", "us-east-1")
	rc.ro = true
	at.commit(true)
	at.mile(t, "backdoor key of "+u1.name+" used from "+atkIP2)

	// Role the attacker assumes and passes to the tasks.
	t += at.gap(5, 20)
	at.ecsRole = role{name: "ecs-task-runner", path: "/", id: awsID("AROA", a.num, at.r)}
	rl := at.ecsRole
	roleArn := rl.arn(a.id)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"` + u1.arn + `"},"Action":"sts:AssumeRole"}]}`
	rc = at.ev(t, uid, atkIP2, ua, "iam.amazonaws.com", "CreateRole", "us-east-1")
	created := iamDate(t)
	rc.req = func(w *jw) {
		w.ks("roleName", rl.name)
		w.ks("assumeRolePolicyDocument", trust)
	}
	rc.resp = func(w *jw) {
		w.ko("role")
		w.ks("path", "/")
		w.ks("roleName", rl.name)
		w.ks("roleId", rl.id)
		w.ks("arn", roleArn)
		w.ks("createDate", created)
		w.ks("assumeRolePolicyDocument", url.QueryEscape(trust))
		w.end()
	}
	at.commit(true)
	for _, p := range []string{adminPolicy, ecsExecPolicy} {
		t += at.gap(2, 8)
		rc = at.ev(t, uid, atkIP2, ua, "iam.amazonaws.com", "AttachRolePolicy", "us-east-1")
		rc.req = func(w *jw) {
			w.ks("roleName", rl.name)
			w.ks("policyArn", p)
		}
		at.commit(true)
	}
	at.mile(t, "attacker creates role "+rl.name+" with AdministratorAccess")

	// The second backdoor key is tested once.
	t2 := t - t%86400 + 12*3600 + 7*60 + at.gap(0, 300)
	for _, name := range []string{"GetCallerIdentity", "ListUsers"} {
		src := "sts.amazonaws.com"
		if name == "ListUsers" {
			src = "iam.amazonaws.com"
		}
		rc := at.ev(t2, at.userIdent(u2), atkIP2, ua, src, name, "us-east-1")
		rc.ro = true
		at.commit(true)
		t2 += at.gap(3, 10)
	}

	perm := at.r.Perm(len(g.regions))
	var regs []string
	for _, p := range perm[:ecsRegions] {
		regs = append(regs, g.regions[p])
	}
	slices.Sort(regs)
	cluster := "ecs-worker-" + pick(at.r, lowerAN, 6)
	wallet := "4" + pick(at.r, "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", 94)
	command := "./sysupdate -o stratum+tcp://pool.example.net:3333 -u " + wallet + " -p fargate --cpu-max-threads-hint=100 --donate-level=0"

	base := t + at.gap(60, 180)
	for k := 0; k < ecsWaves; k++ {
		t = base + int64(k)*3*3600 + at.gap(0, 900)
		// Fresh one-hour credentials for the wave.
		sess := "botocore-session-" + strconv.FormatInt(t, 10)
		key := awsID("ASIA", a.num, at.r)
		tok := sessionToken(at.r, 600)
		exp := stsDate(t + 3600)
		rid := rl.id + ":" + sess
		sarn := "arn:aws:sts::" + a.id + ":assumed-role/" + rl.name + "/" + sess
		rc := at.ev(t, uid, atkIP2, ua, "sts.amazonaws.com", "AssumeRole", "us-east-1")
		rc.ro = true
		rc.req = func(w *jw) {
			w.ks("roleArn", roleArn)
			w.ks("roleSessionName", sess)
		}
		rc.resp = func(w *jw) {
			w.ko("credentials")
			w.ks("accessKeyId", key)
			w.ks("sessionToken", tok)
			w.ks("expiration", exp)
			w.end()
			w.ko("assumedRoleUser")
			w.ks("assumedRoleId", rid)
			w.ks("arn", sarn)
			w.end()
		}
		rc.res = []resource{{acct: a.id, typ: "AWS::IAM::Role", arn: roleArn}}
		at.commit(true)
		at.derived = append(at.derived, key)
		sid := ident{typ: "AssumedRole", pid: rid, arn: sarn, acct: a.id, key: key,
			sess: &sessCtx{issuerType: "Role", issuerPID: rl.id, issuerArn: roleArn, issuerAcct: a.id, issuerUser: rl.name, created: t}}

		wave := regs
		if k > 0 {
			n := 4 + at.r.IntN(5)
			p := at.r.Perm(len(regs))[:n]
			slices.Sort(p)
			wave = nil
			for _, i := range p {
				wave = append(wave, regs[i])
			}
		}
		for _, region := range wave {
			t += at.gap(3, 12)
			at.ecsRegion(&t, k, region, cluster, command, sid)
		}
		if k == 0 {
			at.mile(base, "ECS/Fargate campaign: clusters, task definitions, RunTask and CreateService in "+strconv.Itoa(len(regs))+" regions")
		}
	}
	at.mile(t, "last ECS RunTask wave")
}

func (at *atk) ecsRegion(tp *int64, wave int, region, cluster, command string, sid ident) {
	a, m := at.a, at.m
	reg := at.g.regIdx[region]
	rl := at.ecsRole
	roleArn := rl.arn(a.id)
	ua := kaliBoto3New
	subnet, sg := a.subnets[reg][at.r.IntN(3)], a.sgs[reg]
	clusterArn := "arn:aws:ecs:" + region + ":" + a.id + ":cluster/" + cluster
	tdArn := "arn:aws:ecs:" + region + ":" + a.id + ":task-definition/" + ecsFamily + ":1"
	createdBy := roleArn
	call := func(name string) *rec {
		*tp += at.gap(2, 9)
		return at.ev(*tp, sid, atkIP2, ua, "ecs.amazonaws.com", name, region)
	}
	// follow-on: each started task assumes the task role.
	follow := func(t int64, taskID string) {
		at.rd.rc.begin(at.r, a.id, t, "sts.amazonaws.com", "AssumeRole", region)
		rc := &at.rd.rc
		rc.id = ident{typ: "AWSService", invokedBy: "ecs-tasks.amazonaws.com"}
		rc.ip, rc.ua = "ecs-tasks.amazonaws.com", "ecs-tasks.amazonaws.com"
		at.rd.serviceAssume(a, rl, taskID, 6*3600, true)
		at.commit(false)
		m.ServiceSessions++
	}
	runTask := func(count int) {
		rc := call("RunTask")
		rt := rc.t
		rc.req = func(w *jw) {
			w.ks("cluster", cluster)
			w.ki("count", int64(count))
			w.ks("launchType", "FARGATE")
			ecsNet(w, subnet, sg)
			w.ks("taskDefinition", ecsFamily)
		}
		if wave > 0 && at.r.IntN(7) == 0 {
			rc.errCode = "ThrottlingException"
			rc.errMsg = "Rate exceeded"
			at.commit(true)
			return
		}
		ids := make([]string, count)
		for i := range ids {
			ids[i] = hexN(at.r, 32)
		}
		cids := make([]string, count)
		atts := make([]string, count)
		for i := range ids {
			cids[i] = uuid(at.r)
			atts[i] = uuid(at.r)
		}
		az := region + string(rune('a'+at.r.IntN(3)))
		createdAt := stsDate(rt)
		rc.resp = func(w *jw) {
			w.ka("tasks")
			for i, id := range ids {
				taskArn := "arn:aws:ecs:" + region + ":" + a.id + ":task/" + cluster + "/" + id
				w.obj()
				w.ka("attachments")
				w.obj()
				w.ks("id", atts[i])
				w.ks("type", "ElasticNetworkInterface")
				w.ks("status", "PRECREATED")
				w.ka("details")
				w.obj()
				w.ks("name", "subnetId")
				w.ks("value", subnet)
				w.end()
				w.earr()
				w.end()
				w.earr()
				w.ka("attributes")
				w.obj()
				w.ks("name", "ecs.cpu-architecture")
				w.ks("value", "x86_64")
				w.end()
				w.earr()
				w.ks("availabilityZone", az)
				w.ks("clusterArn", clusterArn)
				w.ka("containers")
				w.obj()
				w.ks("containerArn", "arn:aws:ecs:"+region+":"+a.id+":container/"+cluster+"/"+id+"/"+cids[i])
				w.ks("taskArn", taskArn)
				w.ks("name", ecsFamily)
				w.ks("image", ecsImage)
				w.ks("lastStatus", "PENDING")
				w.emptyArr("networkInterfaces")
				w.ks("cpu", "0")
				w.end()
				w.earr()
				w.ks("cpu", ecsCPU)
				w.ks("createdAt", createdAt)
				w.ks("desiredStatus", "RUNNING")
				w.kb("enableExecuteCommand", false)
				w.ks("group", "family:"+ecsFamily)
				w.ks("lastStatus", "PROVISIONING")
				w.ks("launchType", "FARGATE")
				w.ks("memory", ecsMemory)
				w.ko("overrides")
				w.ka("containerOverrides")
				w.obj()
				w.ks("name", ecsFamily)
				w.end()
				w.earr()
				w.emptyArr("inferenceAcceleratorOverrides")
				w.end()
				w.ks("platformVersion", "1.4.0")
				w.ks("platformFamily", "Linux")
				w.emptyArr("tags")
				w.ks("taskArn", taskArn)
				w.ks("taskDefinitionArn", tdArn)
				w.ki("version", 1)
				w.ko("ephemeralStorage")
				w.ki("sizeInGiB", 20)
				w.end()
				w.end()
			}
			w.earr()
			w.emptyArr("failures")
		}
		at.commit(true)
		m.ECSTasks[region] += count
		m.ECSTasksByHour[time.Unix(rt-rt%3600, 0).UTC().Format(time.RFC3339)] += count
		for _, id := range ids {
			at.runs = append(at.runs, &ComputeRun{Region: region, Service: "fargate", Type: ecsSize, ID: id, VCPU: 16, MemoryGB: 32,
				Start: time.Unix(rt, 0).UTC()})
			arn := "arn:aws:ecs:" + region + ":" + a.id + ":task/" + cluster + "/" + id
			at.taskArns[region] = append(at.taskArns[region], arn)
			m.LeftRunning = append(m.LeftRunning, Resource{region, "ecs", "task", arn}) // the owner never stops it
			follow(rt+at.gap(15, 90), id)
		}
	}

	if wave == 0 {
		rc := call("CreateCluster")
		rc.req = func(w *jw) { w.ks("clusterName", cluster) }
		rc.resp = func(w *jw) {
			w.ko("cluster")
			w.ks("clusterArn", clusterArn)
			w.ks("clusterName", cluster)
			w.ks("status", "ACTIVE")
			w.ki("registeredContainerInstancesCount", 0)
			w.ki("runningTasksCount", 0)
			w.ki("pendingTasksCount", 0)
			w.ki("activeServicesCount", 0)
			w.emptyArr("statistics")
			w.emptyArr("tags")
			w.ka("settings")
			w.obj()
			w.ks("name", "containerInsights")
			w.ks("value", "disabled")
			w.end()
			w.earr()
			w.emptyArr("capacityProviders")
			w.emptyArr("defaultCapacityProviderStrategy")
			w.end()
		}
		at.commit(true)
		m.ECSClusters[region] = clusterArn
		m.LeftRunning = append(m.LeftRunning, Resource{region, "ecs", "cluster", clusterArn}) // the owner never deletes it

		rc = call("RegisterTaskDefinition")
		regAt := stsDate(rc.t)
		containerDef := func(w *jw, full bool) {
			w.obj()
			w.ks("name", ecsFamily)
			w.ks("image", ecsImage)
			w.ki("cpu", 0)
			if full {
				w.emptyArr("portMappings")
			}
			w.kb("essential", true)
			w.ka("entryPoint")
			w.str("/bin/sh")
			w.str("-c")
			w.earr()
			w.ka("command")
			w.str(command)
			w.earr()
			if full {
				w.emptyArr("environment")
				w.emptyArr("mountPoints")
				w.emptyArr("volumesFrom")
				w.emptyArr("systemControls")
			}
			w.end()
		}
		rc.req = func(w *jw) {
			w.ks("family", ecsFamily)
			w.ks("taskRoleArn", roleArn)
			w.ks("executionRoleArn", roleArn)
			w.ks("networkMode", "awsvpc")
			w.ka("containerDefinitions")
			containerDef(w, false)
			w.earr()
			w.ka("requiresCompatibilities")
			w.str("FARGATE")
			w.earr()
			w.ks("cpu", ecsCPU)
			w.ks("memory", ecsMemory)
		}
		rc.resp = func(w *jw) {
			w.ko("taskDefinition")
			w.ks("taskDefinitionArn", tdArn)
			w.ka("containerDefinitions")
			containerDef(w, true)
			w.earr()
			w.ks("family", ecsFamily)
			w.ks("taskRoleArn", roleArn)
			w.ks("executionRoleArn", roleArn)
			w.ks("networkMode", "awsvpc")
			w.ki("revision", 1)
			w.emptyArr("volumes")
			w.ks("status", "ACTIVE")
			w.ka("requiresAttributes")
			for _, n := range []string{"com.amazonaws.ecs.capability.task-iam-role", "ecs.capability.task-eni"} {
				w.obj()
				w.ks("name", n)
				w.end()
			}
			w.earr()
			w.emptyArr("placementConstraints")
			w.ka("compatibilities")
			w.str("EC2")
			w.str("FARGATE")
			w.earr()
			w.ka("requiresCompatibilities")
			w.str("FARGATE")
			w.earr()
			w.ks("cpu", ecsCPU)
			w.ks("memory", ecsMemory)
			w.ks("registeredAt", regAt)
			w.ks("registeredBy", createdBy)
			w.end()
		}
		at.commit(true)

		runTask(10)
		runTask(10)

		rc = call("CreateService")
		svc := ecsFamily + "-svc"
		svcArn := "arn:aws:ecs:" + region + ":" + a.id + ":service/" + cluster + "/" + svc
		dep := "ecs-svc/" + strconv.FormatUint(at.r.Uint64()%9000000000000000000+1000000000000000000, 10)
		st := stsDate(rc.t)
		const desired = 10
		slrArn := a.slrECS.arn(a.id)
		rc.req = func(w *jw) {
			w.ks("cluster", cluster)
			w.ks("serviceName", svc)
			w.ks("taskDefinition", ecsFamily)
			w.ki("desiredCount", desired)
			w.ks("launchType", "FARGATE")
			ecsNet(w, subnet, sg)
		}
		rc.resp = func(w *jw) {
			w.ko("service")
			w.ks("serviceArn", svcArn)
			w.ks("serviceName", svc)
			w.ks("clusterArn", clusterArn)
			w.emptyArr("loadBalancers")
			w.emptyArr("serviceRegistries")
			w.ks("status", "ACTIVE")
			w.ki("desiredCount", desired)
			w.ki("runningCount", 0)
			w.ki("pendingCount", 0)
			w.ks("launchType", "FARGATE")
			w.ks("platformVersion", "LATEST")
			w.ks("platformFamily", "Linux")
			w.ks("taskDefinition", tdArn)
			w.ko("deploymentConfiguration")
			w.ko("deploymentCircuitBreaker")
			w.kb("enable", false)
			w.kb("rollback", false)
			w.end()
			w.ki("maximumPercent", 200)
			w.ki("minimumHealthyPercent", 100)
			w.end()
			w.ka("deployments")
			w.obj()
			w.ks("id", dep)
			w.ks("status", "PRIMARY")
			w.ks("taskDefinition", tdArn)
			w.ki("desiredCount", 0)
			w.ki("pendingCount", 0)
			w.ki("runningCount", 0)
			w.ki("failedTasks", 0)
			w.ks("createdAt", st)
			w.ks("updatedAt", st)
			w.ks("launchType", "FARGATE")
			w.ks("platformVersion", "1.4.0")
			w.ks("platformFamily", "Linux")
			ecsNet(w, subnet, sg)
			w.ks("rolloutState", "IN_PROGRESS")
			w.ks("rolloutStateReason", "ECS deployment "+dep+" in progress.")
			w.end()
			w.earr()
			w.ks("roleArn", slrArn)
			w.emptyArr("events")
			w.ks("createdAt", st)
			w.emptyArr("placementConstraints")
			w.emptyArr("placementStrategy")
			ecsNet(w, subnet, sg)
			w.ks("schedulingStrategy", "REPLICA")
			w.ks("createdBy", createdBy)
			w.kb("enableECSManagedTags", false)
			w.ks("propagateTags", "NONE")
			w.kb("enableExecuteCommand", false)
			w.end()
		}
		at.commit(true)
		m.ECSServiceDesired[region] += desired
		for i := 0; i < desired; i++ {
			r := &ComputeRun{Region: region, Service: "fargate", Type: ecsSize, ID: svcArn + "#" + strconv.Itoa(i+1), VCPU: 16, MemoryGB: 32,
				Start: time.Unix(rc.t, 0).UTC()}
			at.runs = append(at.runs, r)
			at.svcRuns[region] = append(at.svcRuns[region], r)
		}
		m.CleanedUp = append(m.CleanedUp, Resource{region, "ecs", "service", svcArn}) // the owner deletes it
		for i := 0; i < desired; i++ {
			follow(rc.t+at.gap(30, 240), hexN(at.r, 32))
		}
		return
	}

	rc := call("ListTasks")
	rc.ro = true
	rc.req = func(w *jw) {
		w.ks("cluster", cluster)
		w.ks("desiredStatus", "RUNNING")
	}
	at.commit(true)
	arns := at.taskArns[region]
	if len(arns) > 5 {
		arns = arns[len(arns)-5:]
	}
	arns = slices.Clone(arns)
	rc = call("DescribeTasks")
	rc.ro = true
	rc.req = func(w *jw) {
		w.ks("cluster", cluster)
		w.ka("tasks")
		for _, x := range arns {
			w.str(x)
		}
		w.earr()
	}
	at.commit(true)
	runTask(1 + at.r.IntN(10))
}

// contain: the owner notices the bill and cleans up from the console.
func (at *atk) contain(t int64) {
	g, a, m := at.g, at.a, at.m
	start := t
	mfa := "No"
	if a.mfa {
		mfa = "Yes"
	}
	login := ident{typ: "IAMUser", pid: a.ownerPID, arn: a.ownerArn, acct: a.id, user: a.owner}
	rc := at.ev(t, login, a.homeIP, ownerBrowser, "signin.amazonaws.com", "ConsoleLogin", "us-east-1")
	rc.reqID = ""
	rc.evType = "AwsConsoleSignIn"
	rc.resp = func(w *jw) { w.ks("ConsoleLogin", "Success") }
	state := hexN(at.r, 16)
	rc.aed = func(w *jw) {
		w.ks("LoginTo", "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_"+state)
		w.ks("MobileVersion", "No")
		w.ks("MFAUsed", mfa)
	}
	at.commit(false)
	at.mile(t, "owner signs in to the console and starts containment")

	cid := ident{typ: "IAMUser", pid: a.ownerPID, arn: a.ownerArn, acct: a.id, key: awsID("ASIA", a.num, at.r), user: a.owner,
		sess: &sessCtx{created: t, mfa: a.mfa}}
	call := func(src, name, region string, lo, hi int) *rec {
		t += at.gap(lo, hi)
		rc := at.ev(t, cid, a.homeIP, ownerBrowser, src, name, region)
		rc.consoleCred = true
		return rc
	}
	rc = call("ce.amazonaws.com", "GetCostAndUsage", "us-east-1", 20, 60)
	rc.ro = true
	from := string(appendTime(nil, t-9*86400)[:10])
	to := string(appendTime(nil, t)[:10])
	rc.req = func(w *jw) {
		w.ko("timePeriod")
		w.ks("start", from)
		w.ks("end", to)
		w.end()
		w.ks("granularity", "DAILY")
		w.ka("metrics")
		w.str("UnblendedCost")
		w.earr()
	}
	at.commit(false)
	for _, region := range g.sortedRegions() {
		rc := call("ec2.amazonaws.com", "DescribeInstances", region, 5, 20)
		rc.ro = true
		rc.req = func(w *jw) {
			w.ki("maxResults", 1000)
			w.emptyObj("instancesSet")
			w.emptyObj("filterSet")
		}
		at.commit(false)
	}
	rc = call("iam.amazonaws.com", "ListUsers", "us-east-1", 20, 60)
	rc.ro = true
	at.commit(false)
	owner := a.owner
	rc = call("iam.amazonaws.com", "ListAccessKeys", "us-east-1", 5, 20)
	rc.ro = true
	rc.req = func(w *jw) { w.ks("userName", owner) }
	at.commit(false)

	leakedKey := a.ownerKey
	rc = call("iam.amazonaws.com", "UpdateAccessKey", "us-east-1", 10, 40)
	rc.req = func(w *jw) {
		w.ks("userName", owner)
		w.ks("accessKeyId", leakedKey)
		w.ks("status", "Inactive")
	}
	at.commit(false)
	m.KeyDeactivated = time.Unix(t, 0).UTC()
	at.mile(t, "owner deactivates the leaked key")

	rc = call("iam.amazonaws.com", "CreateAccessKey", "us-east-1", 10, 40)
	newKey := a.newKey
	created := iamDate(t)
	rc.req = func(w *jw) { w.ks("userName", owner) }
	rc.resp = func(w *jw) {
		w.ko("accessKey")
		w.ks("accessKeyId", newKey)
		w.ks("status", "Active")
		w.ks("userName", owner)
		w.ks("createDate", created)
		w.end()
	}
	at.commit(false)
	a.rotateAt = t + 300

	for _, u := range at.users {
		name, key := u.name, u.key
		m.CleanedUp = append(m.CleanedUp, Resource{"global", "iam", "user", name},
			Resource{"global", "iam", "access-key", key}, Resource{"global", "iam", "login-profile", name})
		rc = call("iam.amazonaws.com", "ListAccessKeys", "us-east-1", 5, 20)
		rc.ro = true
		rc.req = func(w *jw) { w.ks("userName", name) }
		at.commit(false)
		rc = call("iam.amazonaws.com", "DeleteAccessKey", "us-east-1", 5, 20)
		rc.req = func(w *jw) {
			w.ks("userName", name)
			w.ks("accessKeyId", key)
		}
		at.commit(false)
		rc = call("iam.amazonaws.com", "DeleteLoginProfile", "us-east-1", 5, 20)
		rc.req = func(w *jw) { w.ks("userName", name) }
		at.commit(false)
		rc = call("iam.amazonaws.com", "DetachUserPolicy", "us-east-1", 5, 20)
		rc.req = func(w *jw) {
			w.ks("userName", name)
			w.ks("policyArn", adminPolicy)
		}
		at.commit(false)
		rc = call("iam.amazonaws.com", "DeleteUser", "us-east-1", 5, 20)
		rc.req = func(w *jw) { w.ks("userName", name) }
		at.commit(false)
	}
	rl := at.ecsRole
	for _, p := range []string{adminPolicy, ecsExecPolicy} {
		rc = call("iam.amazonaws.com", "DetachRolePolicy", "us-east-1", 5, 20)
		rc.req = func(w *jw) {
			w.ks("roleName", rl.name)
			w.ks("policyArn", p)
		}
		at.commit(false)
	}
	rc = call("iam.amazonaws.com", "DeleteRole", "us-east-1", 5, 20)
	rc.req = func(w *jw) { w.ks("roleName", rl.name) }
	at.commit(false)
	m.CleanedUp = append(m.CleanedUp, Resource{"global", "iam", "role", rl.name})
	at.mile(t, "owner deletes the backdoor users and role")

	// Terminate the miners region by region, but one region is missed.
	for _, region := range g.sortedRegions() {
		ids := at.inst[region]
		if len(ids) == 0 {
			continue
		}
		kind := &m.CleanedUp
		if region == forgottenRegion {
			kind = &m.LeftRunning
		}
		for _, id := range ids {
			*kind = append(*kind, Resource{region, "ec2", "instance", id})
		}
		if region == forgottenRegion {
			continue
		}
		rc := call("ec2.amazonaws.com", "TerminateInstances", region, 10, 40)
		for _, id := range ids {
			at.instRuns[id].End = time.Unix(rc.t, 0).UTC()
		}
		reqID := rc.reqID
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
		}
		rc.resp = func(w *jw) {
			w.ks("requestId", reqID)
			w.ko("instancesSet")
			w.ka("items")
			for _, id := range ids {
				w.obj()
				w.ks("instanceId", id)
				w.ko("currentState")
				w.ki("code", 32)
				w.ks("name", "shutting-down")
				w.end()
				w.ko("previousState")
				w.ki("code", 16)
				w.ks("name", "running")
				w.end()
				w.end()
			}
			w.earr()
			w.end()
		}
		at.commit(false)
	}
	for _, region := range g.sortedRegions() {
		clusterArn, ok := m.ECSClusters[region]
		if !ok {
			continue
		}
		svc := ecsFamily + "-svc"
		svcArn := "arn:aws:ecs:" + region + ":" + a.id + ":service/" + clusterArn[len("arn:aws:ecs:"+region+":"+a.id+":cluster/"):] + "/" + svc
		cluster := clusterArn[len("arn:aws:ecs:"+region+":"+a.id+":cluster/"):]
		running := m.ECSServiceDesired[region]
		rc := call("ecs.amazonaws.com", "DeleteService", region, 10, 40)
		for _, r := range at.svcRuns[region] {
			r.End = time.Unix(rc.t, 0).UTC()
		}
		rc.req = func(w *jw) {
			w.ks("cluster", cluster)
			w.ks("service", svc)
			w.kb("force", true)
		}
		rc.resp = func(w *jw) {
			w.ko("service")
			w.ks("serviceArn", svcArn)
			w.ks("serviceName", svc)
			w.ks("clusterArn", clusterArn)
			w.ks("status", "DRAINING")
			w.ki("desiredCount", 0)
			w.ki("runningCount", int64(running))
			w.ki("pendingCount", 0)
			w.ks("launchType", "FARGATE")
			w.end()
		}
		at.commit(false)
	}
	at.mile(t, "owner terminates the instances (missing those in "+forgottenRegion+") and deletes the ECS services, "+
		"but not the clusters and the tasks started by RunTask")
	a.containFrom = start - 90*60
	a.containTo = t + 15*60
}
