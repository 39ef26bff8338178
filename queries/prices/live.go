package prices

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/aws-sdk-go-v2/service/pricing/types"
)

// GetProductsAPI is what the live prices call: the AWS Price List Query API's GetProducts
// (read-only; IAM pricing:GetProducts). *pricing.Client satisfies it.
type GetProductsAPI interface {
	GetProducts(ctx context.Context, in *pricing.GetProductsInput, optFns ...func(*pricing.Options)) (*pricing.GetProductsOutput, error)
}

// NewClient makes a Price List client from cfg. The API answers in us-east-1 for every
// region's prices ("the AWS Region is the API endpoint, not related to product
// attributes"); AWS_ENDPOINT_URL_PRICING or AWS_ENDPOINT_URL select another endpoint.
func NewClient(cfg aws.Config) *pricing.Client {
	return pricing.NewFromConfig(cfg, func(o *pricing.Options) { o.Region = "us-east-1" })
}

// Need is something a cost query found and wants priced: an EC2 instance type in a region,
// or a region's Fargate rates.
type Need struct {
	Service, Region, Item string
}

// Live asks the Price List Query API for exactly the needs (EC2: on-demand Linux
// shared-tenancy hourly prices of each type in each region; Fargate: a region's vCPU-hour
// and GB-hour rates, x86_64, ARM64 and spot). What AWS does not price is left out (the query
// then says unknown). now dates the answers.
func Live(ctx context.Context, api GetProductsAPI, needs []Need, now time.Time, log *slog.Logger) (Table, error) {
	t := Table{Name: "live", Source: "AWS Price List Query API (GetProducts), " + now.UTC().Format(time.DateOnly)}
	seen := map[Need]bool{}
	for _, n := range needs {
		if n.Service == "fargate" {
			n.Item = ""
		}
		if seen[n] || (n.Service != "ec2" && n.Service != "fargate") || n.Region == "" {
			continue
		}
		seen[n] = true
		in := &pricing.GetProductsInput{FormatVersion: aws.String("aws_v1"), MaxResults: aws.Int32(100),
			Filters: []types.Filter{term("regionCode", n.Region)}}
		if n.Service == "ec2" {
			if n.Item == "" {
				continue
			}
			in.ServiceCode = aws.String("AmazonEC2")
			in.Filters = append(in.Filters, term("instanceType", n.Item), term("operatingSystem", "Linux"),
				term("tenancy", "Shared"), term("preInstalledSw", "NA"), term("capacitystatus", "Used"))
		} else {
			in.ServiceCode = aws.String("AmazonECS")
		}
		got := 0
		for page := 0; ; page++ {
			out, err := api.GetProducts(ctx, in)
			if err != nil {
				return t, fmt.Errorf("price list GetProducts %s %s %s: %w", aws.ToString(in.ServiceCode), n.Region, n.Item, err)
			}
			for _, s := range out.PriceList {
				ps, err := parsePriceListItem(s, aws.ToString(in.ServiceCode), now)
				if err != nil {
					return t, fmt.Errorf("price list GetProducts %s %s: %w", aws.ToString(in.ServiceCode), n.Region, err)
				}
				for _, p := range ps {
					if p.Region == n.Region && (n.Service != "ec2" || p.Item == n.Item) {
						t.Prices = append(t.Prices, p)
						got++
					}
				}
			}
			if aws.ToString(out.NextToken) == "" || page > 1000 {
				break
			}
			in.NextToken = out.NextToken
		}
		log.Debug("price list", "service", n.Service, "region", n.Region, "item", n.Item, "prices", got)
	}
	sortPrices(t.Prices)
	t.Prices = slices.CompactFunc(t.Prices, func(a, b Price) bool {
		return a.Service == b.Service && a.Region == b.Region && a.Item == b.Item && a.Market == b.Market && a.Unit == b.Unit
	})
	return t, nil
}

func term(field, value string) types.Filter {
	return types.Filter{Type: types.FilterTypeTermMatch, Field: aws.String(field), Value: aws.String(value)}
}

// parsePriceListItem reads one PriceList element: a JSON document in a string, with the
// product's attributes and its terms.
func parsePriceListItem(s, offer string, now time.Time) ([]Price, error) {
	var item struct {
		Product struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"product"`
		PublicationDate string `json:"publicationDate"`
		Terms           struct {
			OnDemand map[string]struct {
				PriceDimensions map[string]struct {
					PricePerUnit map[string]string `json:"pricePerUnit"`
				} `json:"priceDimensions"`
			} `json:"OnDemand"`
		} `json:"terms"`
	}
	if err := json.Unmarshal([]byte(s), &item); err != nil {
		return nil, fmt.Errorf("a PriceList element is not a price list item: %w", err)
	}
	p, ok := classify(offer, func(_, j string) string { return item.Product.Attributes[j] })
	if !ok {
		return nil, nil
	}
	source := "AWS Price List Query API"
	if d := item.PublicationDate; d != "" {
		if i := strings.IndexByte(d, 'T'); i > 0 {
			d = d[:i]
		}
		source += ", published " + d
	}
	source += ", fetched " + now.UTC().Format(time.DateOnly)
	var out []Price
	for _, term := range item.Terms.OnDemand {
		for _, d := range term.PriceDimensions {
			if v, err := strconv.ParseFloat(d.PricePerUnit["USD"], 64); err == nil && v > 0 {
				out = append(out, Price{Service: p.service, Region: p.region, Item: p.item, Market: p.market, Unit: p.unit,
					USD: v, Source: source})
			}
		}
	}
	return out, nil
}

// sortPrices orders prices by what they price, then by price (deterministic output).
func sortPrices(ps []Price) {
	slices.SortFunc(ps, func(a, b Price) int {
		for _, c := range [][2]string{{a.Service, b.Service}, {a.Region, b.Region}, {a.Item, b.Item}, {a.Market, b.Market},
			{a.Unit, b.Unit}} {
			if x := strings.Compare(c[0], c[1]); x != 0 {
				return x
			}
		}
		switch {
		case a.USD < b.USD:
			return -1
		case a.USD > b.USD:
			return 1
		}
		return strings.Compare(a.Source, b.Source)
	})
}
