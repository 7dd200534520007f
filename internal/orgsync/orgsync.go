// Package orgsync lists every organization on the portal and records what
// changed since the previous listing: new organizations (auto-sync keeps
// delivering them), renamed ones (same OrgId, new name), ones that are no
// longer listed, ones that came back, and status changes.
//
// A sync is all or nothing: every page is fetched before anything is
// written, and the result is recorded in one transaction, so an interrupted
// sync leaves the previous one intact.
package orgsync

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// Report is what one sync found.
type Report struct {
	SyncID   int64     `json:"syncId"`
	At       time.Time `json:"at"`
	Total    int       `json:"total"`
	First    bool      `json:"firstSync"`
	Added    []Change  `json:"new"`
	Renamed  []Change  `json:"renamed"`
	Gone     []Change  `json:"gone"`
	Returned []Change  `json:"returned"`
	Status   []Change  `json:"statusChanged"`
	// Cut lists the fields the listing held over their size limit (see
	// portal.MaxNameBytes), cut before they were stored.
	Cut      []Cut         `json:"cut"`
	Counts   map[int]int   `json:"-"`
	Orgs     []store.Org   `json:"-"`
	Duration time.Duration `json:"-"`
}

// Change is one organization's change.
type Change struct {
	OrgID string `json:"orgId"`
	Name  string `json:"name"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// Cut is one organization's field that was over its size limit.
type Cut struct {
	OrgID string `json:"orgId"`
	What  string `json:"what"` // e.g. "name of 20 MB cut to 1000 bytes"
}

// Changed reports whether anything differs from the previous sync.
func (r *Report) Changed() bool {
	return len(r.Added)+len(r.Renamed)+len(r.Gone)+len(r.Returned)+len(r.Status) > 0
}

// Options configure a sync.
type Options struct {
	Store    *store.Store
	App      store.App
	Load     portal.PageFunc // paced and retried by the caller
	PageSize int
	Now      func() time.Time
	OnPage   func(page, got, total int)
}

// EmptyListingError is a listing with no organization at all. It is not
// recorded: where the last sync had some, marking every organization gone
// on the word of one empty answer would be a portal hiccup turned into
// history; on an app's first sync it most often means a wrong app id, and
// a run that then did nothing must not look like a success.
type EmptyListingError struct {
	Before int // organizations the last sync listed; 0 on the first sync
}

func (e *EmptyListingError) Error() string {
	if e.Before == 0 {
		return "sync: the portal listed no organizations for this app; nothing was recorded (check --app, the number after ?id= on the app's Review & Manage Downloads page, and that page in a browser: an app the portal has delivered to no organization yet has nothing to activate)"
	}
	return fmt.Sprintf("sync: the portal listed no organizations, where the last sync listed %d; nothing was recorded (try again later, and check the app's management page in a browser)", e.Before)
}

func countListed(orgs []store.Org) int {
	n := 0
	for _, o := range orgs {
		if o.GoneSince == nil {
			n++
		}
	}
	return n
}

// Run lists every organization and records the sync.
func Run(ctx context.Context, o Options) (*Report, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	total := 0
	ds, err := portal.ListAll(ctx, o.Load, o.PageSize, func(page, got int) {
		total += got
		if o.OnPage != nil {
			o.OnPage(page, got, total)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	prev, err := o.Store.Orgs(ctx, o.App.ID)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if len(ds) == 0 {
		return nil, &EmptyListingError{Before: countListed(prev)}
	}
	seen := make([]store.Org, len(ds))
	cuts := []Cut{}
	for i, d := range ds {
		for _, what := range d.Cut {
			cuts = append(cuts, Cut{OrgID: d.OrgID, What: what})
		}
		seen[i] = store.Org{OrgID: d.OrgID, Name: d.OrgName, ECMId: d.ECMId, Status: int(d.Approved)}
	}
	events := Diff(prev, seen)
	counts := map[int]int{}
	for _, o := range seen {
		counts[o.Status]++
	}
	fin := now()
	id, err := o.Store.RecordSync(ctx, o.App.ID, &store.Sync{Started: started, Finished: fin, Seen: seen, Events: events, Counts: counts})
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	r := &Report{SyncID: id, At: fin, Total: len(seen), First: len(prev) == 0, Counts: counts, Orgs: seen, Duration: fin.Sub(started),
		// Empty lists, never null, in --output json.
		Added: []Change{}, Renamed: []Change{}, Gone: []Change{}, Returned: []Change{}, Status: []Change{}, Cut: cuts}
	names := make(map[string]string, len(seen)+len(prev))
	for _, o := range prev {
		names[o.OrgID] = o.Name
	}
	for _, o := range seen {
		names[o.OrgID] = o.Name
	}
	for _, e := range events {
		c := Change{OrgID: e.OrgID, Name: names[e.OrgID], Old: e.Old, New: e.New}
		switch e.Kind {
		case store.EventNew:
			r.Added = append(r.Added, c)
		case store.EventRenamed:
			r.Renamed = append(r.Renamed, c)
		case store.EventGone:
			r.Gone = append(r.Gone, c)
		case store.EventReturned:
			r.Returned = append(r.Returned, c)
		case store.EventStatus:
			r.Status = append(r.Status, c)
		}
	}
	return r, nil
}

// PacedLoad is load (portalhttp's Client.LoadDownloads) with each page
// waiting for, and retried by, p, each attempt bounded (pace.Call's
// timeout and budget). waiting, when set, is told every
// pace.DefaultNoticeAfter while a page is outstanding. A listing changes
// nothing: Ctrl-C stops it at once.
func PacedLoad(load portal.PageFunc, p *pace.Pacer, waiting func(page int, d time.Duration)) portal.PageFunc {
	return func(ctx context.Context, page, size int) ([]portal.Download, error) {
		var ds []portal.Download
		var b pace.Bounds
		if waiting != nil {
			b.Waiting = func(d time.Duration) { waiting(page, d) }
		}
		_, err := p.Call(ctx, ctx, b, func(actx context.Context) error {
			var err error
			ds, err = load(actx, page, size)
			return err
		})
		return ds, err
	}
}

// Diff compares the previous state with a fresh listing. It is pure: the
// same inputs give the same events, ordered by OrgId.
//
// An org seen for the first time is new; one listed before under another
// name is renamed; one no longer listed is gone (once: an org already gone
// is not reported again); one gone and listed again has returned; a
// different Approved value is a status change.
func Diff(prev, seen []store.Org) []store.Event {
	old := make(map[string]store.Org, len(prev))
	for _, o := range prev {
		old[o.OrgID] = o
	}
	listed := make(map[string]bool, len(seen))
	var evs []store.Event
	for _, o := range seen {
		listed[o.OrgID] = true
		p, ok := old[o.OrgID]
		if !ok {
			evs = append(evs, store.Event{OrgID: o.OrgID, Kind: store.EventNew, New: o.Name})
			continue
		}
		if p.GoneSince != nil {
			evs = append(evs, store.Event{OrgID: o.OrgID, Kind: store.EventReturned, New: o.Name})
		}
		if p.Name != o.Name {
			evs = append(evs, store.Event{OrgID: o.OrgID, Kind: store.EventRenamed, Old: p.Name, New: o.Name})
		}
		if p.Status != o.Status {
			evs = append(evs, store.Event{OrgID: o.OrgID, Kind: store.EventStatus, Old: strconv.Itoa(p.Status), New: strconv.Itoa(o.Status)})
		}
	}
	for _, p := range prev {
		if !listed[p.OrgID] && p.GoneSince == nil {
			evs = append(evs, store.Event{OrgID: p.OrgID, Kind: store.EventGone, Old: p.Name})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return portal.CompareOrgID(evs[i].OrgID, evs[j].OrgID) < 0 })
	return evs
}
