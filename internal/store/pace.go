package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Pace is what a run learned about the portal's pace.
type Pace struct {
	// Tolerated is the highest rate, in calls per second, the portal
	// answered for a stretch without a 429.
	Tolerated float64
	// Limited says the run saw a 429: Tolerated is then close to the
	// portal's limit rather than just the pace the run asked for.
	Limited bool
	// At is when the run measured it.
	At time.Time
}

// Pace returns the pace recorded for app, or nil when no run recorded one.
func (s *Store) Pace(ctx context.Context, app int64) (*Pace, error) {
	var p Pace
	var at string
	err := s.db.QueryRowContext(ctx, `SELECT tolerated, limited, measured_at FROM pace WHERE app = ?`, app).Scan(&p.Tolerated, &p.Limited, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the recorded pace: %w", err)
	}
	p.At = parseTime(at)
	return &p, nil
}

// RecordPace replaces app's recorded pace.
func (s *Store) RecordPace(ctx context.Context, app int64, p Pace) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO pace (app, tolerated, limited, measured_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (app) DO UPDATE SET tolerated = excluded.tolerated, limited = excluded.limited, measured_at = excluded.measured_at`,
		app, p.Tolerated, p.Limited, formatTime(p.At))
	if err != nil {
		return fmt.Errorf("record the pace: %w", err)
	}
	return nil
}
