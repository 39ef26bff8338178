package ingest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestExplainAWSError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		hint string // "" = no hint
	}{
		{fmt.Errorf("get identity: %w", errors.New("failed to refresh cached credentials, the SSO session has expired or is invalid")), "aws sso login --profile victim"},
		{errors.New("operation error S3: ListObjectsV2, get credentials: failed to refresh cached credentials, no EC2 IMDS role found"), "no AWS credentials found"},
		{fmt.Errorf("list: %w", &smithy.GenericAPIError{Code: "ExpiredToken", Message: "The provided token has expired."}), "have expired"},
		{fmt.Errorf("list: %w", &smithy.GenericAPIError{Code: "InvalidAccessKeyId"}), "deactivated or deleted"},
		{fmt.Errorf("list: %w", &smithy.GenericAPIError{Code: "NoSuchBucket"}), ""},
	} {
		err := ExplainAWSError(tc.err, "victim")
		var h *AWSHint
		if got := errors.As(err, &h); got != (tc.hint != "") || (got && !strings.Contains(h.Hint, tc.hint)) {
			t.Errorf("%v: hint %v, want one containing %q", tc.err, h, tc.hint)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: the original error is not wrapped", tc.err)
		}
	}
	if !IsAccessDenied(fmt.Errorf("x: %w", &smithy.GenericAPIError{Code: "AccessDenied"})) || IsAccessDenied(errors.New("AccessDenied")) {
		t.Error("IsAccessDenied must recognise the API error code, not the text")
	}
}
