package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Org is an organization as last seen on the management page.
type Org struct {
	OrgID     string
	Name      string
	ECMId     string
	Status    int
	FirstSeen time.Time
	LastSeen  time.Time
	// GoneSince is set when the latest sync no longer listed the org.
	GoneSince *time.Time
}

// Event is one change a sync noticed for one organization.
type Event struct {
	OrgID string
	Kind  string // EventNew, EventRenamed, EventGone, EventReturned, EventStatus
	Old   string
	New   string
}

// Event kinds.
const (
	EventNew      = "new"
	EventRenamed  = "renamed"
	EventGone     = "gone"
	EventReturned = "returned"
	EventStatus   = "status"
)

// Sync is one completed listing of the organizations, ready to record.
type Sync struct {
	ID       int64
	Started  time.Time
	Finished time.Time
	Seen     []Org   // every org the portal listed, in its order
	Events   []Event // what changed since the previous sync
	Counts   map[int]int
	// Kind is what started the sync (SyncPlain, SyncRun, SyncVerify,
	// SyncRehearsal); SetSyncKind sets it after the fact.
	Kind string
	// Filled in when read back:
	Total, Added, Renamed, Gone, Changed int
}

// orderByOrgID orders rows by their org_id column as every list of
// organizations is ordered: numeric ids (ASCII digits only) by value,
// whatever their length (shorter once leading zeros are dropped, then by
// digits), then every other id as text; ties as text. It agrees with the
// comparison the rest of activator sorts with (a test checks both on the
// same ids), so a list read from here and one sorted in Go never differ.
const orderByOrgID = `(org_id = '' OR org_id GLOB '*[^0-9]*'),
	CASE WHEN org_id <> '' AND org_id NOT GLOB '*[^0-9]*' THEN length(ltrim(org_id, '0')) END,
	CASE WHEN org_id <> '' AND org_id NOT GLOB '*[^0-9]*' THEN ltrim(org_id, '0') END,
	org_id`

// Sync kinds: what started a sync.
const (
	SyncPlain     = "sync"      // orgs sync
	SyncRun       = "run"       // an activation run's first sync
	SyncVerify    = "verify"    // a run's re-listing after its calls
	SyncRehearsal = "rehearsal" // a dry run, or a run whose plan was declined
)

// SetSyncKind records what started a sync: the sync is recorded before its
// caller knows whether the run it began goes ahead.
func (s *Store) SetSyncKind(ctx context.Context, syncID int64, kind string) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE syncs SET kind = ? WHERE id = ?", kind, syncID); err != nil {
		return fmt.Errorf("record sync %d as %s: %w", syncID, kind, s.writeErr(err))
	}
	return nil
}

// Orgs returns every organization ever seen for the app, ordered by OrgId
// (orderByOrgID), gone ones included (with GoneSince set).
func (s *Store) Orgs(ctx context.Context, app int64) ([]Org, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT org_id, name, ecm_id, status, first_seen, last_seen, gone_since
		FROM orgs WHERE app = ? ORDER BY `+orderByOrgID, app)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	defer rows.Close()
	var orgs []Org
	for rows.Next() {
		var o Org
		var first, last string
		var gone sql.NullString
		if err := rows.Scan(&o.OrgID, &o.Name, &o.ECMId, &o.Status, &first, &last, &gone); err != nil {
			return nil, fmt.Errorf("list organizations: %w", err)
		}
		o.FirstSeen, o.LastSeen = parseTime(first), parseTime(last)
		if gone.Valid {
			t := parseTime(gone.String)
			o.GoneSince = &t
		}
		orgs = append(orgs, o)
	}
	return orgs, rows.Err()
}

// RecordSync stores a completed sync in one transaction: the orgs seen are
// upserted (first_seen kept), orgs no longer listed are marked gone, and the
// sync with its events is recorded. Nothing is written if any step fails.
func (s *Store) RecordSync(ctx context.Context, app int64, sy *Sync) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("record sync: %w", err)
	}
	defer tx.Rollback()
	now := formatTime(sy.Finished)
	counts, _ := json.Marshal(countsJSON(sy.Counts))
	var added, renamed, gone, changed int
	for _, e := range sy.Events {
		switch e.Kind {
		case EventNew, EventReturned:
			added++
		case EventRenamed:
			renamed++
		case EventGone:
			gone++
		case EventStatus:
			changed++
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO syncs(app, started_at, finished_at, total, added, renamed, gone, changed, counts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, app, formatTime(sy.Started), now, len(sy.Seen), added, renamed, gone, changed, string(counts))
	if err != nil {
		return 0, fmt.Errorf("record sync: %w", err)
	}
	id, _ := res.LastInsertId()
	// Mark everything gone, then clear the mark on every org seen: what is
	// left marked was not listed this time.
	if _, err := tx.ExecContext(ctx, `UPDATE orgs SET gone_since = ? WHERE app = ? AND gone_since IS NULL`, now, app); err != nil {
		return 0, fmt.Errorf("record sync: %w", err)
	}
	up, err := tx.PrepareContext(ctx, `INSERT INTO orgs(app, org_id, name, ecm_id, status, first_seen, last_seen, gone_since)
		VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT(app, org_id) DO UPDATE SET name = excluded.name, ecm_id = excluded.ecm_id,
			status = excluded.status, last_seen = excluded.last_seen, gone_since = NULL`)
	if err != nil {
		return 0, fmt.Errorf("record sync: %w", err)
	}
	defer up.Close()
	for _, o := range sy.Seen {
		if _, err := up.ExecContext(ctx, app, o.OrgID, o.Name, o.ECMId, o.Status, now, now); err != nil {
			return 0, fmt.Errorf("record org %s: %w", o.OrgID, err)
		}
	}
	ev, err := tx.PrepareContext(ctx, `INSERT INTO org_events(app, org_id, sync_id, kind, old, new, at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("record sync: %w", err)
	}
	defer ev.Close()
	for _, e := range sy.Events {
		if _, err := ev.ExecContext(ctx, app, e.OrgID, id, e.Kind, e.Old, e.New, now); err != nil {
			return 0, fmt.Errorf("record sync event: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("record sync: %w", err)
	}
	return id, nil
}

func countsJSON(c map[int]int) map[string]int {
	m := make(map[string]int, len(c))
	for k, v := range c {
		m[strconv.Itoa(k)] = v
	}
	return m
}

// Syncs returns the app's syncs, oldest first, limited to the newest n when
// n > 0. Seen and Events are not filled in.
func (s *Store) Syncs(ctx context.Context, app int64, n int) ([]Sync, error) {
	q := `SELECT id, started_at, finished_at, total, added, renamed, gone, changed, counts, kind FROM syncs WHERE app = ? ORDER BY id DESC`
	args := []any{app}
	if n > 0 {
		q += " LIMIT ?"
		args = append(args, n)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list syncs: %w", err)
	}
	defer rows.Close()
	var out []Sync
	for rows.Next() {
		var sy Sync
		var st, fin, counts string
		if err := rows.Scan(&sy.ID, &st, &fin, &sy.Total, &sy.Added, &sy.Renamed, &sy.Gone, &sy.Changed, &counts, &sy.Kind); err != nil {
			return nil, fmt.Errorf("list syncs: %w", err)
		}
		sy.Started, sy.Finished = parseTime(st), parseTime(fin)
		var m map[string]int
		_ = json.Unmarshal([]byte(counts), &m)
		sy.Counts = make(map[int]int, len(m))
		for k, v := range m {
			if n, err := strconv.Atoi(k); err == nil {
				sy.Counts[n] = v
			}
		}
		out = append(out, sy)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// LastSync returns the newest sync, or nil when there has been none.
func (s *Store) LastSync(ctx context.Context, app int64) (*Sync, error) {
	ss, err := s.Syncs(ctx, app, 1)
	if err != nil || len(ss) == 0 {
		return nil, err
	}
	return &ss[0], nil
}

// NewAtLastSync returns the OrgIds that the latest sync the user started
// (orgs sync, or an activation run with its re-listing after the calls, or
// any later sync) found new or listed again; empty before any sync. A
// run's re-listing alone is not "the last sync": arrivals its first sync
// found stay new.
func (s *Store) NewAtLastSync(ctx context.Context, app int64) (map[string]bool, error) {
	return s.eventsSinceLastStart(ctx, app, EventNew, EventReturned)
}

// GoneAtLastSync returns the OrgIds that the latest sync the user started
// (as NewAtLastSync) no longer found listed.
func (s *Store) GoneAtLastSync(ctx context.Context, app int64) (map[string]bool, error) {
	return s.eventsSinceLastStart(ctx, app, EventGone, EventGone)
}

// eventsSinceLastStart returns the OrgIds with an event of kind a or b in
// the latest sync of kind SyncPlain or SyncRun and every sync after it.
func (s *Store) eventsSinceLastStart(ctx context.Context, app int64, a, b string) (map[string]bool, error) {
	ids := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT org_id FROM org_events WHERE app = ? AND kind IN (?, ?) AND sync_id >= COALESCE(
		(SELECT MAX(id) FROM syncs WHERE app = ? AND kind IN (?, ?)), (SELECT MAX(id) FROM syncs WHERE app = ?))`,
		app, a, b, app, SyncPlain, SyncRun, app)
	if err != nil {
		return nil, fmt.Errorf("read last sync: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read last sync: %w", err)
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// SyncEvents returns what a sync noticed.
func (s *Store) SyncEvents(ctx context.Context, syncID int64) ([]Event, error) {
	return s.events(ctx, `SELECT org_id, kind, old, new, at, sync_id FROM org_events WHERE sync_id = ? ORDER BY id`, syncID)
}

// OrgEvents returns everything syncs noticed about one organization, oldest first.
func (s *Store) OrgEvents(ctx context.Context, app int64, orgID string) ([]TimedEvent, error) {
	evs, err := s.timedEvents(ctx, `SELECT org_id, kind, old, new, at, sync_id FROM org_events WHERE app = ? AND org_id = ? ORDER BY id`, app, orgID)
	return evs, err
}

// TimedEvent is an Event with when and by which sync it was noticed.
type TimedEvent struct {
	Event
	At     time.Time
	SyncID int64
}

func (s *Store) events(ctx context.Context, q string, args ...any) ([]Event, error) {
	tes, err := s.timedEvents(ctx, q, args...)
	out := make([]Event, len(tes))
	for i, te := range tes {
		out[i] = te.Event
	}
	return out, err
}

func (s *Store) timedEvents(ctx context.Context, q string, args ...any) ([]TimedEvent, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []TimedEvent
	for rows.Next() {
		var e TimedEvent
		var at string
		if err := rows.Scan(&e.OrgID, &e.Kind, &e.Old, &e.New, &at, &e.SyncID); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
