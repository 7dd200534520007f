package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ListingShape is the fingerprint of an app's listing as last recorded:
// an opaque line the caller makes and compares, and when it was seen.
type ListingShape struct {
	Fingerprint string
	SeenAt      time.Time
}

// LastListingShape returns the app's recorded listing shape, nil when none
// was recorded yet.
func (s *Store) LastListingShape(ctx context.Context, app int64) (*ListingShape, error) {
	var fp, at string
	err := s.db.QueryRowContext(ctx, `SELECT fingerprint, seen_at FROM listing_shapes WHERE app = ?`, app).Scan(&fp, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the listing's shape: %w", err)
	}
	return &ListingShape{Fingerprint: fp, SeenAt: parseTime(at)}, nil
}

// RecordListingShape replaces the app's recorded listing shape.
func (s *Store) RecordListingShape(ctx context.Context, app int64, sh ListingShape) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO listing_shapes (app, fingerprint, seen_at) VALUES (?, ?, ?)
		ON CONFLICT (app) DO UPDATE SET fingerprint = excluded.fingerprint, seen_at = excluded.seen_at`,
		app, sh.Fingerprint, formatTime(sh.SeenAt))
	if err != nil {
		return fmt.Errorf("record the listing's shape: %w", err)
	}
	return nil
}
