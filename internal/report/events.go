package report

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/activator-dev/activator/internal/store"
)

// lastEvents returns each organization's newest sync event in one query:
// a report of thousands of organizations must not ask once per org. It
// reads the table directly, as the store allows read-only reports to.
func lastEvents(ctx context.Context, s *store.Store, app int64) (map[string]store.TimedEvent, error) {
	rows, err := s.DB().QueryContext(ctx, `SELECT org_id, kind, old, new, at, sync_id FROM org_events
		WHERE id IN (SELECT MAX(id) FROM org_events WHERE app = ? GROUP BY org_id)`, app)
	if err != nil {
		return nil, fmt.Errorf("read last changes: %w", err)
	}
	defer rows.Close()
	out := map[string]store.TimedEvent{}
	for rows.Next() {
		var e store.TimedEvent
		var at string
		if err := rows.Scan(&e.OrgID, &e.Kind, &e.Old, &e.New, &at, &e.SyncID); err != nil {
			return nil, fmt.Errorf("read last changes: %w", err)
		}
		if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("read last changes: org %s: time %q: %w", e.OrgID, at, err)
		}
		out[e.OrgID] = e
	}
	return out, rows.Err()
}

// EventText says what a sync event means, for a person.
func EventText(e store.Event, o Options) string {
	switch e.Kind {
	case store.EventNew:
		return "first listed"
	case store.EventRenamed:
		return fmt.Sprintf("renamed from %q", e.Old)
	case store.EventGone:
		return "no longer listed"
	case store.EventReturned:
		return "listed again"
	case store.EventStatus:
		return "status " + statusWord(e.Old) + " → " + statusWord(e.New)
	}
	return e.Kind
}

// ModeText names an upload mode for a person.
func ModeText(mode string) string {
	switch mode {
	case ModeJWKS:
		return "direct JWKS"
	case ModeJKU:
		return "JWK Set URL"
	case ModeMixed:
		return "mixed"
	case ModeNone:
		return "none recorded"
	}
	return mode
}

// uploadText says what an upload did.
func uploadText(u *Upload, env string) string {
	what := "keys uploaded"
	if u.Mode == ModeJKU {
		what = "JWK Set URL set"
	}
	return what + " for " + env + " (run " + strconv.FormatInt(u.RunID, 10) + ")"
}

// lastChange picks the newer of the last sync event and the last upload.
func lastChange(ev store.TimedEvent, np, p *Upload, o Options) *LastChange {
	var c *LastChange
	if ev.Kind != "" {
		c = &LastChange{At: ev.At, What: EventText(ev.Event, o)}
	}
	var up *LastChange
	switch {
	case np != nil && p != nil && np.RunID == p.RunID:
		// One run set both (split or not): one change, when it ended.
		at := np.At
		if p.At.After(at) {
			at = p.At
		}
		up = &LastChange{At: at, What: uploadText(np, "both environments")}
	case np != nil && (p == nil || np.At.After(p.At)):
		up = &LastChange{At: np.At, What: uploadText(np, "non-production")}
	case p != nil:
		up = &LastChange{At: p.At, What: uploadText(p, "production")}
	}
	if up != nil && (c == nil || !up.At.Before(c.At)) {
		return up
	}
	return c
}
