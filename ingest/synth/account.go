package synth

import (
	"math/rand/v2"
	"strconv"
)

// role is an IAM role in an account.
type role struct {
	name, path, id string
}

func (r role) arn(acct string) string {
	return "arn:aws:iam::" + acct + ":role" + r.path + r.name
}

// account is the static profile of one AWS account.
type account struct {
	idx    int
	id     string
	num    uint64
	seed   uint64
	victim bool

	owner    string // IAM user name of the human owner
	ownerPID string // AIDA…
	ownerArn string
	ownerKey string // AKIA…; the leaked key in the victim account
	newKey   string // victim only: key the owner creates during containment
	rotateAt int64  // victim only: from this time the owner signs with newKey
	// victim only: no ordinary owner sessions start in [containFrom, containTo)
	containFrom, containTo int64
	homeIP                 string
	home                   [2]uint8 // primary and secondary home region index
	mfa                    bool

	// per region (index = region index)
	vpcs    []string
	subnets [][3]string
	sgs     []string
	amis    []string

	instances [2][]string // owner's instances in the home regions
	privIPs   [2][]string
	vpce      [2]string // SSM interface endpoints in home regions
	functions []string
	fnRole    role
	ssmRole   role

	slrConfig, slrTA, slrInspector, slrASG, slrECS role

	buckets  []string // owner's data buckets
	tables   []string
	params   []string
	logGrps  []string
	stacks   []string
	ecsClus  string
	ecsSvcs  []string
	kmsKey   string // trail KMS key ARN
	trailArn string

	sessions []ownerSession
	root     string // S3 key prefix up to and including "ACCOUNT/"
}

type ownerProfile struct {
	name       string
	home1      string
	home2      string
	functions  []string
	buckets    []string
	tables     []string
	cluster    string
	services   []string
	stacks     []string
	parameters []string
}

func ownerProfiles() []ownerProfile {
	return []ownerProfile{
		{"mkeller", "eu-central-1", "eu-west-1",
			[]string{"invoice-export", "thumbnailer", "nightly-report"},
			[]string{"keller-analytics-raw", "keller-invoices", "keller-web-assets"},
			[]string{"customers", "orders"},
			"web-prod", []string{"web-api", "worker"},
			[]string{"web-prod-network", "web-prod-app"},
			[]string{"/web-prod/db/password", "/web-prod/stripe/key"}},
		{"deploy-ci", "us-east-2", "us-west-2",
			[]string{"build-notifier", "artifact-cleanup"},
			[]string{"ci-artifacts-store", "ci-build-cache"},
			[]string{"builds"},
			"ci-runners", []string{"runner"},
			[]string{"ci-infra"},
			[]string{"/ci/github/token"}},
		{"a.novak", "eu-west-2", "eu-west-1",
			[]string{"etl-loader", "slack-alerts"},
			[]string{"novak-datalake", "novak-exports"},
			[]string{"events"},
			"etl", []string{"scheduler"},
			[]string{"etl-pipeline"},
			[]string{"/etl/warehouse/dsn"}},
		{"svc-terraform", "us-west-2", "us-east-1",
			[]string{"drift-check"},
			[]string{"tf-state-prod", "tf-plans"},
			[]string{"tf-locks"},
			"platform", []string{"atlantis"},
			[]string{"platform-base", "platform-dns"},
			[]string{"/platform/atlantis/secret"}},
		{"lwang", "ap-southeast-2", "ap-southeast-1",
			[]string{"image-resize", "order-webhook"},
			[]string{"wang-media", "wang-backups"},
			[]string{"sessions"},
			"shop", []string{"storefront"},
			[]string{"shop-stack"},
			[]string{"/shop/api/key"}},
	}
}

func (g *gen) newAccount(i int, id string) *account {
	num, _ := strconv.ParseUint(id, 10, 64)
	a := &account{idx: i, id: id, num: num, seed: mix(g.o.Seed, 0xacc0+uint64(i)), victim: i == 0}
	r := rand.New(rand.NewPCG(a.seed, 0x5eed))
	profs := ownerProfiles()
	p := profs[i%len(profs)]
	a.owner = p.name
	if i >= len(profs) {
		a.owner = p.name + strconv.Itoa(i/len(profs)+1)
	}
	a.ownerPID = awsID("AIDA", num, r)
	a.ownerArn = "arn:aws:iam::" + id + ":user/" + a.owner
	a.ownerKey = awsID("AKIA", num, r)
	a.newKey = awsID("AKIA", num, r)
	a.homeIP = "203.0.113." + strconv.Itoa(47+(i*37)%200)
	a.home = [2]uint8{g.regIdx[p.home1], g.regIdx[p.home2]}
	a.mfa = i%2 == 0
	n := len(g.regions)
	a.vpcs = make([]string, n)
	a.subnets = make([][3]string, n)
	a.sgs = make([]string, n)
	a.amis = make([]string, n)
	for k := 0; k < n; k++ {
		a.vpcs[k] = resID(r, "vpc")
		for j := 0; j < 3; j++ {
			a.subnets[k][j] = resID(r, "subnet")
		}
		a.sgs[k] = resID(r, "sg")
		a.amis[k] = resID(r, "ami")
	}
	for h := 0; h < 2; h++ {
		cnt := 3 - h
		for j := 0; j < cnt; j++ {
			a.instances[h] = append(a.instances[h], resID(r, "i"))
			a.privIPs[h] = append(a.privIPs[h], "10.0."+strconv.Itoa(1+r.IntN(3)*16)+"."+strconv.Itoa(10+r.IntN(200)))
		}
		a.vpce[h] = resID(r, "vpce")
	}
	a.functions = p.functions
	a.fnRole = role{name: p.functions[0] + "-role-" + pick(r, lowerAN, 8), path: "/service-role/", id: awsID("AROA", num, r)}
	a.ssmRole = role{name: "AmazonSSMRoleForInstancesQuickSetup", path: "/", id: awsID("AROA", num, r)}
	a.slrConfig = role{name: "AWSServiceRoleForConfig", path: "/aws-service-role/config.amazonaws.com/", id: awsID("AROA", num, r)}
	a.slrTA = role{name: "AWSServiceRoleForTrustedAdvisor", path: "/aws-service-role/trustedadvisor.amazonaws.com/", id: awsID("AROA", num, r)}
	a.slrInspector = role{name: "AWSServiceRoleForAmazonInspector2", path: "/aws-service-role/inspector2.amazonaws.com/", id: awsID("AROA", num, r)}
	a.slrASG = role{name: "AWSServiceRoleForAutoScaling", path: "/aws-service-role/autoscaling.amazonaws.com/", id: awsID("AROA", num, r)}
	a.slrECS = role{name: "AWSServiceRoleForECS", path: "/aws-service-role/ecs.amazonaws.com/", id: awsID("AROA", num, r)}
	a.buckets = p.buckets
	a.tables = p.tables
	a.params = p.parameters
	a.stacks = p.stacks
	a.ecsClus = p.cluster
	a.ecsSvcs = p.services
	for _, f := range p.functions {
		a.logGrps = append(a.logGrps, "/aws/lambda/"+f)
	}
	a.logGrps = append(a.logGrps, "/ecs/"+p.cluster)
	a.kmsKey = "arn:aws:kms:" + trailHome + ":" + id + ":key/" + uuid(r)
	a.trailArn = "arn:aws:cloudtrail:" + trailHome + ":" + id + ":trail/" + g.o.TrailName
	return a
}

// region returns the region name of index i.
func (g *gen) region(i uint8) string { return g.regions[i] }
