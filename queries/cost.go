package queries

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/trailhound/trailhound/queries/prices"
)

// LastEvent returns the time of the last event in the store (the cost queries' default
// --until); ok is false in a store without events.
func LastEvent(ctx context.Context, db *sql.DB) (t time.Time, ok bool, err error) {
	var v sql.NullTime
	if err := db.QueryRowContext(ctx, "SELECT max(event_time) FROM event_rows").Scan(&v); err != nil {
		return t, false, fmt.Errorf("last event: %w", err)
	}
	return v.Time.UTC(), v.Valid, nil
}

// IsUntilBeforeFirstLaunch reports whether err is a cost query refusing an --until before
// the first launch in its scope (a usage error).
func IsUntilBeforeFirstLaunch(err error) bool {
	return err != nil && strings.Contains(err.Error(), "is before the first launch in scope")
}

// PriceNeeds runs query cost in scope p without prices and returns what it would price: the
// EC2 instance types and the Fargate regions (for the live Price List API).
func PriceNeeds(ctx context.Context, db *sql.DB, p Params) ([]prices.Need, error) {
	q, err := Lookup("cost")
	if err != nil {
		return nil, err
	}
	p.Prices, p.Currency = []prices.Price{}, ""
	rows, err := q.Run(ctx, db, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var needs []prices.Need
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query cost: %w", err)
		}
		r := map[string]string{}
		for i, c := range cols {
			if s, ok := vals[i].(string); ok {
				r[c] = s
			}
		}
		needs = append(needs, prices.Need{Service: r["service"], Region: r["region"], Item: r["resource_type"]})
	}
	return needs, rows.Err()
}

// CachedPrices returns the prices the Price List API gave earlier (table price_cache).
func CachedPrices(ctx context.Context, db *sql.DB) (prices.Table, error) {
	t := prices.Table{Name: "cache", Source: "AWS Price List Query API (cached in the store)"}
	rows, err := db.QueryContext(ctx, `SELECT service, region, item, market, unit, usd, source FROM price_cache
		ORDER BY service, region, item, market, unit`)
	if err != nil {
		if strings.Contains(err.Error(), "price_cache does not exist") {
			return t, nil // a store written before the cache existed
		}
		return t, fmt.Errorf("read price cache: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p prices.Price
		if err := rows.Scan(&p.Service, &p.Region, &p.Item, &p.Market, &p.Unit, &p.USD, &p.Source); err != nil {
			return t, fmt.Errorf("read price cache: %w", err)
		}
		t.Prices = append(t.Prices, p)
	}
	return t, rows.Err()
}

// CachePrices keeps prices from the Price List API in the store (replacing older answers for
// the same service, region, item, market and unit).
func CachePrices(ctx context.Context, db *sql.DB, ps []prices.Price, fetched time.Time) error {
	if len(ps) == 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cache prices: %w", err)
	}
	defer tx.Rollback()
	for _, p := range ps {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO price_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Service, p.Region, p.Item, p.Market, p.Unit, p.USD, p.Source, fetched.UTC()); err != nil {
			return fmt.Errorf("cache prices: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cache prices: %w", err)
	}
	return nil
}
