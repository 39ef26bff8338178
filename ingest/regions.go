package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// RegionsAPI lists the account's regions. *ec2.Client satisfies it.
type RegionsAPI interface {
	DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// RegionInfo is one region of the account's partition.
type RegionInfo struct {
	Name        string
	OptInStatus string // opt-in-not-required | opted-in | not-opted-in
}

// Enabled reports whether the account can use the region.
func (r RegionInfo) Enabled() bool { return r.OptInStatus != "not-opted-in" }

// ResolveRegions turns the regions a user asked for ("all", or none, for every enabled
// region) into the regions to read, with ec2:DescribeRegions. Asked-for regions that are
// not enabled in the account, or unknown, come back in unavailable with the reason.
// Without ec2:DescribeRegions, named regions are used as they are.
func ResolveRegions(ctx context.Context, api RegionsAPI, asked []string, log *slog.Logger) (regions []string, unavailable map[string]string, err error) {
	all := len(asked) == 0
	var named []string
	for _, r := range asked {
		for _, r := range strings.Split(r, ",") {
			switch r = strings.TrimSpace(r); r {
			case "":
			case "all":
				all = true
			default:
				named = append(named, r)
			}
		}
	}
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		if !all && ctx.Err() == nil {
			log.Warn("cannot list regions; using the regions named", "err", err)
			return uniqueSorted(named), nil, nil
		}
		if IsAccessDenied(err) {
			return nil, nil, fmt.Errorf("list regions: %w (the credentials need ec2:DescribeRegions; or name the regions with --region)", err)
		}
		return nil, nil, fmt.Errorf("list regions: %w", ExplainAWSError(err, ""))
	}
	known := map[string]RegionInfo{}
	for _, r := range out.Regions {
		known[aws.ToString(r.RegionName)] = RegionInfo{aws.ToString(r.RegionName), aws.ToString(r.OptInStatus)}
	}
	set := map[string]bool{}
	if all {
		for name, r := range known {
			if r.Enabled() {
				set[name] = true
			}
		}
	}
	unavailable = map[string]string{}
	for _, name := range named {
		r, ok := known[name]
		switch {
		case !ok:
			unavailable[name] = "not a region of this partition (ec2:DescribeRegions does not list it)"
		case !r.Enabled():
			unavailable[name] = "not enabled in this account (an opt-in region)"
		default:
			set[name] = true
		}
	}
	return sortedKeys(set), unavailable, nil
}

func uniqueSorted(ss []string) []string {
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return sortedKeys(m)
}
