package synth

import "math/rand/v2"

// sessCtx is userIdentity.sessionContext.
type sessCtx struct {
	issuerType string // "" writes "sessionIssuer":{}
	issuerPID  string
	issuerArn  string
	issuerAcct string
	issuerUser string
	created    int64
	mfa        bool
	ec2Role    string // ec2RoleDelivery, e.g. "2.0"
}

// ident is userIdentity.
type ident struct {
	typ, pid, arn, acct, key, user string
	keyField                       bool // write accessKeyId even when empty
	invokedBy                      string
	sess                           *sessCtx
}

type resource struct{ arn, acct, typ string }

// rec holds one CloudTrail record before it is encoded.
type rec struct {
	ver         string
	id          ident
	t           int64
	src, name   string
	region      string
	ip, ua      string
	errCode     string
	errMsg      string
	req, resp   func(w *jw) // nil encodes null
	aed         func(w *jw) // nil omits additionalEventData
	reqID       string      // "" omits requestID
	evID        string
	ro          bool
	res         []resource
	evType      string
	mgmt        bool
	recipient   string
	shared      string
	vpce        string
	cat         string
	tlsHost     string // "" omits tlsDetails
	tls12       bool
	consoleCred bool
}

// begin resets r for a new management API call with fresh request/event ids.
func (r *rec) begin(rng *rand.Rand, acct string, t int64, src, name, region string) {
	*r = rec{
		ver:       "1.08",
		t:         t,
		src:       src,
		name:      name,
		region:    region,
		evType:    "AwsApiCall",
		mgmt:      true,
		recipient: acct,
		cat:       "Management",
	}
	r.reqID = uuid(rng)
	r.evID = uuid(rng)
}

func emitIdent(w *jw, id *ident) {
	w.ko("userIdentity")
	if id.typ != "" {
		w.ks("type", id.typ)
	}
	if id.pid != "" {
		w.ks("principalId", id.pid)
	}
	if id.arn != "" {
		w.ks("arn", id.arn)
	}
	if id.acct != "" {
		w.ks("accountId", id.acct)
	}
	if id.key != "" || id.keyField {
		w.ks("accessKeyId", id.key)
	}
	if id.user != "" {
		w.ks("userName", id.user)
	}
	if s := id.sess; s != nil {
		w.ko("sessionContext")
		if s.issuerType == "" {
			w.emptyObj("sessionIssuer")
		} else {
			w.ko("sessionIssuer")
			w.ks("type", s.issuerType)
			w.ks("principalId", s.issuerPID)
			w.ks("arn", s.issuerArn)
			w.ks("accountId", s.issuerAcct)
			w.ks("userName", s.issuerUser)
			w.end()
		}
		w.emptyObj("webIdFederationData")
		w.ko("attributes")
		w.kt("creationDate", s.created)
		if s.mfa {
			w.ks("mfaAuthenticated", "true")
		} else {
			w.ks("mfaAuthenticated", "false")
		}
		w.end()
		if s.ec2Role != "" {
			w.ks("ec2RoleDelivery", s.ec2Role)
		}
		w.end()
	}
	if id.invokedBy != "" {
		w.ks("invokedBy", id.invokedBy)
	}
	w.end()
}

// emit appends r as one JSON object.
func (r *rec) emit(w *jw) {
	w.obj()
	w.ks("eventVersion", r.ver)
	emitIdent(w, &r.id)
	w.kt("eventTime", r.t)
	w.ks("eventSource", r.src)
	w.ks("eventName", r.name)
	w.ks("awsRegion", r.region)
	w.ks("sourceIPAddress", r.ip)
	w.ks("userAgent", r.ua)
	if r.errCode != "" {
		w.ks("errorCode", r.errCode)
		w.ks("errorMessage", r.errMsg)
	}
	if r.req == nil {
		w.knull("requestParameters")
	} else {
		w.ko("requestParameters")
		r.req(w)
		w.end()
	}
	if r.resp == nil {
		w.knull("responseElements")
	} else {
		w.ko("responseElements")
		r.resp(w)
		w.end()
	}
	if r.aed != nil {
		w.ko("additionalEventData")
		r.aed(w)
		w.end()
	}
	if r.reqID != "" {
		w.ks("requestID", r.reqID)
	}
	w.ks("eventID", r.evID)
	w.kb("readOnly", r.ro)
	if len(r.res) > 0 {
		w.ka("resources")
		for _, x := range r.res {
			w.obj()
			if x.acct != "" {
				w.ks("accountId", x.acct)
			}
			w.ks("type", x.typ)
			w.ks("ARN", x.arn)
			w.end()
		}
		w.earr()
	}
	w.ks("eventType", r.evType)
	w.kb("managementEvent", r.mgmt)
	w.ks("recipientAccountId", r.recipient)
	if r.shared != "" {
		w.ks("sharedEventID", r.shared)
	}
	if r.vpce != "" {
		w.ks("vpcEndpointId", r.vpce)
	}
	w.ks("eventCategory", r.cat)
	if r.tlsHost != "" {
		w.ko("tlsDetails")
		if r.tls12 {
			w.ks("tlsVersion", "TLSv1.2")
			w.ks("cipherSuite", "ECDHE-RSA-AES128-GCM-SHA256")
		} else {
			w.ks("tlsVersion", "TLSv1.3")
			w.ks("cipherSuite", "TLS_AES_128_GCM_SHA256")
		}
		w.ks("clientProvidedHostHeader", r.tlsHost)
		w.end()
	}
	if r.consoleCred {
		w.ks("sessionCredentialFromConsole", "true")
	}
	w.end()
}

// s3AED is the additionalEventData S3 writes on management calls.
func s3AED(rng *rand.Rand, out int) func(w *jw) {
	id2 := amzID2(rng)
	return func(w *jw) {
		w.ks("SignatureVersion", "SigV4")
		w.ks("CipherSuite", "TLS_AES_128_GCM_SHA256")
		w.ki("bytesTransferredIn", 0)
		w.ks("AuthenticationMethod", "AuthHeader")
		w.ks("x-amz-id-2", id2)
		w.ki("bytesTransferredOut", int64(out))
	}
}

// versionFor returns a plausible eventVersion for an event source.
func versionFor(src string) string {
	switch src {
	case "ecs.amazonaws.com", "servicequotas.amazonaws.com", "s3.amazonaws.com", "lambda.amazonaws.com", "ssm.amazonaws.com":
		return "1.09"
	}
	return "1.08"
}

// regionalHost returns the endpoint host name a client used.
func regionalHost(svc, region string) string {
	return svc + "." + region + ".amazonaws.com"
}
