package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrDiskFull is returned when the disk (or file system quota) holding the
// state database is full: nothing more can be recorded, so no further
// portal call may be made.
var ErrDiskFull = errors.New("the disk holding the state database is full")

// writeErr marks SQLite's "database or disk is full" (SQLITE_FULL, also
// what a file-size limit gives) as ErrDiskFull, naming the directory to free.
func (s *Store) writeErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "database or disk is full") || strings.Contains(msg, "SQLITE_FULL") ||
		strings.Contains(msg, "no space left on device") || strings.Contains(msg, "file too large") {
		return fmt.Errorf("%w (%s): free some space there, then run the same command again", ErrDiskFull, filepath.Dir(s.path))
	}
	return err
}

// RecordIntent commits a call's write-ahead intent before the call is sent:
// an outcome row with result ResultPending, its organization, environments,
// mode, key thumbprints and run. It fills o.ID. FinishOutcome replaces it
// with the outcome; when the process dies first, the next run finds it
// with PendingOutcomes. An error means the call must not be made.
func (s *Store) RecordIntent(ctx context.Context, app int64, o *Outcome) error {
	o.Result = ResultPending
	if o.Finished.IsZero() {
		o.Finished = o.Started
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO outcomes(run_id, app, org_id, action, envs, mode, nonprod_keys, prod_keys, result, message, attempts, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.RunID, app, o.OrgID, o.Action, o.Envs, o.Mode, o.NonProdKeys, o.ProdKeys, ResultPending, o.Message, o.Attempts, formatTime(o.Started), formatTime(o.Finished))
	if err != nil {
		return fmt.Errorf("record the intent to call org %s: %w", o.OrgID, s.writeErr(err))
	}
	o.ID, _ = res.LastInsertId()
	return nil
}

// FinishOutcome records the outcome of the call whose intent is o.ID: its
// result, message, attempts and finish time.
func (s *Store) FinishOutcome(ctx context.Context, o *Outcome) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outcomes SET result = ?, message = ?, attempts = ?, finished_at = ? WHERE id = ? AND result = ?`,
		o.Result, o.Message, o.Attempts, formatTime(o.Finished), o.ID, ResultPending)
	if err != nil {
		return fmt.Errorf("record outcome for org %s: %w", o.OrgID, s.writeErr(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("record outcome for org %s: no pending intent %d", o.OrgID, o.ID)
	}
	return nil
}

// DropIntent removes an intent whose call is known to have changed
// nothing (the portal answered 429 and asked for a long pause).
func (s *Store) DropIntent(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM outcomes WHERE id = ? AND result = ?`, id, ResultPending); err != nil {
		return fmt.Errorf("drop intent %d: %w", id, s.writeErr(err))
	}
	return nil
}

// PendingOutcomes lists the app's intents without an outcome, oldest first.
// Read under the run lock, they are calls of runs that died during the call.
func (s *Store) PendingOutcomes(ctx context.Context, app int64) ([]Outcome, error) {
	return s.outcomes(ctx, `SELECT `+outcomeCols+` FROM outcomes WHERE app = ? AND result = ? ORDER BY id`, app, ResultPending)
}

// ResolveOutcome settles a pending intent found by a later run: result is
// ResultUnconfirmed or ResultFailed, message says how it was decided. The
// row keeps the call's own times.
func (s *Store) ResolveOutcome(ctx context.Context, id int64, result, message string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outcomes SET result = ?, message = ? WHERE id = ? AND result = ?`,
		result, message, id, ResultPending)
	if err != nil {
		return fmt.Errorf("resolve the unknown outcome %d: %w", id, s.writeErr(err))
	}
	return nil
}
