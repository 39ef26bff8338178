package prices

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// AWS's bulk offer files (pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{AmazonEC2,AmazonECS}/
// current/REGION/index.{csv,json}) list every product (SKU, attributes) and its terms. From EC2
// trailhound takes the on-demand hourly price of Linux, shared-tenancy instances without
// pre-installed software (the capacity "Used"); from ECS the Fargate vCPU-hour and GB-hour
// rates (x86_64, ARM64, spot).

// product is the part of an offer file's product that says what the price is for.
type product struct {
	service, region, item, market, unit string
}

// ec2Product and ecsProduct classify a product by its attributes (bulk CSV column names and
// JSON attribute names are both accepted: "Instance Type" / instanceType and so on).
func ec2Product(a func(csvName, jsonName string) string) (product, bool) {
	if a("Tenancy", "tenancy") != "Shared" || a("Operating System", "operatingSystem") != "Linux" ||
		a("Pre Installed S/W", "preInstalledSw") != "NA" || a("Instance Type", "instanceType") == "" {
		return product{}, false
	}
	if c := a("CapacityStatus", "capacitystatus"); c != "" && c != "Used" {
		return product{}, false
	}
	if l := a("License Model", "licenseModel"); l != "" && l != "No License required" {
		return product{}, false
	}
	region := a("Region Code", "regionCode")
	if region == "" {
		return product{}, false
	}
	return product{service: "ec2", region: region, item: a("Instance Type", "instanceType"), market: "on-demand", unit: "hour"}, true
}

func ecsProduct(a func(csvName, jsonName string) string) (product, bool) {
	u := a("usageType", "usagetype")
	region := a("Region Code", "regionCode")
	if region == "" || !strings.Contains(u, "Fargate") || strings.Contains(u, "Windows") || strings.Contains(u, "Ephemeral") {
		return product{}, false
	}
	p := product{service: "fargate", region: region, item: "linux-x86_64", market: "on-demand"}
	switch {
	case strings.Contains(u, "vCPU-Hours"):
		p.unit = "vcpu-hour"
	case strings.Contains(u, "GB-Hours"):
		p.unit = "gb-hour"
	default:
		return product{}, false
	}
	if strings.Contains(u, "ARM") {
		p.item = "linux-arm64"
	}
	if strings.Contains(u, "Spot") {
		p.market = "spot"
	}
	return p, true
}

func classify(offer string, a func(csvName, jsonName string) string) (product, bool) {
	switch offer {
	case "AmazonEC2":
		return ec2Product(a)
	case "AmazonECS":
		return ecsProduct(a)
	}
	if p, ok := ec2Product(a); ok {
		return p, true
	}
	return ecsProduct(a)
}

// parseBulkCSV reads a bulk offer file in CSV: five metadata lines, then a header and one
// row per SKU and price dimension.
func parseBulkCSV(name string, r io.Reader) (Table, error) {
	t := Table{Name: name}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	meta := map[string]string{}
	var col map[string]int
	for col == nil {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return t, fmt.Errorf("prices %s: an AWS offer file without its header (SKU,OfferTermCode,...)", name)
		}
		if err != nil {
			return t, csvError(name, err)
		}
		if len(rec) > 0 && rec[0] == "SKU" {
			col = map[string]int{}
			for i, h := range rec {
				col[h] = i
			}
			break
		}
		if len(rec) >= 2 {
			meta[rec[0]] = rec[1]
		}
	}
	for _, need := range []string{"TermType", "PricePerUnit", "Currency"} {
		if _, ok := col[need]; !ok {
			line, _ := cr.FieldPos(0)
			return t, &LineError{File: name, Line: line, Err: fmt.Errorf("the header has no %q column", need)}
		}
	}
	offer := meta["OfferCode"]
	t.Source = strings.Join(nonEmpty("AWS offer file "+offer, "published "+meta["Publication Date"]), ", ")
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return t, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		if get("TermType") != "OnDemand" || get("Currency") != "USD" {
			continue
		}
		p, ok := classify(offer, func(c, _ string) string { return get(c) })
		if !ok {
			continue
		}
		usd, err := strconv.ParseFloat(get("PricePerUnit"), 64)
		if err != nil || usd < 0 {
			return t, &LineError{File: name, Line: line, Err: fmt.Errorf("PricePerUnit %q is not a price", get("PricePerUnit"))}
		}
		if usd == 0 {
			continue // reserved-capacity and free-tier dimensions
		}
		t.Prices = append(t.Prices, Price{Service: p.service, Region: p.region, Item: p.item, Market: p.market, Unit: p.unit,
			USD: usd, Source: t.Source})
	}
	if len(t.Prices) == 0 {
		return t, fmt.Errorf("prices %s: no EC2 Linux on-demand or Fargate prices in this offer file", name)
	}
	return t, nil
}

// parseBulkJSON reads a bulk offer file in JSON, streaming: an EC2 regional file is large.
func parseBulkJSON(name string, r io.Reader) (Table, error) {
	t := Table{Name: name}
	dec := json.NewDecoder(r)
	var offer, published string
	products := map[string]product{} // SKU -> what it prices
	usd := map[string]float64{}      // SKU -> on-demand USD per unit
	if err := expectDelim(dec, '{'); err != nil {
		return t, err
	}
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return t, err
		}
		switch key {
		case "offerCode":
			err = dec.Decode(&offer)
		case "publicationDate":
			err = dec.Decode(&published)
		case "products":
			err = eachMember(dec, func(sku string) error {
				var p struct {
					Attributes map[string]string `json:"attributes"`
				}
				if err := dec.Decode(&p); err != nil {
					return err
				}
				if pr, ok := classify(offer, func(_, j string) string { return p.Attributes[j] }); ok {
					products[sku] = pr
				}
				return nil
			})
		case "terms":
			err = eachMember(dec, func(termType string) error {
				if termType != "OnDemand" {
					var skip json.RawMessage
					return dec.Decode(&skip)
				}
				return eachMember(dec, func(sku string) error {
					var terms map[string]struct {
						PriceDimensions map[string]struct {
							PricePerUnit map[string]string `json:"pricePerUnit"`
						} `json:"priceDimensions"`
					}
					if err := dec.Decode(&terms); err != nil {
						return err
					}
					for _, term := range terms {
						for _, d := range term.PriceDimensions {
							if v, err := strconv.ParseFloat(d.PricePerUnit["USD"], 64); err == nil && v > 0 {
								usd[sku] = v
							}
						}
					}
					return nil
				})
			})
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return t, fmt.Errorf("prices %s: %w", name, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return t, fmt.Errorf("prices %s: %w", name, err)
	}
	t.Source = strings.Join(nonEmpty("AWS offer file "+offer, "published "+published), ", ")
	for sku, p := range products {
		v, ok := usd[sku]
		if !ok {
			continue
		}
		t.Prices = append(t.Prices, Price{Service: p.service, Region: p.region, Item: p.item, Market: p.market, Unit: p.unit,
			USD: v, Source: t.Source})
	}
	sortPrices(t.Prices)
	if len(t.Prices) == 0 {
		return t, fmt.Errorf("prices %s: no EC2 Linux on-demand or Fargate prices in this offer file", name)
	}
	return t, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("want %q at offset %d, found %v", d, dec.InputOffset(), tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want a member name at offset %d, found %v", dec.InputOffset(), tok)
	}
	return s, nil
}

// eachMember calls f for each member of the object that comes next, with the decoder at its value.
func eachMember(dec *json.Decoder, f func(key string) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		k, err := stringToken(dec)
		if err != nil {
			return err
		}
		if err := f(k); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}
