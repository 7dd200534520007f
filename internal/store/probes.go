package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// Probe is one probe of an organization's authorization server.
type Probe struct {
	ID    int64
	OrgID string
	// RunID is the activation run the probe was part of, 0 when it was
	// made on its own.
	RunID int64
	At    time.Time
	// ActivatedAt is when production was activated, zero when unknown.
	ActivatedAt  time.Time
	BaseURL      string
	AuthorizeURL string
	Class        string
	Evidence     string
	// AppAnswer and ControlAnswer are the two answers as JSON.
	AppAnswer     string
	ControlAnswer string
	Requests      int
}

// RecordProbe stores one probe. Each is committed on its own, so an
// interrupted probe keeps what it learned.
func (s *Store) RecordProbe(ctx context.Context, app int64, p *Probe) error {
	var activated string
	if !p.ActivatedAt.IsZero() {
		activated = formatTime(p.ActivatedAt)
	}
	if p.AppAnswer == "" {
		p.AppAnswer = "{}"
	}
	if p.ControlAnswer == "" {
		p.ControlAnswer = "{}"
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO probes(app, org_id, run_id, at, activated_at, base_url, authorize_url, class,
		evidence, app_answer, control_answer, requests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		app, p.OrgID, p.RunID, formatTime(p.At), activated, p.BaseURL, p.AuthorizeURL, p.Class, p.Evidence,
		p.AppAnswer, p.ControlAnswer, p.Requests)
	if err != nil {
		return fmt.Errorf("record probe of org %s: %w", p.OrgID, err)
	}
	p.ID, _ = res.LastInsertId()
	return nil
}

const probeCols = `id, org_id, run_id, at, activated_at, base_url, authorize_url, class, evidence, app_answer, control_answer, requests`

func scanProbe(sc interface{ Scan(...any) error }) (Probe, error) {
	var p Probe
	var at, activated string
	err := sc.Scan(&p.ID, &p.OrgID, &p.RunID, &at, &activated, &p.BaseURL, &p.AuthorizeURL, &p.Class, &p.Evidence,
		&p.AppAnswer, &p.ControlAnswer, &p.Requests)
	p.At = parseTime(at)
	if activated != "" {
		p.ActivatedAt = parseTime(activated)
	}
	return p, err
}

// LastProbes returns each organization's newest probe, by OrgId.
func (s *Store) LastProbes(ctx context.Context, app int64) (map[string]Probe, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+probeCols+` FROM probes p WHERE app = ? AND id = (
		SELECT MAX(id) FROM probes WHERE app = p.app AND org_id = p.org_id)`, app)
	if err != nil {
		return nil, fmt.Errorf("read probes: %w", err)
	}
	defer rows.Close()
	out := map[string]Probe{}
	for rows.Next() {
		p, err := scanProbe(rows)
		if err != nil {
			return nil, fmt.Errorf("read probes: %w", err)
		}
		out[p.OrgID] = p
	}
	return out, rows.Err()
}

// OrgProbes returns one organization's probes, oldest first.
func (s *Store) OrgProbes(ctx context.Context, app int64, orgID string) ([]Probe, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+probeCols+` FROM probes WHERE app = ? AND org_id = ? ORDER BY id`, app, orgID)
	if err != nil {
		return nil, fmt.Errorf("read probes of org %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []Probe
	for rows.Next() {
		p, err := scanProbe(rows)
		if err != nil {
			return nil, fmt.Errorf("read probes of org %s: %w", orgID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// StatusSince returns, per organization, when a sync last saw its status
// change to status: the newest such event. Organizations that never
// changed to it (they arrived with it) are absent.
func (s *Store) StatusSince(ctx context.Context, app int64, status int) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT org_id, MAX(at) FROM org_events WHERE app = ? AND kind = ? AND new = ?
		GROUP BY org_id`, app, EventStatus, strconv.Itoa(status))
	if err != nil {
		return nil, fmt.Errorf("read status changes: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var org string
		var at sql.NullString
		if err := rows.Scan(&org, &at); err != nil {
			return nil, fmt.Errorf("read status changes: %w", err)
		}
		if at.Valid {
			out[org] = parseTime(at.String)
		}
	}
	return out, rows.Err()
}
