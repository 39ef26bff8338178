// Package synth generates a realistic synthetic leaked-access-key incident as
// a CloudTrail S3 delivery tree of .json.gz log files plus CloudTrail-Digest
// files.
//
// The incident is modelled on two real cases: an IAM user's long-term key
// leaks, is validated by a secret scanner and then by an attacker, who creates
// IAM users, access keys, login profiles and an admin role for persistence,
// mints STS session keys, launches c5.xlarge instances in every region within
// about 27 minutes and runs Fargate tasks in many regions for about two days,
// until the owner contains it. The owner's normal use and AWS service noise in
// all regions fill the rest of the requested volume, so the same incident
// exists at every scale.
//
// Timeline relative to midnight UTC of the Start day (default Options):
//
//	day 0-8   owner mkeller uses the key (aws-cli, boto3) and the console from
//	          one home IP in eu-central-1/eu-west-1; AWS service noise everywhere
//	day 5     19:12 TruffleHog validates the key; 23:14 attacker recon (Kali,
//	          aws-cli/boto3): GetCallerIdentity, IAM listing, DescribeRegions,
//	          GetServiceQuota and DescribeAccountAttributes in all 17 regions;
//	          CreateUser/AttachUserPolicy/CreateLoginProfile/CreateAccessKey for
//	          two users; GetSessionToken (36 h ASIA key)
//	day 5-6   23:48-00:14 RunInstances c5.xlarge in all 17 regions with the
//	          session key (some fail: UnauthorizedOperation, OptInRequired,
//	          VcpuLimitExceeded); 00:31 console login as a backdoor user and
//	          quota increase requests
//	day 6-8   day 6 01:05 to day 8 01:10: with the backdoor user's key the
//	          attacker creates role ecs-task-runner, assumes it every ~3 h and
//	          runs Fargate tasks (CreateCluster, RegisterTaskDefinition, RunTask,
//	          CreateService) in 12 regions
//	day 8     08:42 the owner contains it from the console: deactivates the
//	          leaked key, creates a new one, deletes the backdoor users and role,
//	          terminates the instances and deletes the ECS services
//
// Layout is what CloudTrail writes to S3:
// [Prefix/]AWSLogs/[OrgID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ files named by
// delivery time (5-minute batches per region, delivered 5-15 minutes after the
// batch opened, so late-evening events land in the next day's folder), and
// CloudTrail-Digest files per region and hour. A digest's hashValue is the
// SHA-256 of the uncompressed log file content, as the CloudTrail
// documentation specifies; previousDigestHashValue likewise hashes the
// previous digest's uncompressed JSON. Each digest is signed as CloudTrail signs
// it (SHA256withRSA over its end time, location, hash and the previous digest's
// signature) with Options.SigningKey or the package's published demo key; the
// signatures, which CloudTrail keeps in S3 object metadata, are in the manifest.
//
// Output is deterministic: the same Options produce byte-identical files.
package synth

import (
	"context"
	"crypto/rsa"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"
)

// Options controls generation. Zero values select defaults.
type Options struct {
	Seed          uint64
	Start         time.Time // beginning of the owner's normal use; the incident follows; default 2026-11-02T00:00:00Z if zero
	Events        int       // approximate total records to write (incl. noise and duplicates); default 20000 if 0
	EventsPerFile int       // approximate records per log file; default 30 if 0 (at small Events the incident's own 5-minute batches make files smaller)
	Accounts      []string  // default one account, "111122223333"; the incident happens in Accounts[0]
	OrgID         string    // if set, org-trail layout AWSLogs/o-xxxx/ACCOUNT/...
	Prefix        string    // optional S3 key prefix before AWSLogs/
	Bucket        string    // for digest contents; default "trailhound-demo-trail"
	TrailName     string    // trail name used in digest file names; default "management-events"
	DuplicateRate float64   // fraction of records delivered twice; default 0
	// ReusedIDSignIns writes that many console sign-ins (each by another IAM user, from
	// another address, at another time) that share two eventIDs, as a broken export or a
	// forger writes them: every one is a distinct event (Manifest.ReusedIDs). Default 0.
	ReusedIDSignIns int
	// EmptyDigests also writes digests for hours without log files between a
	// region's first and last delivery, as CloudTrail does (an unbroken hourly
	// chain). By default only hours with log files get a digest.
	EmptyDigests bool
	Workers      int // parallel gzip writers; default runtime.GOMAXPROCS(0)
	// SigningKey signs the digests (default: the demo key, demo_signing_key.pem).
	SigningKey *rsa.PrivateKey
}

// Milestone is one step of the incident's ground-truth timeline.
type Milestone struct {
	Time time.Time
	Name string
}

// Manifest describes what Generate wrote and the incident's ground truth.
type Manifest struct {
	Files, DigestFiles, Records, DistinctEvents int
	// PublicKey verifies the digests' signatures; DigestSignatures holds each digest's
	// signature (hex) by S3 key: what CloudTrail puts in x-amz-meta-signature.
	PublicKey          PublicKey
	DigestSignatures   map[string]string
	DuplicateRecords   int            // Records - DistinctEvents
	EventsByRegion     map[string]int // distinct events per awsRegion
	EventsByAccount    map[string]int // distinct events per recipientAccountId
	From, To           time.Time      // min and max eventTime
	CrossMidnightFiles int            // log files in a later day's folder than their oldest event
	// ReusedIDs are the eventIDs the ReusedIDSignIns sign-ins share (sorted), and
	// ReusedIDUsers the users who signed in, one per sign-in (sorted).
	ReusedIDs, ReusedIDUsers []string

	Account       string   // account the incident happens in
	LeakedKey     string   // the leaked AKIA key
	LeakedKeyUser string   // IAM user owning the leaked key
	OwnerIP       string   // the owner's home IP
	OwnerNewKey   string   // the key the owner creates during containment (not attacker-derived)
	DerivedKeys   []string // every access key id derived from the leaked key (created keys and session keys), sorted
	AttackerIPs   []string // sorted; includes the secret scanner that validated the key
	AttackerUsers []string // IAM users the attacker created, sorted
	AttackerRoles []string // ARNs of IAM roles the attacker created and assumed, sorted
	// AttackerConsoleKeys are ASIA keys of the attacker's console session
	// (never returned by an STS event; link them by userIdentity.arn).
	AttackerConsoleKeys []string
	AttackerUserAgents  []string // sorted distinct userAgent values of attacker-signed records
	// AttackerEvents counts the distinct records the attacker made: the leaked
	// key used from an attacker IP (the owner keeps using it from OwnerIP), any
	// derived key, and the attacker's console session including its
	// ConsoleLogin. Follow-on records of AWS services (ecs-tasks assuming the
	// attacker's role) and the owner's containment are not counted.
	AttackerEvents       int
	AttackerEventsByName map[string]int // same records by eventName
	// IncidentEvents counts every fixed incident record: the attacker's, the
	// follow-on service records and the owner's containment. It does not
	// depend on Options.Events.
	IncidentEvents     int
	FirstAttackerEvent time.Time
	LastAttackerEvent  time.Time

	RunInstances         map[string]int    // successful c5.xlarge instances launched per region
	RunInstancesFailures map[string]string // region -> errorCode, for swept regions where no instance launched
	InstanceIDs          []string          // all launched instance ids, sorted
	SweepStart, SweepEnd time.Time         // first and last attacker RunInstances call

	ECSTasks          map[string]int    // ECS tasks started by RunTask per region (len(responseElements.tasks))
	ECSTasksByHour    map[string]int    // same, keyed by UTC hour "2006-01-02T15:00:00Z"
	ECSServiceDesired map[string]int    // desiredCount of attacker CreateService calls per region
	ECSClusters       map[string]string // region -> attacker cluster ARN

	// ServiceSessions counts the sessions ecs-tasks.amazonaws.com opened in the attacker's
	// role (one per task): their keys sign no event. Their AssumeRole records are not the
	// attacker's own and are not in AttackerEvents.
	ServiceSessions int

	// AWS's own reaction: it puts its quarantine policy on the leaked key's user; the record
	// is signed with the leaked key but comes from an AWS-internal agent at QuarantineIP.
	Quarantine       time.Time
	QuarantinePolicy string
	QuarantineIP     string

	KeyDeactivated time.Time // owner's UpdateAccessKey Inactive on the leaked key
	// What the attacker created that can be cleaned up, split by whether the owner's
	// containment stopped or deleted it (CleanedUp) or forgot it (LeftRunning): EC2
	// instances (the owner misses one region), ECS clusters (never deleted), services
	// (deleted), RunTask tasks (never stopped), IAM users, access keys, login profiles and
	// the role (all deleted). Sorted by region, service, type, id.
	LeftRunning []Resource
	CleanedUp   []Resource
	Milestones  []Milestone

	// ComputeRuns is every compute resource the attacker ran, from its launch to the event of
	// the owner's cleanup that ended it (End zero: nothing ended it, it still runs): the EC2
	// instances (RunInstances to TerminateInstances), the RunTask Fargate tasks (never
	// stopped) and each ECS service's desiredCount task slots (CreateService to
	// DeleteService). Sorted by region, service, type, id.
	ComputeRuns []ComputeRun
}

// ComputeRun is one compute resource and when it ran. Service is ec2 or fargate; Type the
// instance type or the Fargate size as query cost writes it ("16 vCPU / 32 GB").
type ComputeRun struct {
	Region, Service, Type, ID string
	VCPU, MemoryGB            float64 // MemoryGB 0 for EC2 (CloudTrail does not say)
	Start, End                time.Time
}

// Resource is something the attacker created, named as a delete call would name it: an
// instance id, an ECS cluster, service or task ARN, an IAM user, role or login profile's
// (user) name, an access key id. Region is "global" for IAM.
type Resource struct {
	Region, Service, Type, ID string
}

const (
	defaultAccount = "111122223333"
	trailHome      = "us-east-1"
)

// Generate writes the incident under dir and returns its manifest.
func Generate(ctx context.Context, dir string, opts Options) (Manifest, error) {
	o, err := withDefaults(opts)
	if err != nil {
		return Manifest{}, err
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, err
	}
	g := newGen(o)
	if err := g.plan(ctx); err != nil {
		return Manifest{}, err
	}
	if err := g.write(ctx, dir); err != nil {
		return Manifest{}, err
	}
	return g.m, nil
}

func withDefaults(o Options) (Options, error) {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	}
	o.Start = o.Start.UTC().Truncate(time.Second)
	if o.Start.Year() < 2000 || o.Start.Year() > 9990 {
		return o, fmt.Errorf("synth: start %s out of range", o.Start)
	}
	if o.Events == 0 {
		o.Events = 20000
	}
	if o.Events < 0 {
		return o, fmt.Errorf("synth: negative Events %d", o.Events)
	}
	if o.EventsPerFile == 0 {
		o.EventsPerFile = 30
	}
	if o.EventsPerFile < 0 {
		return o, fmt.Errorf("synth: negative EventsPerFile %d", o.EventsPerFile)
	}
	if len(o.Accounts) == 0 {
		o.Accounts = []string{defaultAccount}
	}
	if len(o.Accounts) > 200 {
		return o, fmt.Errorf("synth: too many accounts (%d, max 200)", len(o.Accounts))
	}
	seen := map[string]bool{}
	for _, a := range o.Accounts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return o, fmt.Errorf("synth: account %q is not a 12-digit account id", a)
		}
		if seen[a] {
			return o, fmt.Errorf("synth: duplicate account %s", a)
		}
		seen[a] = true
	}
	o.Accounts = append([]string(nil), o.Accounts...)
	if o.OrgID != "" && strings.ContainsAny(o.OrgID, "/\\ ") {
		return o, fmt.Errorf("synth: invalid OrgID %q", o.OrgID)
	}
	o.Prefix = strings.Trim(o.Prefix, "/")
	if strings.Contains(o.Prefix, "..") || strings.Contains(o.Prefix, "\\") {
		return o, fmt.Errorf("synth: invalid Prefix %q", o.Prefix)
	}
	if o.Bucket == "" {
		o.Bucket = "trailhound-demo-trail"
	}
	if o.TrailName == "" {
		o.TrailName = "management-events"
	}
	if strings.ContainsAny(o.TrailName, "/_ ") {
		return o, fmt.Errorf("synth: invalid TrailName %q", o.TrailName)
	}
	if o.DuplicateRate < 0 || o.DuplicateRate > 1 || o.DuplicateRate != o.DuplicateRate {
		return o, fmt.Errorf("synth: DuplicateRate %v not in [0,1]", o.DuplicateRate)
	}
	if o.ReusedIDSignIns < 0 {
		return o, fmt.Errorf("synth: ReusedIDSignIns %d is negative", o.ReusedIDSignIns)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.SigningKey == nil {
		o.SigningKey = demoKey()
	}
	return o, nil
}

// gen holds the state of one Generate call.
type gen struct {
	o        Options
	start    int64 // owner use begins
	day0     int64 // midnight of the start day
	end      int64 // end of the generated span (exclusive)
	regions  []string
	regIdx   map[string]uint8
	accts    []*account
	attack   []atkEvent
	stubs    []stub
	files    []fileDesc
	distinct int
	m        Manifest
	rng      *rand.Rand // plan-time RNG

	ops       []ownerOp
	opCum     [3][]int
	noiseTabs [][]noiseTable // [account][region]
}

func newGen(o Options) *gen {
	g := &gen{
		o: o,
		regions: []string{
			"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
			"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
			"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
			"ap-southeast-1", "ap-southeast-2",
		},
		regIdx: map[string]uint8{},
		rng:    rand.New(rand.NewPCG(mix(o.Seed, 1), mix(o.Seed, 2))),
	}
	for i, r := range g.regions {
		g.regIdx[r] = uint8(i)
	}
	g.start = o.Start.Unix()
	g.day0 = g.start - g.start%86400
	g.end = g.day0 + spanDays*86400
	for i, id := range o.Accounts {
		g.accts = append(g.accts, g.newAccount(i, id))
	}
	return g
}

// prefixKey returns the S3 key prefix up to and including the account folder.
func (g *gen) acctRoot(a *account) string {
	var sb strings.Builder
	if g.o.Prefix != "" {
		sb.WriteString(g.o.Prefix)
		sb.WriteByte('/')
	}
	sb.WriteString("AWSLogs/")
	if g.o.OrgID != "" {
		sb.WriteString(g.o.OrgID)
		sb.WriteByte('/')
	}
	sb.WriteString(a.id)
	sb.WriteByte('/')
	return sb.String()
}
