package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ProbePass is one probe pass: the organizations it set out to probe and
// how many it has probed.
type ProbePass struct {
	ID        int64
	RunID     int64
	StartedAt time.Time
	Targets   int
	// Probed is how many probes were stored since the pass started.
	Probed int
	// FinishedAt is nil while the pass runs, or when its process stopped
	// before the end.
	FinishedAt *time.Time
}

// Partial reports whether the pass has not probed every organization it
// set out to: still running, stopped, or cut off by its time limit.
func (p ProbePass) Partial() bool { return p.FinishedAt == nil || p.Probed < p.Targets }

// StartProbePass records a pass about to probe targets organizations.
func (s *Store) StartProbePass(ctx context.Context, app, runID int64, started time.Time, targets int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO probe_passes(app, run_id, started_at, targets) VALUES (?, ?, ?, ?)`,
		app, runID, formatTime(started), targets)
	if err != nil {
		return 0, fmt.Errorf("record probe pass: %w", err)
	}
	return res.LastInsertId()
}

// FinishProbePass records the end of a pass (also one cut off by its time
// limit: its count of probes tells).
func (s *Store) FinishProbePass(ctx context.Context, id int64, finished time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE probe_passes SET finished_at = ? WHERE id = ?`, formatTime(finished), id); err != nil {
		return fmt.Errorf("record end of probe pass: %w", err)
	}
	return nil
}

// LastProbePass returns the app's newest pass, nil when none was recorded.
func (s *Store) LastProbePass(ctx context.Context, app int64) (*ProbePass, error) {
	var p ProbePass
	var started string
	var finished sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, run_id, started_at, targets, finished_at FROM probe_passes
		WHERE app = ? ORDER BY id DESC LIMIT 1`, app).Scan(&p.ID, &p.RunID, &started, &p.Targets, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last probe pass: %w", err)
	}
	p.StartedAt = parseTime(started)
	if finished.Valid {
		at := parseTime(finished.String)
		p.FinishedAt = &at
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM probes WHERE app = ? AND at >= ?`, app, started).Scan(&p.Probed); err != nil {
		return nil, fmt.Errorf("count probes of the last pass: %w", err)
	}
	p.Probed = min(p.Probed, p.Targets)
	return &p, nil
}
