package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// HistoryCursor is where one event-history query stands: LookupEvents in one region for a
// fixed StartTime/EndTime (its NextToken is bound to both). The writer saves it in the
// same transaction as the events of the page it follows (table history_cursors).
type HistoryCursor struct {
	Region               string
	QueryStart, QueryEnd time.Time // the StartTime and EndTime sent
	// KeptStart and KeptEnd bound what the store holds once the query is done: the query's
	// window, narrowed by the window of every run that read part of it (events outside a
	// run's window are not stored) and by how late event history may still add events.
	KeptStart, KeptEnd time.Time
	NextToken          string    // the next page's token; "" before the first page and when done
	Pages, Events      int64     // pages and events read so far
	Oldest             time.Time // oldest eventTime read so far (pages come newest first)
	Done               bool

	// resumedAt is Pages when this run took the query up: the writer saves cursors in
	// page order from there.
	resumedAt int64
}

// Remaining is the part of the query's window not read yet, as a fraction.
func (c HistoryCursor) Remaining() float64 {
	if c.Done {
		return 0
	}
	total := c.QueryEnd.Sub(c.QueryStart)
	if c.Oldest.IsZero() || total <= 0 {
		return 1
	}
	return min(1, max(0, float64(c.Oldest.Sub(c.QueryStart))/float64(total)))
}

type cursorKey struct {
	region     string
	start, end int64 // unix nanoseconds
}

func (c HistoryCursor) key() cursorKey {
	return cursorKey{c.Region, c.QueryStart.UnixNano(), c.QueryEnd.UnixNano()}
}

// historyCheckpoint is an event-history page's Checkpoint: its query's cursor after it.
type historyCheckpoint struct {
	HistoryCursor
	book *cursorBook
}

func (c historyCheckpoint) Ledger() Ledger { return c.book }

// cursorBook, the event-history source's Ledger, puts the cursors of event-history pages back in order for the writer. A
// region's pages are fetched in order, but decoded concurrently, so they may reach the
// writer out of order. A query's cursor is saved only up to the last page whose
// predecessors are all in the store: it never runs ahead of the events stored, and an
// interrupted run at worst reads a few pages again (their events are de-duplicated).
type cursorBook struct {
	queries map[cursorKey]*cursorQueue
}

type cursorQueue struct {
	saved int64                   // pages up to which the saved cursor goes
	ready map[int64]HistoryCursor // by Pages: cursors of pages staged or stored
	next  int64                   // saved after the current commit
}

// Stage records the cursor that follows a page whose events are staged (or were stored
// before, or could not be read and were reported).
func (b *cursorBook) Stage(cp Checkpoint) {
	c := cp.(historyCheckpoint).HistoryCursor
	if b.queries == nil {
		b.queries = map[cursorKey]*cursorQueue{}
	}
	q := b.queries[c.key()]
	if q == nil {
		q = &cursorQueue{saved: c.resumedAt, ready: map[int64]HistoryCursor{}}
		b.queries[c.key()] = q
	}
	q.ready[c.Pages] = c
}

// Save writes, inside the writer's open transaction, each query's cursor after the last
// page whose predecessors are all committed with this transaction or before it.
func (b *cursorBook) Save(ctx context.Context, conn *sql.Conn, now time.Time) error {
	keys := make([]cursorKey, 0, len(b.queries))
	for k := range b.queries {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.region != b.region {
			return a.region < b.region
		}
		if a.start != b.start {
			return a.start < b.start
		}
		return a.end < b.end
	})
	for _, k := range keys {
		q := b.queries[k]
		q.next = q.saved
		var last *HistoryCursor
		for {
			c, ok := q.ready[q.next+1]
			if !ok {
				break
			}
			q.next++
			last = &c
		}
		if last == nil {
			continue
		}
		if err := saveCursor(ctx, conn, *last, now); err != nil {
			return err
		}
	}
	return nil
}

// Committed is called once the transaction of Save is committed.
func (b *cursorBook) Committed() {
	for _, q := range b.queries {
		for p := q.saved + 1; p <= q.next; p++ {
			delete(q.ready, p)
		}
		q.saved = q.next
	}
}

func saveCursor(ctx context.Context, conn *sql.Conn, c HistoryCursor, now time.Time) error {
	if _, err := conn.ExecContext(ctx,
		"DELETE FROM history_cursors WHERE region = ? AND query_start = ? AND query_end = ?",
		c.Region, c.QueryStart, c.QueryEnd); err != nil {
		return fmt.Errorf("save event-history cursor of %s: %w", c.Region, err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO history_cursors (region, query_start, query_end,
		kept_start, kept_end, next_token, pages, events, oldest_event, done, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Region, c.QueryStart, c.QueryEnd, c.KeptStart, c.KeptEnd, nullString(c.NextToken),
		c.Pages, c.Events, nullTime(c.Oldest), c.Done, now); err != nil {
		return fmt.Errorf("save event-history cursor of %s: %w", c.Region, err)
	}
	return nil
}

// LoadHistoryCursors reads the event-history cursors saved in the store.
func LoadHistoryCursors(ctx context.Context, db *sql.DB) ([]HistoryCursor, error) {
	rows, err := db.QueryContext(ctx, `SELECT region, query_start, query_end, kept_start, kept_end,
		coalesce(next_token, ''), pages, events, oldest_event, done
		FROM history_cursors ORDER BY region, query_start, query_end`)
	if err != nil {
		return nil, fmt.Errorf("read history_cursors: %w", err)
	}
	defer rows.Close()
	var cs []HistoryCursor
	for rows.Next() {
		var c HistoryCursor
		var oldest sql.NullTime
		if err := rows.Scan(&c.Region, &c.QueryStart, &c.QueryEnd, &c.KeptStart, &c.KeptEnd,
			&c.NextToken, &c.Pages, &c.Events, &oldest, &c.Done); err != nil {
			return nil, fmt.Errorf("read history_cursors: %w", err)
		}
		c.QueryStart, c.QueryEnd = c.QueryStart.UTC(), c.QueryEnd.UTC()
		c.KeptStart, c.KeptEnd = c.KeptStart.UTC(), c.KeptEnd.UTC()
		if oldest.Valid {
			c.Oldest = oldest.Time.UTC()
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}
