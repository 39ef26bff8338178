package verify

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// PublicKey is one of CloudTrail's public keys, as ListPublicKeys returns it.
type PublicKey struct {
	Region      string // "" for a key from a file: it is matched by fingerprint in any region
	Fingerprint string
	Value       []byte    // DER: PKCS#1 RSAPublicKey, or X.509 SubjectPublicKeyInfo
	ValidFrom   time.Time // zero when unknown
	ValidTo     time.Time
	Source      string // ListPublicKeys, or a file's path
}

// RotationAllowance widens a key's validity when choosing it for a digest, as the AWS CLI
// widens its key query (a digest signed just around a rotation).
const RotationAllowance = 2 * time.Hour

// PublicKeysAPI is what fetching keys calls: a read call. *cloudtrail.Client satisfies it.
type PublicKeysAPI interface {
	ListPublicKeys(ctx context.Context, in *cloudtrail.ListPublicKeysInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.ListPublicKeysOutput, error)
}

// ReadPublicKeysFile reads the JSON `aws cloudtrail list-public-keys` prints (CLI v1 or
// v2: times as epoch seconds, numeric strings or ISO 8601; "PublicKeyList" or, as AWS's
// documentation shows it, "publicKeyList").
func ReadPublicKeysFile(path string) ([]PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public keys %s: %w", path, err)
	}
	keys, err := ParsePublicKeys(b, path)
	if err != nil {
		return nil, fmt.Errorf("public keys %s: %w", path, err)
	}
	return keys, nil
}

// ParsePublicKeys parses list-public-keys output; source names where it came from.
func ParsePublicKeys(b []byte, source string) ([]PublicKey, error) {
	const want = `want the JSON of "aws cloudtrail list-public-keys": {"PublicKeyList": [{"Value": ..., "Fingerprint": ..., "ValidityStartTime": ..., "ValidityEndTime": ...}]}`
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object (%v); %s", err, want)
	}
	list, ok := top["PublicKeyList"]
	if !ok {
		list, ok = top["publicKeyList"]
	}
	if !ok {
		return nil, fmt.Errorf("no PublicKeyList; %s", want)
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil {
		return nil, fmt.Errorf("PublicKeyList is not a list of objects; %s", want)
	}
	var keys []PublicKey
	for i, it := range items {
		k := PublicKey{Source: source}
		var value string
		if json.Unmarshal(it["Value"], &value) != nil || value == "" {
			return nil, fmt.Errorf("PublicKeyList[%d]: Value is missing or not a string", i)
		}
		der, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return nil, fmt.Errorf("PublicKeyList[%d]: Value is not base64: %v", i, err)
		}
		k.Value = der
		if json.Unmarshal(it["Fingerprint"], &k.Fingerprint) != nil || k.Fingerprint == "" {
			return nil, fmt.Errorf("PublicKeyList[%d]: Fingerprint is missing or not a string", i)
		}
		k.Fingerprint = strings.ToLower(k.Fingerprint)
		for _, f := range []struct {
			name string
			dst  *time.Time
		}{{"ValidityStartTime", &k.ValidFrom}, {"ValidityEndTime", &k.ValidTo}} {
			if v, ok := it[f.name]; ok {
				t, err := parseKeyTime(v)
				if err != nil {
					return nil, fmt.Errorf("PublicKeyList[%d]: %s: %v", i, f.name, err)
				}
				*f.dst = t
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// parseKeyTime reads a time as the AWS CLI prints one: epoch seconds (a number or a
// numeric string, CLI v1) or ISO 8601 (CLI v2).
func parseKeyTime(v json.RawMessage) (time.Time, error) {
	v = bytes.TrimSpace(v)
	if string(v) == "null" {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		s = string(v)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Truncate(time.Millisecond), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s is not a time", v)
}

// rsaKey parses the key's DER: PKCS#1, as the API documents, or SubjectPublicKeyInfo,
// which one of AWS's own samples is.
func (k PublicKey) rsaKey() (*rsa.PublicKey, error) {
	if pub, err := x509.ParsePKCS1PublicKey(k.Value); err == nil {
		return pub, nil
	}
	any, err := x509.ParsePKIXPublicKey(k.Value)
	if err != nil {
		return nil, err
	}
	pub, ok := any.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key")
	}
	return pub, nil
}

// Fingerprint is a key's fingerprint as CloudTrail computes it: the hex MD5 of its DER
// (AWS does not document it; every published key has it).
func Fingerprint(der []byte) string {
	sum := md5.Sum(der)
	return hex.EncodeToString(sum[:])
}

// keyring holds every key known to a run, by fingerprint.
type keyring struct {
	byFP map[string][]PublicKey
	// fetchErr says, per region, why keys could not be fetched.
	fetchErr map[string]string
}

func newKeyring(keys []PublicKey) *keyring {
	r := &keyring{byFP: map[string][]PublicKey{}, fetchErr: map[string]string{}}
	r.add(keys)
	return r
}

func (r *keyring) add(keys []PublicKey) {
	for _, k := range keys {
		r.byFP[k.Fingerprint] = append(r.byFP[k.Fingerprint], k)
	}
}

// has reports whether a key with fingerprint fp is known for region.
func (r *keyring) has(region, fp string) bool {
	for _, k := range r.byFP[strings.ToLower(fp)] {
		if k.Region == "" || k.Region == region {
			return true
		}
	}
	return false
}

// keyFor chooses the key that signed d, or says why there is none.
func (r *keyring) keyFor(d *digest) (*rsa.PublicKey, string) {
	fp := strings.ToLower(d.fingerprint)
	region := d.region()
	var inRegion []PublicKey
	for _, k := range r.byFP[fp] {
		if k.Region == "" || k.Region == region {
			inRegion = append(inRegion, k)
		}
	}
	if len(inRegion) == 0 {
		why := fmt.Sprintf("public key not found in region %s for fingerprint %s", region, d.fingerprint)
		if e := r.fetchErr[region]; e != "" {
			why += " (the keys could not be fetched: " + e + ")"
		}
		return nil, why
	}
	var when []PublicKey
	signed := d.signedAt()
	for _, k := range inRegion {
		if signed.IsZero() || ((k.ValidFrom.IsZero() || !signed.Before(k.ValidFrom.Add(-RotationAllowance))) &&
			(k.ValidTo.IsZero() || !signed.After(k.ValidTo.Add(RotationAllowance)))) {
			when = append(when, k)
		}
	}
	if len(when) == 0 {
		k := inRegion[0]
		return nil, fmt.Sprintf("the public key with fingerprint %s was valid from %s to %s, not when this digest was signed",
			d.fingerprint, k.ValidFrom.Format(time.RFC3339), k.ValidTo.Format(time.RFC3339))
	}
	for _, k := range when {
		if Fingerprint(k.Value) != fp {
			continue
		}
		pub, err := k.rsaKey()
		if err != nil {
			return nil, fmt.Sprintf("Unable to load PKCS #1 key with fingerprint %s: %v", d.fingerprint, err)
		}
		return pub, ""
	}
	return nil, fmt.Sprintf("the public key offered for fingerprint %s (from %s) is another key: its fingerprint is %s",
		d.fingerprint, when[0].Source, Fingerprint(when[0].Value))
}

// loadKeys reads the keys kept in the store.
func loadKeys(ctx context.Context, db *sql.DB) ([]PublicKey, error) {
	rows, err := db.QueryContext(ctx, `SELECT region, fingerprint, value, validity_start, validity_end, source
		FROM public_keys ORDER BY region, fingerprint`)
	if err != nil {
		return nil, fmt.Errorf("read public_keys: %w", err)
	}
	defer rows.Close()
	var keys []PublicKey
	for rows.Next() {
		var k PublicKey
		var from, to sql.NullTime
		if err := rows.Scan(&k.Region, &k.Fingerprint, &k.Value, &from, &to, &k.Source); err != nil {
			return nil, fmt.Errorf("read public_keys: %w", err)
		}
		k.ValidFrom, k.ValidTo = from.Time.UTC(), to.Time.UTC()
		if !from.Valid {
			k.ValidFrom = time.Time{}
		}
		if !to.Valid {
			k.ValidTo = time.Time{}
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// saveKeys keeps keys in the store, so that later runs need no network.
func saveKeys(ctx context.Context, db *sql.DB, keys []PublicKey, now time.Time) error {
	for _, k := range keys {
		if _, err := db.ExecContext(ctx, `INSERT INTO public_keys VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (region, fingerprint) DO UPDATE SET value = excluded.value, validity_start = excluded.validity_start,
				validity_end = excluded.validity_end, source = excluded.source, fetched_at = excluded.fetched_at`,
			k.Region, k.Fingerprint, k.Value, nullTime(k.ValidFrom), nullTime(k.ValidTo), k.Source, now); err != nil {
			return fmt.Errorf("store public key %s: %w", k.Fingerprint, err)
		}
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// fetchKeys calls ListPublicKeys in region for [from, to], following NextToken.
func fetchKeys(ctx context.Context, api PublicKeysAPI, region string, from, to time.Time) ([]PublicKey, error) {
	var keys []PublicKey
	in := &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(from), EndTime: aws.Time(to)}
	for page := 0; page < 100; page++ {
		out, err := api.ListPublicKeys(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, k := range out.PublicKeyList {
			keys = append(keys, PublicKey{Region: region, Fingerprint: strings.ToLower(aws.ToString(k.Fingerprint)),
				Value: k.Value, ValidFrom: aws.ToTime(k.ValidityStartTime).UTC(), ValidTo: aws.ToTime(k.ValidityEndTime).UTC(),
				Source: "ListPublicKeys"})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Fingerprint < keys[j].Fingerprint })
	return keys, nil
}
