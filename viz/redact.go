package viz

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted replaces every secret in the files of an evidence pack. The store keeps the original.
const Redacted = "[REDACTED]"

// RedactionRule says what the pack redacts (written into its manifest).
const RedactionRule = "Secrets are replaced by \"" + Redacted + "\" in every file of the pack (the store keeps the " +
	"originals): the value of any JSON member named sessionToken, securityToken, secretAccessKey, secretKey, " +
	"password, newPassword, oldPassword, passwordData, privateKey, keyMaterial, secretString, secretBinary, " +
	"clientSecret, accessToken, refreshToken, idToken, signinToken, authorization, SAMLAssertion or " +
	"webIdentityToken (any case, with or without - and _); any text that looks like an STS session token " +
	"(base64 beginning like IQoJb3JpZ2lu or FwoGZXIvYXdz); any 40-character run of base64 characters with " +
	"upper case, lower case and digits (the shape of an AWS secret access key); and PEM private key blocks. " +
	"Access key IDs (AKIA..., ASIA...) are identifiers, not secrets, and are kept."

// secretNames are JSON member names whose values are secrets, lower case without - and _.
var secretNames = map[string]bool{
	"sessiontoken": true, "securitytoken": true, "xamzsecuritytoken": true, "secretaccesskey": true,
	"awssecretaccesskey": true, "secretkey": true, "password": true, "newpassword": true, "oldpassword": true,
	"passwd": true, "passworddata": true, "privatekey": true, "keymaterial": true, "secretstring": true,
	"secretbinary": true, "clientsecret": true, "accesstoken": true, "refreshtoken": true, "idtoken": true,
	"signintoken": true, "authorization": true, "samlassertion": true, "webidentitytoken": true,
}

func isSecretName[T string | []byte](k T) bool {
	if len(k) > 24 {
		return false
	}
	var b [24]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-' || c == '_':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b[n] = c
		n++
	}
	return secretNames[string(b[:n])]
}

// RedactValue redacts a value as the database driver returns it (JSON decoded into maps,
// slices and strings); it is the value mapper of every table written into a pack. It returns a
// new value when something was redacted and never modifies v.
func RedactValue(v any) any {
	r, _ := redactValue(v)
	return r
}

func redactValue(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		return redactString(x)
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			r, changed := e, false
			if isSecretName(k) && e != nil {
				r, changed = Redacted, e != Redacted
			} else {
				r, changed = redactValue(e)
			}
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			out[k] = r
		}
		if out == nil {
			return x, false
		}
		return out, true
	case []any:
		var out []any
		for i, e := range x {
			r, changed := redactValue(e)
			if !changed {
				continue
			}
			if out == nil {
				out = append([]any(nil), x...)
			}
			out[i] = r
		}
		if out == nil {
			return x, false
		}
		return out, true
	}
	return v, false
}

// redactString redacts secret-looking text inside s; text that is a JSON document also has its
// secret members redacted.
func redactString(s string) (string, bool) {
	if len(s) >= 2 && (s[0] == '{' || s[0] == '[') && json.Valid([]byte(s)) {
		r, changed := redactJSON([]byte(s))
		return string(r), changed
	}
	return redactText(s)
}

// RedactJSON redacts one valid JSON document (a CloudTrail record as stored): the values of
// secret members and secret-looking strings are replaced; every other byte is kept.
func RedactJSON(doc []byte) []byte {
	r, _ := redactJSON(doc)
	return r
}

func redactJSON(doc []byte) ([]byte, bool) {
	var out []byte // nil until something changes
	last := 0      // doc[last:] not yet copied to out
	secretNext := false
	i := 0
	for i < len(doc) {
		if !secretNext { // outside strings only a string can matter: jump to the next one
			k := bytes.IndexByte(doc[i:], '"')
			if k < 0 {
				break
			}
			i += k
		}
		c := doc[i]
		switch {
		case c == '"':
			end := stringEnd(doc, i)
			tok := doc[i:end]
			j := skipSpace(doc, end)
			if j < len(doc) && doc[j] == ':' { // a member name
				secretNext = isSecretKey(tok)
				i = j + 1
				continue
			}
			var repl []byte
			if secretNext {
				repl = redactedJSON
			} else if len(tok) >= 42 && mayHoldSecret(tok) { // 40 characters and the quotes at least
				if r, changed := redactText(unquote(tok)); changed {
					repl, _ = json.Marshal(r)
				}
			}
			secretNext = false
			if repl != nil {
				out = append(append(out, doc[last:i]...), repl...)
				last = end
			}
			i = end
		case c == '{' || c == '[' || c == '-' || c >= '0' && c <= '9': // the value of a secret member
			end := valueEnd(doc, i)
			out = append(append(out, doc[last:i]...), redactedJSON...)
			last, i, secretNext = end, end, false
		case c == 'n' || c == 't' || c == 'f': // null, true, false
			secretNext = false
			i++
		default:
			i++
		}
	}
	if out == nil {
		return doc, false
	}
	return append(out, doc[last:]...), true
}

var redactedJSON = []byte(`"` + Redacted + `"`)

// stringEnd returns the index just after the JSON string starting at doc[i] == '"'.
func stringEnd(doc []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(doc[j:], '"')
		if k < 0 {
			return len(doc)
		}
		j += k
		n := 0 // backslashes right before the quote: an odd number escapes it
		for p := j - 1; p > i && doc[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// isSecretKey reports whether the quoted member name tok is a secret's.
func isSecretKey(tok []byte) bool {
	raw := tok[1 : len(tok)-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return isSecretName(unquote(tok))
	}
	if len(raw) < 6 {
		return false
	}
	return isSecretName(raw)
}

// mayHoldSecret is a quick look at a raw JSON string: only a run of 40 base64 characters or
// more (a key or a token, possibly with escaped slashes) or a PEM header can hold a secret.
func mayHoldSecret(raw []byte) bool {
	if bytes.Contains(raw, []byte("-----BEGIN")) {
		return true
	}
	run := 0
	for _, c := range raw {
		if isB64(c) || c == '\\' {
			run++
			if run >= 40 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// valueEnd returns the index just after the JSON value (number, object or array) at doc[i].
func valueEnd(doc []byte, i int) int {
	if doc[i] != '{' && doc[i] != '[' {
		j := i
		for j < len(doc) && bytes.IndexByte([]byte("+-.0123456789eE"), doc[j]) >= 0 {
			j++
		}
		return j
	}
	depth := 0
	for j := i; j < len(doc); j++ {
		switch doc[j] {
		case '"':
			j = stringEnd(doc, j) - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(doc)
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

func unquote(tok []byte) string {
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1])
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return string(tok[1 : len(tok)-1])
	}
	return s
}

// redactText replaces secret-looking runs in plain text: STS session tokens, 40-character
// secret access keys, and PEM private key blocks.
func redactText(s string) (string, bool) {
	if len(s) < 40 {
		return s, false
	}
	var b strings.Builder
	changed := false
	last := 0
	i := 0
	for i < len(s) {
		if s[i] == '-' && strings.HasPrefix(s[i:], "-----BEGIN") {
			if end := pemEnd(s, i); end > 0 {
				b.WriteString(s[last:i])
				b.WriteString(Redacted)
				last, i, changed = end, end, true
				continue
			}
		}
		if !isB64(s[i]) {
			i++
			continue
		}
		j := i
		var upper, lower, digit bool
		for j < len(s) && isB64(s[j]) {
			c := s[j]
			upper = upper || c >= 'A' && c <= 'Z'
			lower = lower || c >= 'a' && c <= 'z'
			digit = digit || c >= '0' && c <= '9'
			j++
		}
		switch {
		case isSessionToken(s[i:j]):
			for j < len(s) && (isB64(s[j]) || s[j] == '=' || s[j] == '%') { // padding, URL-encoded tokens
				j++
			}
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last, changed = j, true
		case j-i == 40 && upper && lower && digit && (j == len(s) || s[j] != '=') &&
			!strings.Contains(s[i:j], "AWSLogs/"): // (a CloudTrail object's key: bucket/AWSLogs/account/CloudTrail/eu)
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last, changed = j, true
		}
		i = j
	}
	if !changed {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// sessionTokenPrefixes begin STS session tokens: protobuf-framed "origin_ec..." (IQoJb3JpZ2lu)
// and the older "...er/aws..." forms.
var sessionTokenPrefixes = []string{"IQoJb3JpZ2lu", "IQoDb3JpZ2lu", "AgoJb3JpZ2lu", "FwoGZXIvYXdz", "FQoGZXIvYXdz", "AQoDYXdz"}

func isSessionToken(run string) bool {
	if len(run) < 40 {
		return false
	}
	for _, p := range sessionTokenPrefixes {
		if strings.HasPrefix(run, p) {
			return true
		}
	}
	return false
}

// pemEnd returns the end of a PEM private key block starting at s[i], or 0.
func pemEnd(s string, i int) int {
	head := s[i:min(len(s), i+64)]
	if !strings.Contains(head, "PRIVATE KEY-----") {
		return 0
	}
	k := strings.Index(s[i:], "-----END ")
	if k < 0 {
		return len(s) // a truncated key is still a key
	}
	e := strings.Index(s[i+k+9:], "-----")
	if e < 0 {
		return len(s)
	}
	return i + k + 9 + e + 5
}
