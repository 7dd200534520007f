package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Run outcomes.
const (
	RunRunning     = "running"
	RunDone        = "done"        // every planned org activated or already current
	RunFailures    = "failures"    // finished, some orgs refused, failed or mismatched
	RunAborted     = "aborted"     // stopped after repeated failures or an unavailable portal
	RunInterrupted = "interrupted" // Ctrl-C
	RunLapsed      = "lapsed"      // the session lapsed mid-run
)

// Outcome results.
const (
	ResultOK       = "ok"
	ResultRefused  = "refused"
	ResultFailed   = "failed"
	ResultMismatch = "mismatch"
	ResultVerified = "verified"
	// ResultPending is a call's write-ahead intent: recorded before the
	// call is sent, replaced by the outcome after its answer. One left
	// behind by a run that died is resolved by the next run.
	ResultPending = "pending"
	// ResultUnconfirmed is a pending call resolved by a later run whose
	// listing showed the organization enabled: probably this upload, never
	// confirmed by an answer.
	ResultUnconfirmed = "unconfirmed"
)

// Environments an ApproveDownload call sets.
const (
	EnvBoth    = "both"
	EnvNonProd = "nonprod"
	EnvProd    = "prod"
)

// Run is one activation run.
type Run struct {
	ID          int64
	Started     time.Time
	Finished    *time.Time
	Mode        string
	Split       bool
	NonProdKeys string
	ProdKeys    string
	Planned     int
	Outcome     string
	Message     string
	PID         int
	Args        string
}

// Outcome is one ApproveDownload call's result (or a verification), as
// committed before the next call starts.
type Outcome struct {
	ID          int64
	RunID       int64
	OrgID       string
	Action      string
	Envs        string
	Mode        string
	NonProdKeys string
	ProdKeys    string
	Result      string
	Message     string
	Attempts    int
	Started     time.Time
	Finished    time.Time
}

// StartRun records a new run and returns its id.
func (s *Store) StartRun(ctx context.Context, app int64, r *Run) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs(app, started_at, mode, split, nonprod_keys, prod_keys, planned, outcome, pid, args)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, app, formatTime(r.Started), r.Mode, r.Split, r.NonProdKeys, r.ProdKeys, r.Planned, RunRunning, r.PID, r.Args)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", s.writeErr(err))
	}
	r.ID, _ = res.LastInsertId()
	r.Outcome = RunRunning
	return r.ID, nil
}

// FinishRun records how a run ended.
func (s *Store) FinishRun(ctx context.Context, id int64, at time.Time, outcome, message string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET finished_at = ?, outcome = ?, message = ? WHERE id = ?`, formatTime(at), outcome, message, id)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, s.writeErr(err))
	}
	return nil
}

// RecordOutcome commits one outcome (a verification; calls go through
// RecordIntent and FinishOutcome). It is its own transaction, so a crash
// right after it returns loses nothing.
func (s *Store) RecordOutcome(ctx context.Context, app int64, o *Outcome) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO outcomes(run_id, app, org_id, action, envs, mode, nonprod_keys, prod_keys, result, message, attempts, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.RunID, app, o.OrgID, o.Action, o.Envs, o.Mode, o.NonProdKeys, o.ProdKeys, o.Result, o.Message, o.Attempts, formatTime(o.Started), formatTime(o.Finished))
	if err != nil {
		return fmt.Errorf("record outcome for org %s: %w", o.OrgID, s.writeErr(err))
	}
	o.ID, _ = res.LastInsertId()
	return nil
}

const runCols = `id, started_at, finished_at, mode, split, nonprod_keys, prod_keys, planned, outcome, message, pid, args`

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var st string
	var fin sql.NullString
	if err := sc.Scan(&r.ID, &st, &fin, &r.Mode, &r.Split, &r.NonProdKeys, &r.ProdKeys, &r.Planned, &r.Outcome, &r.Message, &r.PID, &r.Args); err != nil {
		return r, err
	}
	r.Started = parseTime(st)
	if fin.Valid {
		t := parseTime(fin.String)
		r.Finished = &t
	}
	return r, nil
}

// Runs lists the app's runs, newest first, at most n when n > 0.
func (s *Store) Runs(ctx context.Context, app int64, n int) ([]Run, error) {
	q := `SELECT ` + runCols + ` FROM runs WHERE app = ? ORDER BY id DESC`
	args := []any{app}
	if n > 0 {
		q += ` LIMIT ?`
		args = append(args, n)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetRun returns one run of the app, or sql.ErrNoRows.
func (s *Store) GetRun(ctx context.Context, app, id int64) (Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE app = ? AND id = ?`, app, id))
	if err != nil {
		return r, fmt.Errorf("run %d: %w", id, err)
	}
	return r, nil
}

const outcomeCols = `id, run_id, org_id, action, envs, mode, nonprod_keys, prod_keys, result, message, attempts, started_at, finished_at`

func (s *Store) outcomes(ctx context.Context, q string, args ...any) ([]Outcome, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list outcomes: %w", err)
	}
	defer rows.Close()
	var out []Outcome
	for rows.Next() {
		var o Outcome
		var st, fin string
		if err := rows.Scan(&o.ID, &o.RunID, &o.OrgID, &o.Action, &o.Envs, &o.Mode, &o.NonProdKeys, &o.ProdKeys, &o.Result, &o.Message, &o.Attempts, &st, &fin); err != nil {
			return nil, fmt.Errorf("list outcomes: %w", err)
		}
		o.Started, o.Finished = parseTime(st), parseTime(fin)
		out = append(out, o)
	}
	return out, rows.Err()
}

// RunOutcomes lists a run's outcomes in the order they were recorded.
func (s *Store) RunOutcomes(ctx context.Context, runID int64) ([]Outcome, error) {
	return s.outcomes(ctx, `SELECT `+outcomeCols+` FROM outcomes WHERE run_id = ? ORDER BY id`, runID)
}

// OrgOutcomes lists every outcome recorded for one organization, oldest first.
func (s *Store) OrgOutcomes(ctx context.Context, app int64, orgID string) ([]Outcome, error) {
	return s.outcomes(ctx, `SELECT `+outcomeCols+` FROM outcomes WHERE app = ? AND org_id = ? ORDER BY id`, app, orgID)
}

// EnvState is what was last uploaded successfully to one environment of an org.
type EnvState struct {
	Mode string
	Keys string // sorted thumbprints, comma-separated; empty in jku mode
	At   time.Time
	Run  int64
	// Unconfirmed is set when the upload's answer was never heard (see
	// ResultUnconfirmed): probably held, not known.
	Unconfirmed bool
}

// Uploaded is the last successful upload per environment of one org.
type Uploaded struct {
	NonProd *EnvState
	Prod    *EnvState
}

// LastUploads folds the app's successful outcomes (and unconfirmed ones,
// marked so) into what each org's environments last received. It is the
// planner's memory of what each organization holds.
func (s *Store) LastUploads(ctx context.Context, app int64) (map[string]*Uploaded, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT org_id, envs, mode, nonprod_keys, prod_keys, finished_at, run_id, result
		FROM outcomes WHERE app = ? AND result IN (?, ?) ORDER BY id`, app, ResultOK, ResultUnconfirmed)
	if err != nil {
		return nil, fmt.Errorf("read uploads: %w", err)
	}
	defer rows.Close()
	out := map[string]*Uploaded{}
	for rows.Next() {
		var org, envs, mode, np, p, fin, result string
		var run int64
		if err := rows.Scan(&org, &envs, &mode, &np, &p, &fin, &run, &result); err != nil {
			return nil, fmt.Errorf("read uploads: %w", err)
		}
		u := out[org]
		if u == nil {
			u = &Uploaded{}
			out[org] = u
		}
		at := parseTime(fin)
		unconfirmed := result == ResultUnconfirmed
		if envs == EnvBoth || envs == EnvNonProd {
			u.NonProd = &EnvState{Mode: mode, Keys: np, At: at, Run: run, Unconfirmed: unconfirmed}
		}
		if envs == EnvBoth || envs == EnvProd {
			u.Prod = &EnvState{Mode: mode, Keys: p, At: at, Run: run, Unconfirmed: unconfirmed}
		}
	}
	return out, rows.Err()
}

// LastFailures returns, per org, the newest outcome when it was not a
// success (refused, failed, mismatch): the orgs needing attention.
func (s *Store) LastFailures(ctx context.Context, app int64) (map[string]Outcome, error) {
	os, err := s.outcomes(ctx, `SELECT `+outcomeCols+` FROM outcomes o WHERE app = ? AND id = (
		SELECT MAX(id) FROM outcomes WHERE app = o.app AND org_id = o.org_id AND result != ?) ORDER BY id`, app, ResultVerified)
	if err != nil {
		return nil, err
	}
	out := map[string]Outcome{}
	for _, o := range os {
		if o.Result != ResultOK && o.Result != ResultUnconfirmed {
			out[o.OrgID] = o
		}
	}
	return out, nil
}

// FirstFailureSince returns when an org's current streak of non-successes
// began: "refused since".
func (s *Store) FirstFailureSince(ctx context.Context, app int64, orgID string) (time.Time, error) {
	var okID sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(id) FROM outcomes WHERE app = ? AND org_id = ? AND result IN (?, ?, ?)`,
		app, orgID, ResultOK, ResultVerified, ResultUnconfirmed).Scan(&okID); err != nil {
		return time.Time{}, err
	}
	var st sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(started_at) FROM outcomes WHERE app = ? AND org_id = ? AND id > ?`,
		app, orgID, okID.Int64).Scan(&st); err != nil {
		return time.Time{}, err
	}
	if !st.Valid {
		return time.Time{}, nil
	}
	return parseTime(st.String), nil
}

// KeySet is an uploaded key set.
type KeySet struct {
	Thumbprints string
	Kids        string
	JWKS        string
	FirstUsed   time.Time
}

// RecordKeySet remembers a key set the first time it is used.
func (s *Store) RecordKeySet(ctx context.Context, app int64, k KeySet) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO keysets(app, thumbprints, kids, jwks, first_used) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(app, thumbprints) DO NOTHING`, app, k.Thumbprints, k.Kids, k.JWKS, formatTime(k.FirstUsed))
	if err != nil {
		return fmt.Errorf("record key set: %w", err)
	}
	return nil
}

// KeySets lists the app's key sets, oldest first.
func (s *Store) KeySets(ctx context.Context, app int64) ([]KeySet, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT thumbprints, kids, jwks, first_used FROM keysets WHERE app = ? ORDER BY first_used`, app)
	if err != nil {
		return nil, fmt.Errorf("list key sets: %w", err)
	}
	defer rows.Close()
	var out []KeySet
	for rows.Next() {
		var k KeySet
		var fu string
		if err := rows.Scan(&k.Thumbprints, &k.Kids, &k.JWKS, &fu); err != nil {
			return nil, fmt.Errorf("list key sets: %w", err)
		}
		k.FirstUsed = parseTime(fu)
		out = append(out, k)
	}
	return out, rows.Err()
}

// JoinKeys is how a thumbprint set is stored: sorted, comma-separated.
func JoinKeys(thumbprints []string) string { return strings.Join(thumbprints, ",") }

// EarlierRefusals returns, for each org that an earlier run than runID saw
// refuse with no success since, when that streak of refusals began: the
// organizations that refuse every time (not provisioned yet), whose refusal
// in this run is no news.
func (s *Store) EarlierRefusals(ctx context.Context, app, runID int64) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.org_id, MIN(o.started_at) FROM outcomes o
		WHERE o.app = ? AND o.run_id < ? AND o.result = ?
		  AND o.id > COALESCE((SELECT MAX(k.id) FROM outcomes k
		      WHERE k.app = o.app AND k.org_id = o.org_id AND k.run_id < ? AND k.result IN (?, ?, ?)), 0)
		GROUP BY o.org_id`, app, runID, ResultRefused, runID, ResultOK, ResultVerified, ResultUnconfirmed)
	if err != nil {
		return nil, fmt.Errorf("earlier refusals: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var org, at string
		if err := rows.Scan(&org, &at); err != nil {
			return nil, fmt.Errorf("earlier refusals: %w", err)
		}
		out[org] = parseTime(at)
	}
	return out, rows.Err()
}
