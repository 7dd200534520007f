package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// OpenRead opens the state database for a command that only reads it. A
// missing (or empty) file is not created: an empty database in memory
// stands in for it, so a read-only command leaves no file behind. An
// existing file is opened read-only (a read-only file system works); only
// an older schema is brought up to date, the one write such a command may
// cause.
func OpenRead(ctx context.Context, path string) (*Store, error) {
	if st, err := os.Stat(path); (err == nil && st.Size() > 0) || (err != nil && !errors.Is(err, fs.ErrNotExist)) {
		return openReadOnly(ctx, path)
	}
	db, err := sql.Open("sqlite", "file:empty?mode=memory&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("open an empty state: %w", err)
	}
	// One connection: each new connection to :memory: is a new database.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// LookupApp returns the app's row without creating it; found is false when
// the database holds nothing for that portal and app.
func (s *Store) LookupApp(ctx context.Context, portal, appID string) (a App, found bool, err error) {
	a = App{Portal: portal, AppID: appID}
	err = s.db.QueryRowContext(ctx, "SELECT id FROM apps WHERE portal = ? AND app_id = ?", portal, appID).Scan(&a.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("look up app %s: %w", appID, err)
	}
	return a, true, nil
}

// SetAppPortal changes the portal an app row is stored under (an older
// activator's form of the same address, brought to the normal form).
func (s *Store) SetAppPortal(ctx context.Context, id int64, portal string) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE apps SET portal = ? WHERE id = ?", portal, id); err != nil {
		return fmt.Errorf("update app %d: %w", id, s.writeErr(err))
	}
	return nil
}

// Apps returns every app the database holds, in the order they were first
// recorded.
func (s *Store) Apps(ctx context.Context) ([]App, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, portal, app_id FROM apps ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	defer rows.Close()
	var apps []App
	for rows.Next() {
		var a App
		if err := rows.Scan(&a.ID, &a.Portal, &a.AppID); err != nil {
			return nil, fmt.Errorf("list apps: %w", err)
		}
		apps = append(apps, a)
	}
	return apps, rows.Err()
}

// RunApp returns the app a run belongs to, whichever it is; sql.ErrNoRows
// when no run has that id.
func (s *Store) RunApp(ctx context.Context, runID int64) (App, error) {
	var a App
	err := s.db.QueryRowContext(ctx, `SELECT a.id, a.portal, a.app_id FROM runs r JOIN apps a ON a.id = r.app WHERE r.id = ?`, runID).
		Scan(&a.ID, &a.Portal, &a.AppID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("look up run %d: %w", runID, err)
	}
	return a, err
}
