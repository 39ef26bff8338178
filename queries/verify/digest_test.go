package verify

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"
)

// The AWS CLI's unit test of the string to sign (test_properly_signs_when_no_previous_signature):
// end time "a", bucket "b", object "c", content "abc", no previous signature.
const cliStringToSign = "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"

// cliSignature is that string signed with the AWS CLI's test key
// (testdata/integrity/aws-cli-sample_private_key.pem) by openssl dgst -sha256 -sign.
const cliSignature = "7a18d248c3f83c372db2847946a70dee9de237406ef15f9a2f8b8797c3ab540de69001119802976ea60b907fc738e248a195c9" +
	"db8be6fd5ed876162eedd7daeb6709df3ec035c714d24633d591432e4482391fb8c12a8697ecac1a860172e69eca2f993788e63eb4c5febce641c8ff7d" +
	"2771f568cbb21b36648e37b7641b938205a8984f2857b447362b17bfcccb446f1d36925d02b58281d68260742bb0a8d792034e0a87fa802842137fe6af" +
	"f29255de1ca379b07fbd5a61bc3e06aa070615122461e1a08daa8dc1de20a0b83bd7aa9b373fac2e337223453a5d2a2dd532ae981eeb6671c77f412f53" +
	"ce715e30cce70bc4bc4d7c8792f217ac98b54e4f35f9"

func cliKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("../../testdata/integrity/aws-cli-sample_private_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("not PEM")
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestStringToSignAWSCLIVector: the string to sign is byte for byte the AWS CLI's, with
// the literal null for a chain's first digest, and the previous signature otherwise.
func TestStringToSignAWSCLIVector(t *testing.T) {
	if got := StringToSign("a", "b", "c", []byte("abc"), nil); got != cliStringToSign {
		t.Errorf("string to sign = %q, want %q", got, cliStringToSign)
	}
	prev := "deadbeef"
	if got := StringToSign("a", "b", "c", []byte("abc"), &prev); got != strings.TrimSuffix(cliStringToSign, "null")+"deadbeef" {
		t.Errorf("with a previous signature: %q", got)
	}
}

// TestSignatureAWSCLIVector: openssl's signature of the AWS CLI's string with the AWS CLI's
// test key verifies here; Go's own PKCS#1 v1.5 signature (deterministic) is the same bytes;
// another string, another key or a bit flipped does not verify; hex without its leading
// zeros and in upper case is the same signature.
func TestSignatureAWSCLIVector(t *testing.T) {
	k := cliKey(t)
	der := x509.MarshalPKCS1PublicKey(&k.PublicKey)
	if len(der) != 270 || Fingerprint(der) != "3a35183f878722f06327a2c6f5948836" {
		t.Fatalf("public key: %d bytes, fingerprint %s", len(der), Fingerprint(der))
	}
	if err := checkSignature(&k.PublicKey, cliStringToSign, cliSignature); err != nil {
		t.Fatalf("the AWS CLI vector does not verify: %v", err)
	}
	h := sha256.Sum256([]byte(cliStringToSign))
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	if err != nil || hex.EncodeToString(sig) != cliSignature {
		t.Errorf("Go signs it to %x (%v), openssl to %s", sig, err, cliSignature)
	}
	if err := checkSignature(&k.PublicKey, cliStringToSign+" ", cliSignature); err == nil {
		t.Error("another string verifies")
	}
	flipped := []byte(cliSignature)
	if flipped[100] == '0' {
		flipped[100] = '1'
	} else {
		flipped[100] = '0'
	}
	if err := checkSignature(&k.PublicKey, cliStringToSign, string(flipped)); err == nil {
		t.Error("a changed signature verifies")
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSignature(&other.PublicKey, cliStringToSign, cliSignature); err == nil {
		t.Error("another key verifies")
	}
	if err := checkSignature(&k.PublicKey, cliStringToSign, "not hex!"); err == nil || !strings.Contains(err.Error(), "not hex") {
		t.Errorf("non-hex signature: %v", err)
	}
	// A signature whose top byte is zero, written as a number (no leading zeros).
	for i := 0; i < 20000; i++ {
		s := cliStringToSign + strings.Repeat(" ", i)
		h := sha256.Sum256([]byte(s))
		sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
		if sig[0] != 0 {
			continue
		}
		short := strings.ToUpper(strings.TrimLeft(hex.EncodeToString(sig), "0"))
		if err := checkSignature(&k.PublicKey, s, short); err != nil {
			t.Errorf("signature without leading zeros: %v", err)
		}
		return
	}
	t.Error("no signature with a zero top byte in 20000 tries")
}

// The three public keys of AWS's custom-validation documentation, as list-public-keys
// prints them (times as strings, the member spelt publicKeyList); the third is
// SubjectPublicKeyInfo, not PKCS#1.
const docKeys = `{
    "publicKeyList": [
        {
            "ValidityStartTime": "1436317441.0",
            "ValidityEndTime": "1438909441.0",
            "Value": "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkhlzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJUkz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB",
            "Fingerprint": "8eba5db5bea9b640d1c96a77256fe7f2"
        },
        {
            "ValidityStartTime": "1434589460.0",
            "ValidityEndTime": "1437181460.0",
            "Value": "MIIBCgKCAQEApfYL2FiZhpN74LNWVUzhR+VheYhwhYm8w0n5Gf6i95ylW5kBAWKVEmnAQG7BvS5g9SMqFDQx52fW7NWV44IvfJ2xGXT+wT+DgR6ZQ+6yxskQNqV5YcXj4Aa5Zz4jJfsYjDuO2MDTZNIzNvBNzaBJ+r2WIWAJ/Xq54kyF63B6WE38vKuDE7nSd1FqQuEoNBFLPInvgggYe2Ym1Refe2z71wNcJ2kY+q0h1BSHrSM8RWuJIw7MXwF9iQncg9jYzUlNJomozQzAG5wSRfbplcCYNY40xvGd/aAmO0m+Y+XFMrKwtLCwseHPvj843qVno6x4BJN9bpWnoPo9sdsbGoiK3QIDAQAB",
            "Fingerprint": "8933b39ddc64d26d8e14ffbf6566fee4"
        },
        {
            "ValidityStartTime": "1434589370.0",
            "ValidityEndTime": "1437181370.0",
            "Value": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqlzPJbvZJ42UdcmLfPUqXYNfOs6I8lCfao/tOs8CmzPOEdtLWugB9xoIUz78qVHdKIqxbaG4jWHfJBiOSSFBM0lt8cdVo4TnRa7oG9io5pysS6DJhBBAeXsicufsiFJR+wrUNh8RSLxL4k6G1+BhLX20tJkZ/erT97tDGBujAelqseGg3vPZbTx9SMfOLN65PdLFudLP7Gat0Z9p5jw/rjpclKfo9Bfc3heeBxWGKwBBOKnFAaN9V57pOaosCvPKmHd9bg7jsQkI9Xp22IzGLsTFJZYVA3KiTAElDMu80iFXPHEq9hKNbt9e4URFam+1utKVEiLkR2disdCmPTK0VQIDAQAB",
            "Fingerprint": "31e8b5433410dfb61a9dc45cc65b22ff"
        }
    ]
}`

// TestPublicKeysAWSSamples: AWS's published keys parse (PKCS#1, and the SPKI one), their
// fingerprints are the MD5 of their DER, and their validity times are read from the
// string form; the AWS CLI's own example (CLI v1: epoch numbers) and the CLI v2 form
// (ISO 8601) parse to the same instants.
func TestPublicKeysAWSSamples(t *testing.T) {
	keys, err := ParsePublicKeys([]byte(docKeys), "doc")
	if err != nil || len(keys) != 3 {
		t.Fatalf("%d keys: %v", len(keys), err)
	}
	for _, k := range keys {
		if got := Fingerprint(k.Value); got != k.Fingerprint {
			t.Errorf("key %s: MD5 of its DER is %s", k.Fingerprint, got)
		}
		pub, err := k.rsaKey()
		if err != nil || pub.N.BitLen() != 2048 || pub.E != 65537 {
			t.Errorf("key %s: %v", k.Fingerprint, err)
		}
	}
	if !keys[0].ValidFrom.Equal(time.Unix(1436317441, 0)) || !keys[0].ValidTo.Equal(time.Unix(1438909441, 0)) {
		t.Errorf("validity %v to %v", keys[0].ValidFrom, keys[0].ValidTo)
	}
	v1 := `{"PublicKeyList": [{"ValidityStartTime": 1453076702.0, "ValidityEndTime": 1455668702.0,
		"Value": "MIIBCgKCAQEAlSS3cl92HDycr/MTj0moOhas8habjrraXw+KzlWF0axSI2tcF+3iJ9BKQAVSKxGwxwu3m0wG3J+kUl1xboEcEPHYoIYMbgfSw7KGnuDKwkLzsQWhUJ0cIbOHASox1vv/5fNXkrHhGbDCHeVXm804c83nvHUEFYThr1PfyP/8HwrCtR3FX5OANtQCP61C1nJtSSkC8JSQUOrIP4CuwJjc+4WGDk+BGH5m9iuiAKkipEHWmUl8/P7XpfpWQuk4h8g3pXZOrNXr08lbh4d39svj7UqdhvOXoBISp9t/EXYuePGEtBdrKD9Dz+VHwyUPtBQvYr9BnkF88qBnaPNhS44rzwIDAQAB",
		"Fingerprint": "7f3f401420072e50a65a141430817ab3"}]}`
	v2 := strings.NewReplacer("1453076702.0", `"2016-01-18T00:25:02+00:00"`, "1455668702.0", `"2016-02-17T00:25:02+00:00"`).Replace(v1)
	a, err1 := ParsePublicKeys([]byte(v1), "v1")
	b, err2 := ParsePublicKeys([]byte(v2), "v2")
	if err1 != nil || err2 != nil || len(a) != 1 || len(b) != 1 {
		t.Fatalf("%v %v", err1, err2)
	}
	if !a[0].ValidFrom.Equal(b[0].ValidFrom) || !a[0].ValidTo.Equal(b[0].ValidTo) || Fingerprint(a[0].Value) != a[0].Fingerprint {
		t.Errorf("v1 %v..%v, v2 %v..%v", a[0].ValidFrom, a[0].ValidTo, b[0].ValidFrom, b[0].ValidTo)
	}
}

// TestPublicKeysWrongShape: each malformed file is refused with what is wrong in it.
func TestPublicKeysWrongShape(t *testing.T) {
	for in, want := range map[string]string{
		`[]`:                      "not a JSON object",
		`not json`:                "not a JSON object",
		`{"Keys": []}`:            "no PublicKeyList",
		`{"PublicKeyList": {}}`:   "not a list of objects",
		`{"PublicKeyList": [{}]}`: "PublicKeyList[0]: Value is missing",
		`{"PublicKeyList": [{"Value": "%%%", "Fingerprint": "ab"}]}`:                             "not base64",
		`{"PublicKeyList": [{"Value": "AAAA"}]}`:                                                 "Fingerprint is missing",
		`{"PublicKeyList": [{"Value": "AAAA", "Fingerprint": "ab", "ValidityStartTime": true}]}`: "ValidityStartTime",
	} {
		_, err := ParsePublicKeys([]byte(in), "f")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
	if _, err := ReadPublicKeysFile("no/such/file.json"); err == nil || !strings.Contains(err.Error(), "no/such/file.json") {
		t.Errorf("missing file: %v", err)
	}
}

// TestRealDigest: a real CloudTrail digest file parses with every member, its name says
// its account, region, trail and end time, its string to sign is built from its own
// bytes, and its 63-digit previousDigestHashValue equals the 64-digit hash it stands for.
func TestRealDigest(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/integrity/elastic-cloudtrail-digest.json")
	if err != nil {
		t.Fatal(err)
	}
	d := &digest{raw: raw}
	d.parse()
	if d.formatErr != "" {
		t.Fatal(d.formatErr)
	}
	if d.endRaw != "2020-09-11T19:36:49Z" || d.bucket != "alice-bucket" || d.fingerprint != "47aaa19f7eec22e9bd0b5e58cfade8cb" ||
		d.sigAlg != "SHA256withRSA" || len(d.logs) != 3 || d.prevSig == nil || len(*d.prevSig) != 512 || d.account != "123456789123" {
		t.Errorf("parsed %+v", d)
	}
	if !d.named || d.name.region != "us-west-2" || d.name.trail != "leh-ct-test" || d.name.home != "us-west-2" ||
		!d.name.delivered.Equal(d.end) || d.name.backfill || d.region() != "us-west-2" {
		t.Errorf("name %+v", d.name)
	}
	if !strings.HasSuffix(*d.prevObject, "_20200911T183649Z.json.gz") || len(*d.prevHash) != 63 {
		t.Errorf("previous %s %s", *d.prevObject, *d.prevHash)
	}
	if !sameHash(*d.prevHash, "0"+*d.prevHash) || sameHash(*d.prevHash, *d.prevHash+"0") || sameHash("", "00") {
		t.Error("sameHash")
	}
	s := StringToSign(d.endRaw, d.bucket, d.obj, d.raw, d.prevSig)
	sum := sha256.Sum256(raw)
	want := "2020-09-11T19:36:49Z\nalice-bucket/" + d.obj + "\n" + hex.EncodeToString(sum[:]) + "\n" + *d.prevSig
	if s != want {
		t.Errorf("string to sign:\n%s\nwant\n%s", s, want)
	}
	for _, e := range d.logs {
		n, ok := parseLogName(e.Object[strings.LastIndexByte(e.Object, '/')+1:])
		if !ok || n.account != "123456789123" || n.region != "us-west-2" || len(e.Hash) != 64 {
			t.Errorf("log entry %+v: %+v", e, n)
		}
	}
}

// TestDigestFormat: digests that are not what CloudTrail writes say what is wrong.
func TestDigestFormat(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/integrity/elastic-cloudtrail-digest.json")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"not json": "not a JSON object",
		strings.Replace(string(raw), `"digestS3Object"`, `"x"`, 1):                                               "it has no digestS3Object",
		strings.Replace(string(raw), `"logFiles":[`, `"logFiles":7,"y":[`, 1):                                    "logFiles",
		strings.Replace(string(raw), `"digestEndTime":"2020-09-11T19:36:49Z"`, `"digestEndTime":"yesterday"`, 1): "not a time",
		strings.Replace(string(raw), `"digestEndTime":"2020-09-11T19:36:49Z"`, `"digestEndTime":5`, 1):           "digestEndTime",
	} {
		d := &digest{raw: []byte(in)}
		d.parse()
		if !strings.Contains(d.formatErr, want) {
			t.Errorf("%.40s…: %q, want %q", in, d.formatErr, want)
		}
	}
	// A null previous signature (a chain's first digest) is fine.
	d := &digest{raw: []byte(strings.Replace(string(raw), `"previousDigestSignature":"10e0`, `"previousDigestSignature":null,"x":"`, 1))}
	d.parse()
	if d.formatErr != "" || d.prevSig != nil {
		t.Errorf("null previous signature: %q %v", d.formatErr, d.prevSig)
	}
}
