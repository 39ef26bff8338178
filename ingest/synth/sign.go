package synth

import (
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sync"
	"time"
)

// demoKeyPEM signs the generated trails' digests, as CloudTrail's regional key signs a real
// trail's. It is published on purpose (like the AWS CLI's test key): a generated trail is
// evidence of nothing, and anyone can check its chains with the public half, which the
// manifest carries (and PublicKeysJSON writes as aws cloudtrail list-public-keys prints it).
//
//go:embed demo_signing_key.pem
var demoKeyPEM []byte

var demoKey = sync.OnceValue(func() *rsa.PrivateKey {
	b, _ := pem.Decode(demoKeyPEM)
	if b == nil {
		panic("synth: demo_signing_key.pem is not PEM")
	}
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		panic("synth: demo_signing_key.pem: " + err.Error())
	}
	return k
})

// PublicKey is the public half of the key that signed a generated trail's digests, as
// ListPublicKeys returns one.
type PublicKey struct {
	Fingerprint string    // hex MD5 of Value, as CloudTrail's fingerprints are
	Value       []byte    // DER, PKCS#1 RSAPublicKey
	ValidFrom   time.Time // the key's validity: the generated span and 30 days after
	ValidTo     time.Time
}

func publicKey(k *rsa.PrivateKey, from, to time.Time) PublicKey {
	der := x509.MarshalPKCS1PublicKey(&k.PublicKey)
	sum := md5.Sum(der)
	return PublicKey{Fingerprint: hex.EncodeToString(sum[:]), Value: der, ValidFrom: from, ValidTo: to}
}

// signDigest signs a digest the way CloudTrail does: RSASSA-PKCS1-v1_5 with SHA-256 over
// "END\nBUCKET/KEY\nHEX(SHA-256(content))\nPREVIOUS-SIGNATURE" (the literal null for the
// first digest of a chain), hex-encoded. PKCS#1 v1.5 is deterministic: the same digest
// always gets the same signature.
func signDigest(k *rsa.PrivateKey, end, bucket, key string, content []byte, prevSig string) (string, error) {
	if prevSig == "" {
		prevSig = "null"
	}
	sum := sha256.Sum256(content)
	msg := end + "\n" + bucket + "/" + key + "\n" + hex.EncodeToString(sum[:]) + "\n" + prevSig
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	if err != nil {
		return "", fmt.Errorf("sign digest %s: %w", key, err)
	}
	return hex.EncodeToString(sig), nil
}

// PublicKeysJSON is m's public key as `aws cloudtrail list-public-keys` (CLI v2) prints it,
// for `trailhound verify --public-keys`.
func PublicKeysJSON(m Manifest) []byte {
	type key struct {
		ValidityStartTime string
		ValidityEndTime   string
		Value             string
		Fingerprint       string
	}
	k := m.PublicKey
	out := struct{ PublicKeyList []key }{[]key{{
		ValidityStartTime: k.ValidFrom.UTC().Format("2006-01-02T15:04:05+00:00"),
		ValidityEndTime:   k.ValidTo.UTC().Format("2006-01-02T15:04:05+00:00"),
		Value:             base64.StdEncoding.EncodeToString(k.Value),
		Fingerprint:       k.Fingerprint,
	}}}
	b, _ := json.MarshalIndent(out, "", "    ")
	return append(b, '\n')
}
