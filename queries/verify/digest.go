package verify

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/buger/jsonparser"
)

// digestNameRE reads a digest's S3 object name:
// ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz.
// Region names have no underscore; trail names may.
var digestNameRE = regexp.MustCompile(`^(\d{12})_CloudTrail-Digest_([^_]+)_(.+)_([^_]+)_(\d{8}T\d{6})Z(_backfill)?\.json\.gz$`)

// logNameRE reads a log file's name: ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz
// (CloudTrail makes the name unique; the time is when the file was delivered).
var logNameRE = regexp.MustCompile(`^(\d{12})_CloudTrail_([^_]+)_(\d{8}T\d{4})Z_[A-Za-z0-9]+\.json(\.gz)?$`)

// logName is what a log file's name says.
type logName struct {
	account, region string
	delivered       time.Time
}

func parseLogName(name string) (logName, bool) {
	m := logNameRE.FindStringSubmatch(name)
	if m == nil {
		return logName{}, false
	}
	t, err := time.Parse("20060102T1504", m[3])
	if err != nil {
		return logName{}, false
	}
	return logName{account: m[1], region: m[2], delivered: t}, true
}

// digestName is what a digest's object name says.
type digestName struct {
	account, region, trail, home string
	delivered                    time.Time // the digest's end time, to the second
	backfill                     bool
}

func parseDigestName(name string) (digestName, bool) {
	m := digestNameRE.FindStringSubmatch(name)
	if m == nil {
		return digestName{}, false
	}
	t, err := time.Parse("20060102T150405", m[5])
	if err != nil {
		return digestName{}, false
	}
	return digestName{account: m[1], region: m[2], trail: m[3], home: m[4], delivered: t, backfill: m[6] != ""}, true
}

// logEntry is one element of a digest's logFiles.
type logEntry struct {
	Bucket, Object, Hash, Algo string // s3Bucket, s3Object, hashValue, hashAlgorithm
}

// digest is one CloudTrail-Digest file of the store, what it says, and what verify found.
type digest struct {
	file    *srcFile
	raw     []byte
	rawHash string // hex SHA-256 of raw: what the signature and the next digest's previousDigestHashValue cover
	// From the S3 object's metadata (ingest s3); empty for a local copy.
	sigMeta, sigAlgMeta, backfillMeta string

	formatErr   string // why the digest cannot be read as one (AWS's "invalid format")
	endRaw      string // digestEndTime exactly as written: it is part of the signed string
	start, end  time.Time
	bucket, obj string // where the digest says it was delivered
	account     string
	fingerprint string
	sigAlg      string
	prevBucket  *string // nil: JSON null (the first digest of a chain)
	prevObject  *string
	prevHash    *string
	prevSig     *string
	logs        []logEntry
	name        digestName // from obj's name
	named       bool

	status     status
	reason     string    // why it is unverifiable or invalid
	successors []*digest // digests that name this one as their previous
}

type status int

const (
	pending status = iota
	valid
	invalid
	unverifiable
	badFormat
)

// loc is the digest's location as digests point to each other: bucket/key.
func (d *digest) loc() string { return d.bucket + "/" + d.obj }

// chain groups the digests of one trail's chain in one account and region.
func (d *digest) chain() string {
	if d.named {
		return strings.Join([]string{d.name.account, d.name.region, d.name.trail, fmt.Sprint(d.name.backfill)}, "\x00")
	}
	return path.Dir(d.obj)
}

// required are the members a digest must have before it is validated (the AWS CLI's
// list; previousDigestSignature may be null).
var required = []string{"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "previousDigestSignature",
	"digestEndTime", "digestStartTime"}

// parse reads d.raw. A digest that is not what CloudTrail writes gets formatErr. (Ingest
// validated the JSON already; jsonparser reads the members without a second full pass.)
func (d *digest) parse() {
	type member struct {
		v   []byte
		typ jsonparser.ValueType
	}
	m := map[string]member{}
	err := jsonparser.ObjectEach(d.raw, func(k, v []byte, typ jsonparser.ValueType, _ int) error {
		m[string(k)] = member{v, typ}
		return nil
	})
	if err != nil {
		d.formatErr = fmt.Sprintf("not a JSON object (%v)", err)
		return
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			d.formatErr = "it has no " + k
			return
		}
	}
	var bad []string
	// get reads a member that must be a string; opt one that may also be null or absent.
	get := func(k string) string {
		mv := m[k]
		s, err := jsonparser.ParseString(mv.v)
		if mv.typ != jsonparser.String || err != nil {
			bad = append(bad, k)
		}
		return s
	}
	opt := func(k string) *string {
		mv, ok := m[k]
		if !ok || mv.typ == jsonparser.Null {
			return nil
		}
		s, err := jsonparser.ParseString(mv.v)
		if mv.typ != jsonparser.String || err != nil {
			bad = append(bad, k)
			return nil
		}
		return &s
	}
	d.endRaw = get("digestEndTime")
	startRaw := get("digestStartTime")
	d.bucket = get("digestS3Bucket")
	d.obj = get("digestS3Object")
	d.fingerprint = get("digestPublicKeyFingerprint")
	if s := opt("awsAccountId"); s != nil {
		d.account = *s
	}
	if s := opt("digestSignatureAlgorithm"); s != nil {
		d.sigAlg = *s
	}
	d.prevBucket, d.prevObject = opt("previousDigestS3Bucket"), opt("previousDigestS3Object")
	d.prevHash, d.prevSig = opt("previousDigestHashValue"), opt("previousDigestSignature")
	if lf, ok := m["logFiles"]; !ok || lf.typ != jsonparser.Array || !d.parseLogs(lf.v) {
		bad = append(bad, "logFiles")
	}
	if len(bad) > 0 {
		d.formatErr = "it has no valid " + strings.Join(bad, ", ")
		return
	}
	if d.start, err = time.Parse(time.RFC3339, startRaw); err != nil {
		d.formatErr = fmt.Sprintf("digestStartTime %q is not a time", startRaw)
		return
	}
	if d.end, err = time.Parse(time.RFC3339, d.endRaw); err != nil {
		d.formatErr = fmt.Sprintf("digestEndTime %q is not a time", d.endRaw)
		return
	}
	d.name, d.named = parseDigestName(path.Base(d.obj))
	if d.account == "" && d.named {
		d.account = d.name.account
	}
}

// parseLogs reads the logFiles array: objects with string members.
func (d *digest) parseLogs(arr []byte) bool {
	ok := true
	_, err := jsonparser.ArrayEach(arr, func(el []byte, typ jsonparser.ValueType, _ int, _ error) {
		if typ != jsonparser.Object {
			ok = false
			return
		}
		var e logEntry
		err := jsonparser.ObjectEach(el, func(k, v []byte, typ jsonparser.ValueType, _ int) error {
			var dst *string
			switch string(k) {
			case "s3Bucket":
				dst = &e.Bucket
			case "s3Object":
				dst = &e.Object
			case "hashValue":
				dst = &e.Hash
			case "hashAlgorithm":
				dst = &e.Algo
			default:
				return nil
			}
			s, err := jsonparser.ParseString(v)
			if typ != jsonparser.String || err != nil {
				ok = false
			}
			*dst = s
			return nil
		})
		if err != nil || e.Object == "" {
			ok = false
		}
		d.logs = append(d.logs, e)
	})
	return ok && err == nil
}

// signedAt is when CloudTrail signed the digest: at its end, or, for a backfill digest,
// when it was generated (its x-amz-meta-backfill-generation-timestamp; zero when a copy
// lost it, and then the key's validity is not checked).
func (d *digest) signedAt() time.Time {
	if !d.name.backfill {
		return d.end
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(d.backfillMeta))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// region is the region that delivered the digest (its public key is that region's).
func (d *digest) region() string {
	if d.named {
		return d.name.region
	}
	return ""
}

// StringToSign is the text CloudTrail signs for a digest: its end time as written, its
// S3 path (bucket/key), the hex SHA-256 of its decompressed bytes, and the previous
// digest's signature (the literal null for the first digest of a chain), joined by "\n"
// with no newline at the end (the AWS CLI's validator; AWS's documentation agrees).
func StringToSign(endTime, bucket, object string, content []byte, prevSig *string) string {
	p := "null"
	if prevSig != nil {
		p = *prevSig
	}
	sum := sha256.Sum256(content)
	return endTime + "\n" + bucket + "/" + object + "\n" + hex.EncodeToString(sum[:]) + "\n" + p
}

// checkSignature verifies a hex signature of the string to sign with key (SHA256withRSA:
// RSASSA-PKCS1-v1_5 over SHA-256). A signature whose hex lost leading zeros is padded to
// the key's size, as the AWS CLI's RSA libraries accept it.
func checkSignature(key *rsa.PublicKey, signed, sigHex string) error {
	s := strings.ToLower(strings.TrimSpace(sigHex))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	sig, err := hex.DecodeString(s)
	if err != nil || len(s) == 0 {
		return fmt.Errorf("the signature is not hex")
	}
	if k := key.Size(); len(sig) < k {
		sig = append(make([]byte, k-len(sig)), sig...)
	}
	h := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, h[:], sig); err != nil {
		return fmt.Errorf("signature verification failed")
	}
	return nil
}

// sameHash compares a hash a digest lists with a computed one (lower-case hex). Hex with
// its leading zeros dropped (a real digest's previousDigestHashValue has 63 digits) is the
// same number.
func sameHash(listed, computed string) bool {
	l := strings.ToLower(strings.TrimSpace(listed))
	if l == "" || len(l) > len(computed) {
		return false
	}
	return strings.Repeat("0", len(computed)-len(l))+l == computed
}

// sameSignature compares two hex signatures as numbers.
func sameSignature(a, b string) bool {
	na := strings.TrimLeft(strings.ToLower(strings.TrimSpace(a)), "0")
	nb := strings.TrimLeft(strings.ToLower(strings.TrimSpace(b)), "0")
	return na == nb
}
