package ingest

import (
	"context"
	"database/sql"
	"slices"
	"time"
)

// Checkpoint is where a resumable source stands after one of its objects (event history: a
// query's cursor after a page). The writer knows nothing of it but its ledger: it stages the
// checkpoint once the object's events are staged (or the object is reported unreadable),
// asks every ledger it has seen to save what is ready inside the transaction that commits
// those events, and tells them when that transaction is committed. A new resumable source
// brings its own Checkpoint and Ledger; the writer does not change.
type Checkpoint interface {
	Ledger() Ledger
}

// Ledger keeps one source's staged checkpoints and saves them in the writer's transactions.
type Ledger interface {
	// Stage records a checkpoint whose object's events are staged, stored or reported.
	Stage(Checkpoint)
	// Save writes, inside the writer's open transaction on conn, the checkpoints that may
	// be saved with it (never one ahead of the events stored).
	Save(ctx context.Context, conn *sql.Conn, now time.Time) error
	// Committed is called once the transaction of the last Save is committed.
	Committed()
}

// ledgers are the ledgers the writer has seen, in the order it first saw them.
type ledgers []Ledger

func (ls *ledgers) stage(c Checkpoint) {
	l := c.Ledger()
	if !slices.Contains(*ls, l) {
		*ls = append(*ls, l)
	}
	l.Stage(c)
}

func (ls ledgers) save(ctx context.Context, conn *sql.Conn, now time.Time) error {
	for _, l := range ls {
		if err := l.Save(ctx, conn, now); err != nil {
			return err
		}
	}
	return nil
}

func (ls ledgers) committed() {
	for _, l := range ls {
		l.Committed()
	}
}
