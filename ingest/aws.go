package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// AWSOptions select the credentials and the default region for the AWS sources.
type AWSOptions struct {
	Profile string // shared config profile; "" = the default chain (env, profile, SSO, roles, IMDS)
	Region  string // "" = from the environment or profile, else us-east-1
}

// LoadAWSConfig resolves credentials through the SDK's standard chain. The SDK's own
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> variables are honoured by the clients
// made from it. Retries: up to 10 attempts with backoff for throttling, 5xx, resets and
// timeouts, each said on log (throttling excepted); none for an endpoint that refuses
// connections or whose name does not resolve; and no client-side retry quota (under
// concurrency that quota fails a run instead of slowing it: aws-sdk-go-v2 #1665). SDK log
// lines go to log.
func LoadAWSConfig(ctx context.Context, o AWSOptions, log *slog.Logger) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(NewRetryer(log)),
		config.WithLogger(slogLogger{log}),
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, ExplainAWSError(fmt.Errorf("load AWS configuration: %w", err), o.Profile)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// NewRetryer is the retry policy of every AWS client: the SDK's standard retryer (backoff
// with jitter on throttling, 5xx, connection resets and timeouts) with 10 attempts and no
// client-side retry quota. An endpoint that refuses the connection, or whose name does not
// resolve, is not retried: ten attempts with backoff took about two minutes to fail,
// silently. Every other retry but throttling (expected, and paced by event history) is
// said on log at warn level, with the endpoint and the error.
func NewRetryer(log *slog.Logger) func() aws.Retryer {
	return func() aws.Retryer {
		std := retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 10
			so.RateLimiter = ratelimit.None
			so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if Unreachable(err) {
					return aws.FalseTernary
				}
				return aws.UnknownTernary
			})}, so.Retryables...)
		})
		return &sayRetries{Retryer: std, log: log, last: map[string]time.Time{}}
	}
}

// sayRetries is a retryer that logs each retry it decides on (throttling excepted), at
// most once every two seconds per endpoint.
type sayRetries struct {
	aws.Retryer
	log  *slog.Logger
	mu   sync.Mutex
	last map[string]time.Time
}

func (r *sayRetries) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := r.Retryer.RetryDelay(attempt, err)
	if derr != nil || r.log == nil || isThrottle(err) {
		return d, derr
	}
	endpoint := endpointOf(err)
	r.mu.Lock()
	quiet := time.Since(r.last[endpoint]) < 2*time.Second
	if !quiet {
		r.last[endpoint] = time.Now()
	}
	r.mu.Unlock()
	if !quiet {
		r.log.Warn("retrying an AWS call", "endpoint", endpoint, "attempt", attempt+1,
			"of", r.MaxAttempts(), "in", d.Round(time.Millisecond), "err", shortAWSError(err))
	}
	return d, derr
}

func (r *sayRetries) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := r.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.Retryer.GetInitialToken(), nil
}

// Unreachable reports an endpoint that cannot be reached at all: it refuses connections,
// or its host name does not exist. Retrying does not help.
func Unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsNotFound
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// endpointOf is the scheme and host a failed request went to, from the error; "" when it
// does not say.
func endpointOf(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Request != nil && re.Response.Request.URL != nil {
		return re.Response.Request.URL.Scheme + "://" + re.Response.Request.URL.Host
	}
	return ""
}

// shortAWSError is the innermost part of an AWS error worth saying: what the network
// said, or the service's error code and message.
func shortAWSError(err error) string {
	status := ""
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		status = fmt.Sprintf("HTTP %d", re.Response.StatusCode)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		if status != "" {
			return status + " " + ae.ErrorCode() + ": " + ae.ErrorMessage()
		}
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if status != "" {
		return status
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// slogLogger sends the SDK's log lines (e.g. checksum warnings) to slog, not to stderr.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
}

// AWSHint is an error with the fix a user can apply.
type AWSHint struct {
	Err  error
	Hint string
}

func (e *AWSHint) Error() string { return e.Err.Error() }
func (e *AWSHint) Unwrap() error { return e.Err }

// ExplainAWSError adds the fix to the AWS errors users hit most: an expired SSO session,
// no credentials at all, expired or invalid keys. Other errors are returned as they are.
func ExplainAWSError(err error, profile string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	login := "aws sso login"
	if profile != "" {
		login += " --profile " + profile
	}
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case Unreachable(err):
		endpoint := endpointOf(err)
		if endpoint == "" {
			endpoint = "the AWS endpoint"
		}
		var dns *net.DNSError
		if errors.As(err, &dns) {
			return &AWSHint{err, fmt.Sprintf("%s does not resolve (no such host): check the endpoint URL (--endpoint-url, AWS_ENDPOINT_URL*), the region name and the network", endpoint)}
		}
		return &AWSHint{err, fmt.Sprintf("nothing answers at %s (connection refused): check the endpoint URL (--endpoint-url, AWS_ENDPOINT_URL*) and the network", endpoint)}
	case strings.Contains(strings.ToLower(msg), "sso session has expired"),
		strings.Contains(msg, "InvalidGrantException"), strings.Contains(msg, "refresh SSO token"):
		return &AWSHint{err, "the SSO session has expired: run `" + login + "`, then run trailhound again"}
	case strings.Contains(msg, "get credentials:") || strings.Contains(msg, "no EC2 IMDS role found"):
		return &AWSHint{err, "no AWS credentials found: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}
	case code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired":
		return &AWSHint{err, "the AWS credentials have expired: refresh them (`" + login + "` for SSO), then run trailhound again"}
	case code == "InvalidAccessKeyId" || code == "InvalidClientTokenId" || code == "UnrecognizedClientException":
		return &AWSHint{err, "AWS does not recognise this access key: it may be deactivated or deleted (after a leak, use a new key of an admin user)"}
	case code == "SignatureDoesNotMatch":
		return &AWSHint{err, "the secret access key does not match the access key id"}
	}
	return err
}

// IsAccessDenied reports whether err is AWS refusing the call for lack of permission.
func IsAccessDenied(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AllAccessDisabled", "Forbidden":
		return true
	}
	return false
}

// apiErrorCode is an AWS API error's code ("" for other errors).
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// CloudTrailClients makes one CloudTrail client per region, on first use. The SDK's
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDTRAIL are honoured.
type CloudTrailClients struct {
	cfg aws.Config
	mu  sync.Mutex
	m   map[string]*cloudtrail.Client
}

// NewCloudTrailClients returns the clients made from cfg.
func NewCloudTrailClients(cfg aws.Config) *CloudTrailClients {
	return &CloudTrailClients{cfg: cfg, m: map[string]*cloudtrail.Client{}}
}

// Client returns region's client.
func (c *CloudTrailClients) Client(region string) *cloudtrail.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.m[region]; ok {
		return cl
	}
	cl := cloudtrail.NewFromConfig(c.cfg, func(o *cloudtrail.Options) { o.Region = region })
	c.m[region] = cl
	return cl
}

// Lookup returns region's client as a LookupAPI.
func (c *CloudTrailClients) Lookup(region string) LookupAPI { return c.Client(region) }
