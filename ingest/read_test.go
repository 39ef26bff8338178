package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
)

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestReadPayloadContentHash: the content hash is the SHA-256 of the decompressed bytes
// (what a CloudTrail digest lists), equal to sha256sum of gunzip's output; a file that is
// not gzipped hashes as stored; bytes after the first gzip stream are counted, neither
// decoded nor hashed, whether they are a second stream or garbage.
func TestReadPayloadContentHash(t *testing.T) {
	content := `{"Records":[{"eventVersion":"1.08","eventID":"a"}]}`
	one := gz(t, []byte(content))
	p, err := readPayload(one, DefaultMaxDecompressed)
	if err != nil || string(p.Content) != content || p.ContentSHA256 != hexSum([]byte(content)) ||
		p.SHA256 != hexSum(one) || p.Trailing != 0 {
		t.Fatalf("one stream: %+v %v", p, err)
	}
	// A second implementation: gunzip | sha256sum.
	cmd := exec.Command("sh", "-c", "gunzip -c | sha256sum")
	cmd.Stdin = bytes.NewReader(one)
	out, err := cmd.Output()
	if err != nil || strings.Fields(string(out))[0] != p.ContentSHA256 {
		t.Errorf("gunzip | sha256sum = %q (%v), readPayload %s", out, err, p.ContentSHA256)
	}
	second := gz(t, []byte(`{"Records":[{"eventVersion":"1.08","eventID":"forged"}]}`))
	for name, extra := range map[string][]byte{"a second stream": second, "garbage": []byte("\x00\x00junk")} {
		p, err := readPayload(append(bytes.Clone(one), extra...), DefaultMaxDecompressed)
		if err != nil || string(p.Content) != content || p.ContentSHA256 != hexSum([]byte(content)) || p.Trailing != int64(len(extra)) {
			t.Errorf("%s after the stream: trailing %d content %q (%v)", name, p.Trailing, p.Content, err)
		}
	}
	plain := []byte(content)
	p, err = readPayload(plain, DefaultMaxDecompressed)
	if err != nil || p.ContentSHA256 != p.SHA256 || p.Trailing != -1 {
		t.Errorf("not gzipped: %+v %v", p, err)
	}
	if _, err := readPayload(one[:len(one)-6], DefaultMaxDecompressed); err == nil || !strings.Contains(err.Error(), "truncated gzip") {
		t.Errorf("truncated: %v", err)
	}
	if _, err := readPayload(gz(t, append([]byte("["), bytes.Repeat([]byte(" "), 5000)...)), 4096); err == nil || !strings.Contains(err.Error(), "gzip bomb") {
		t.Errorf("over the cap: %v", err)
	}
}
