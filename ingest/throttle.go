package ingest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Event history's throttling: every HTTP attempt waits for a token of the region's
// bucket, and a throttled attempt is retried at the next token.

func isThrottle(err error) bool {
	_, ok := retry.DefaultThrottleErrorCodes[apiErrorCode(err)]
	return ok
}

// limitEachAttempt makes every HTTP attempt of a call (the SDK's retries included) wait
// for a token of lim, and counts the attempts that were throttled.
func limitEachAttempt(lim *rate.Limiter, throttled *atomic.Int64) func(*cloudtrail.Options) {
	mw := middleware.FinalizeMiddlewareFunc("TrailhoundRateLimit", func(ctx context.Context, in middleware.FinalizeInput,
		next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if err := lim.Wait(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		out, md, err := next.HandleFinalize(ctx, in)
		if isThrottle(err) {
			throttled.Add(1)
		}
		return out, md, err
	})
	return func(o *cloudtrail.Options) {
		if o.Retryer != nil {
			o.Retryer = throttleRetryer{o.Retryer}
		}
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(mw, (&retry.Attempt{}).ID(), middleware.After)
		})
	}
}

// throttleRetryer is the SDK's retryer, but a throttled attempt is retried without the
// SDK's backoff pause (1-2 s at first, growing): the token bucket spaces the attempts
// already, and the next token is the right time to ask again. Other errors keep the
// SDK's backoff.
type throttleRetryer struct{ aws.Retryer }

func (r throttleRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if isThrottle(err) {
		return 0, nil
	}
	return r.Retryer.RetryDelay(attempt, err)
}

func (r throttleRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := r.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.Retryer.GetInitialToken(), nil
}
