// Package report turns the state database into what a person reads about an
// app's activation: the counts per status and their history, the
// organizations needing attention, the key sets each organization holds,
// the organizations still on the JWK Set URL, and one row per organization.
//
// Build reads everything once into a Report; the status command prints a
// part of it, and WriteCSV, WriteJSON and WriteHTML render all of it. The
// package only reads the database: it never calls the portal.
package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// Attention reasons, in the order they are listed.
const (
	ReasonRefused  = store.ResultRefused  // the organization refused the upload
	ReasonMismatch = store.ResultMismatch // the portal showed another status after activation
	ReasonFailed   = store.ResultFailed   // the call failed (network, portal error)
	// ReasonPending: a run stopped during a call before its answer was
	// recorded; the next activate run settles it from the portal's listing.
	ReasonPending = store.ResultPending
	ReasonUnknown = "unknown-status" // an Approved value activator never acts on
	// ReasonNotShown: the portal does not show an environment enabled that
	// this tool activated (the portal reset it, or has not caught up yet).
	ReasonNotShown = "not-shown"
)

// Why an organization is listed in JWKSetURL: enabled without keys this
// tool uploaded.
const (
	JKUUploaded = "jku-upload" // its last recorded upload used the JWK Set URL
	// JKUNoUpload: enabled, but no upload by activator is recorded. The
	// portal's listing does not say how: the JWK Set URL, or keys entered
	// by hand.
	JKUNoUpload = "no-upload"
)

// NoUploadText says what is known of an organization enabled without an
// upload recorded here.
const NoUploadText = "enabled, keys not uploaded by activator: JWK Set URL or keys entered by hand"

// Per-environment and per-organization upload modes.
const (
	ModeJWKS  = "jwks"  // the keys themselves (direct JWKS)
	ModeJKU   = "jku"   // the app's JWK Set URL
	ModeNone  = "none"  // nothing recorded
	ModeMixed = "mixed" // the two environments differ
)

// Options say what the report is about and how to name statuses.
type Options struct {
	Portal string
	AppID  string
	// Now is the report's time: "generated at" and the age of a run still
	// marked running.
	Now time.Time
	// Alive reports whether a process id still runs; it tells a run still
	// going from one whose process died without recording an outcome.
	// Nil treats every such run as still running.
	Alive func(pid int) bool
}

// Report is everything the state database knows about one app, at one
// moment. Its JSON form is the report's --format json and, without History
// and Orgs, the status command's --output json. Lists are never null.
type Report struct {
	App         string    `json:"app"`
	Portal      string    `json:"portal"`
	GeneratedAt time.Time `json:"generatedAt"`
	// LastSync is the newest listing of the organizations; null before the
	// first sync.
	LastSync *SyncSummary `json:"lastSync"`
	// LastRun is the newest activation run; null before the first.
	LastRun *RunSummary `json:"lastRun"`
	// Counts are the organizations listed now, per status, in a fixed
	// order: enabled, nonprod-only, not-responded, then unknown values.
	Counts []StatusCount `json:"counts"`
	// Listed is how many organizations the last sync listed; Gone how many
	// were seen before but are no longer listed.
	Listed int `json:"listed"`
	Gone   int `json:"gone"`
	// Attention lists the organizations needing a person: refused by the
	// organization, status mismatch after activation, failed calls, and
	// unknown statuses.
	Attention []Attention `json:"attention"`
	// KeySets are the key sets ever uploaded and how many organizations
	// hold each now, per environment.
	KeySets []KeySetUse `json:"keySets"`
	// JWKSetURL lists the organizations with keys enabled that do not hold
	// keys uploaded by activator: those whose last upload used the JWK Set
	// URL, and those enabled without any upload recorded here (the JWK Set
	// URL, or keys entered by hand: the portal does not say which).
	JWKSetURL []JKUOrg `json:"jwkSetUrl"`
	// Brands is the public Brands bundle the FHIR base URLs come from;
	// null when none was imported.
	Brands *BrandsSource `json:"brands"`
	// Probes sums up the newest probe of each listed organization's
	// authorization server; null when none was ever probed.
	Probes *ProbeSummary `json:"probes"`
	// Smart sums up the smart-configuration checks of the activated
	// organizations' servers; null when none was ever checked.
	Smart *SmartSurvey `json:"smartConfig"`
	// History is the counts per status at every sync, oldest first.
	History []SyncPoint `json:"history"`
	// Orgs is one row per organization ever seen, by OrgId.
	Orgs []Org `json:"orgs"`
}

// StatusCount is how many organizations have one status.
type StatusCount struct {
	Status int    `json:"status"`
	Name   string `json:"name"`
	// Class is enabled, nonprod-only, not-responded or unknown.
	Class string `json:"class"`
	Count int    `json:"count"`
}

// SyncSummary is what one sync found.
type SyncSummary struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Total int       `json:"total"`
	// First is set for the app's first sync, where every organization is new.
	First         bool `json:"first"`
	New           int  `json:"new"`
	Renamed       int  `json:"renamed"`
	Gone          int  `json:"gone"`
	StatusChanged int  `json:"statusChanged"`
	// Syncs is how many syncs the counts and Changes cover, from Since to
	// At: more than one when the last activation run synced before and
	// after its calls (see summarizedFrom).
	Syncs int       `json:"syncs"`
	Since time.Time `json:"since"`
	// Changes are the syncs' events (new, renamed, gone, returned, status).
	Changes []Change `json:"changes"`
}

// Change is one thing a sync noticed about one organization.
type Change struct {
	OrgID string `json:"orgId"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// SyncPoint is the counts per status at one sync: a point of the chart.
type SyncPoint struct {
	ID     int64         `json:"id"`
	At     time.Time     `json:"at"`
	Total  int           `json:"total"`
	Counts []StatusCount `json:"counts"`
}

// Attention is one organization needing a person.
type Attention struct {
	OrgID      string `json:"orgId"`
	Name       string `json:"name"`
	Status     int    `json:"status"`
	StatusName string `json:"statusName"`
	// Reason is refused, mismatch, failed, not-shown or unknown-status.
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Since is when the current streak of failures began; LastTried when
	// the newest of them happened. Both are absent for unknown-status.
	Since     *time.Time `json:"since,omitempty"`
	LastTried *time.Time `json:"lastTried,omitempty"`
	RunID     int64      `json:"runId,omitempty"`
}

// KeySetUse is one uploaded key set and who holds it.
type KeySetUse struct {
	// Thumbprints are the RFC 7638 thumbprints of the set's keys, sorted;
	// Kids their key ids as uploaded.
	Thumbprints []string  `json:"thumbprints"`
	Kids        []string  `json:"kids"`
	FirstUsed   time.Time `json:"firstUsed"`
	// NonProdOrgs and ProdOrgs count the listed organizations whose last
	// upload to that environment was this set; Orgs those holding it in
	// either environment.
	NonProdOrgs int `json:"nonProdOrgs"`
	ProdOrgs    int `json:"prodOrgs"`
	Orgs        int `json:"orgs"`
}

// JKUOrg is an organization with keys enabled that is not known to hold
// uploaded keys.
type JKUOrg struct {
	OrgID      string `json:"orgId"`
	Name       string `json:"name"`
	Status     int    `json:"status"`
	StatusName string `json:"statusName"`
	// Reason is jku-upload (the last recorded upload used the JWK Set URL)
	// or no-upload (enabled, but no upload by activator recorded: the JWK
	// Set URL or keys entered by hand, the listing does not say which).
	Reason string `json:"reason"`
	// NonProd and Prod are each enabled environment's mode: jwks, jku or
	// none; empty for an environment that is not enabled.
	NonProd string `json:"nonProd"`
	Prod    string `json:"prod"`
	// Since and RunID say when and by which run the JWK Set URL was last
	// set (jku-upload only).
	Since *time.Time `json:"since,omitempty"`
	RunID int64      `json:"runId,omitempty"`
}

// BrandsSource says which Brands bundle the FHIR base URLs come from.
type BrandsSource struct {
	ImportedAt time.Time  `json:"importedAt"`
	BundleDate *time.Time `json:"bundleDate,omitempty"`
	Source     string     `json:"source"`
}

// Upload is what one environment of an organization last received.
type Upload struct {
	Mode        string    `json:"mode"`
	Thumbprints []string  `json:"thumbprints,omitempty"`
	Kids        []string  `json:"kids,omitempty"`
	At          time.Time `json:"at"`
	RunID       int64     `json:"runId"`
	// Unconfirmed is set when the run making the upload stopped during the
	// call and a later run found the portal showing it enabled: probably
	// this upload, never confirmed by an answer.
	Unconfirmed bool `json:"unconfirmed,omitempty"`
}

// LastChange is the newest thing that happened to an organization: a sync
// event or a successful upload.
type LastChange struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// Failure is an organization's newest unsuccessful outcome.
type Failure struct {
	Result  string     `json:"result"`
	Message string     `json:"message"`
	At      time.Time  `json:"at"`
	Since   *time.Time `json:"since,omitempty"`
	RunID   int64      `json:"runId"`
}

// Org is one organization's row.
type Org struct {
	OrgID      string `json:"orgId"`
	Name       string `json:"name"`
	ECMId      string `json:"ecmId"`
	Status     int    `json:"status"`
	StatusName string `json:"statusName"`
	Class      string `json:"class"`
	// Listed is false for an organization the last sync no longer listed
	// (GoneSince says since when).
	Listed    bool       `json:"listed"`
	GoneSince *time.Time `json:"goneSince,omitempty"`
	FirstSeen time.Time  `json:"firstSeen"`
	LastSeen  time.Time  `json:"lastSeen"`
	// Mode is jwks, jku, mixed (the environments differ) or none.
	Mode    string  `json:"mode"`
	NonProd *Upload `json:"nonProd"`
	Prod    *Upload `json:"prod"`
	// Kids are the key ids of the keys the organization holds (both
	// environments, without repeats).
	Kids       []string    `json:"kids"`
	LastChange *LastChange `json:"lastChange"`
	LastError  *Failure    `json:"lastError"`
	// Attention is the reason the organization needs a person, or empty.
	Attention string `json:"attention,omitempty"`
	// OnJWKSetURL is set when the organization is listed in JWKSetURL.
	OnJWKSetURL bool `json:"onJwkSetUrl"`
	// FHIRBaseURLs come from the public Brands bundle.
	FHIRBaseURLs []string `json:"fhirBaseUrls"`
	// Probe is the newest probe of the organization's authorization
	// server, nil when it was never probed.
	Probe *ProbeState `json:"probe"`
}

// countList turns counts per status into the fixed-order list, the three
// known statuses always present.
func countList(c map[int]int) []StatusCount {
	keys := portal.CountedStatuses(c)
	out := make([]StatusCount, 0, len(keys))
	for _, s := range keys {
		out = append(out, StatusCount{Status: int(s), Name: s.String(), Class: s.Class(), Count: c[int(s)]})
	}
	return out
}

// ClassCount sums a count list per status class.
func ClassCount(cs []StatusCount, class string) int {
	n := 0
	for _, c := range cs {
		if c.Class == class {
			n += c.Count
		}
	}
	return n
}

// splitList splits a stored comma-separated list; empty gives nil.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Build reads the app's state into a Report.
func Build(ctx context.Context, s *store.Store, app store.App, o Options) (*Report, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	r := &Report{App: o.AppID, Portal: o.Portal, GeneratedAt: o.Now,
		Attention: []Attention{}, KeySets: []KeySetUse{}, JWKSetURL: []JKUOrg{}, History: []SyncPoint{}, Orgs: []Org{}}
	if r.App == "" {
		r.App = app.AppID
	}
	if r.Portal == "" {
		r.Portal = app.Portal
	}
	orgs, err := s.Orgs(ctx, app.ID)
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	names := make(map[string]string, len(orgs))
	for _, org := range orgs {
		names[org.OrgID] = org.Name
	}
	// The last run first: the sync summary covers all of its syncs.
	if err := r.addLastRun(ctx, s, app, o); err != nil {
		return nil, err
	}
	if err := r.addSyncs(ctx, s, app, names, o); err != nil {
		return nil, err
	}
	st, err := readState(ctx, s, app.ID)
	if err != nil {
		return nil, err
	}
	r.Brands = st.brands
	counts := map[int]int{}
	for _, so := range orgs {
		row, err := st.org(ctx, s, app.ID, so, o)
		if err != nil {
			return nil, err
		}
		if row.Listed {
			r.Listed++
			counts[so.Status]++
			r.addAttention(&row)
			r.addJKU(&row)
		} else {
			r.Gone++
		}
		r.Orgs = append(r.Orgs, row)
	}
	r.Counts = countList(counts)
	r.sortAttention()
	r.KeySets = keySetUse(st.sets, r.Orgs)
	if err := r.addProbes(ctx, s, app); err != nil {
		return nil, err
	}
	r.addSmart(st.eps)
	return r, nil
}

// orgState is what the report reads about every org at once.
type orgState struct {
	ups    map[string]*store.Uploaded
	sets   []store.KeySet
	kids   map[string][]string // by thumbprints
	fails  map[string]store.Outcome
	last   map[string]store.TimedEvent
	eps    map[string][]store.Endpoint
	brands *BrandsSource
}

func readState(ctx context.Context, s *store.Store, app int64) (*orgState, error) {
	st := &orgState{}
	var err error
	if st.ups, err = s.LastUploads(ctx, app); err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	if st.sets, err = s.KeySets(ctx, app); err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	if st.fails, err = s.LastFailures(ctx, app); err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	if st.last, err = lastEvents(ctx, s, app); err != nil {
		return nil, err
	}
	if st.eps, err = s.Endpoints(ctx, app); err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	if im, err := s.LastBrandsImport(ctx, app); err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	} else if im != nil {
		st.brands = &BrandsSource{ImportedAt: im.ImportedAt, Source: im.Source}
		if !im.BundleDate.IsZero() {
			d := im.BundleDate
			st.brands.BundleDate = &d
		}
	}
	st.kids = make(map[string][]string, len(st.sets))
	for _, k := range st.sets {
		st.kids[k.Thumbprints] = splitList(k.Kids)
	}
	return st, nil
}

// upload is an environment's last upload as the report shows it.
func (st *orgState) upload(e *store.EnvState) *Upload {
	if e == nil {
		return nil
	}
	u := &Upload{Mode: e.Mode, At: e.At, RunID: e.Run, Unconfirmed: e.Unconfirmed}
	if e.Mode == ModeJWKS {
		u.Thumbprints = splitList(e.Keys)
		u.Kids = st.kids[e.Keys]
	}
	return u
}

// org is one organization's row.
func (st *orgState) org(ctx context.Context, s *store.Store, app int64, so store.Org, o Options) (Org, error) {
	row := Org{OrgID: so.OrgID, Name: so.Name, ECMId: so.ECMId, Status: so.Status, StatusName: portal.Status(so.Status).String(),
		Class: portal.Status(so.Status).Class(), Listed: so.GoneSince == nil, GoneSince: so.GoneSince,
		FirstSeen: so.FirstSeen, LastSeen: so.LastSeen, Kids: []string{}, FHIRBaseURLs: []string{}}
	if u := st.ups[so.OrgID]; u != nil {
		row.NonProd, row.Prod = st.upload(u.NonProd), st.upload(u.Prod)
	}
	row.Mode = orgMode(row.NonProd, row.Prod)
	for _, u := range []*Upload{row.NonProd, row.Prod} {
		if u != nil {
			for _, k := range u.Kids {
				if !slices.Contains(row.Kids, k) {
					row.Kids = append(row.Kids, k)
				}
			}
		}
	}
	for _, e := range st.eps[so.OrgID] {
		row.FHIRBaseURLs = append(row.FHIRBaseURLs, e.Address)
	}
	row.LastChange = lastChange(st.last[so.OrgID], row.NonProd, row.Prod, o)
	if f, ok := st.fails[so.OrgID]; ok {
		row.LastError = &Failure{Result: f.Result, Message: f.Message, At: f.Finished, RunID: f.RunID}
		since, err := s.FirstFailureSince(ctx, app, so.OrgID)
		if err != nil {
			return row, fmt.Errorf("build report: org %s: %w", so.OrgID, err)
		}
		if !since.IsZero() {
			row.LastError.Since = &since
		}
	}
	return row, nil
}

// orgMode sums up the two environments' modes.
func orgMode(np, p *Upload) string {
	switch {
	case np == nil && p == nil:
		return ModeNone
	case np == nil:
		return p.Mode
	case p == nil:
		return np.Mode
	case np.Mode != p.Mode:
		return ModeMixed
	}
	return np.Mode
}

func (r *Report) addSyncs(ctx context.Context, s *store.Store, app store.App, names map[string]string, o Options) error {
	syncs, err := s.Syncs(ctx, app.ID, 0)
	if err != nil {
		return fmt.Errorf("build report: %w", err)
	}
	for _, sy := range syncs {
		if sy.Kind == store.SyncRehearsal {
			continue // a dry run or a declined plan: the user's rehearsal, not the portal's change
		}
		r.History = append(r.History, SyncPoint{ID: sy.ID, At: sy.Finished, Total: sy.Total, Counts: countList(sy.Counts)})
	}
	if len(syncs) == 0 {
		return nil
	}
	first := summarizedFrom(syncs, r.LastRun)
	last := syncs[len(syncs)-1]
	sum := &SyncSummary{ID: last.ID, At: last.Finished, Total: last.Total, First: first == 0 && syncs[0].ID == last.ID,
		Syncs: len(syncs) - first, Since: syncs[first].Finished, Changes: []Change{}}
	for _, sy := range syncs[first:] {
		sum.New += sy.Added
		sum.Renamed += sy.Renamed
		sum.Gone += sy.Gone
		sum.StatusChanged += sy.Changed
		evs, err := s.SyncEvents(ctx, sy.ID)
		if err != nil {
			return fmt.Errorf("build report: %w", err)
		}
		for _, e := range evs {
			c := Change{OrgID: e.OrgID, Name: names[e.OrgID], Kind: e.Kind, Old: e.Old, New: e.New}
			if e.Kind == store.EventStatus {
				c.Old, c.New = statusWord(e.Old), statusWord(e.New)
			}
			sum.Changes = append(sum.Changes, c)
		}
	}
	r.LastSync = sum
	return nil
}

// summarizedFrom is the index of the first sync the summary covers. An
// activation run syncs before its calls and again after them to check the
// statuses; the check is then the last sync, and on its own it would hide
// the arrivals and renames the run's first sync found. So when the last
// sync is part of (or after) the last run, the summary starts at the sync
// the run began with: the last one before it started (never the app's very
// first sync, where every organization was new, when there are later ones).
func summarizedFrom(syncs []store.Sync, run *RunSummary) int {
	last := len(syncs) - 1
	if run == nil || syncs[last].Finished.Before(run.Started) {
		return last
	}
	from := 0
	for i := last; i >= 0; i-- {
		if !syncs[i].Finished.After(run.Started) {
			from = i
			break
		}
	}
	// The app's first sync finds every organization new: that is no news
	// next to what later syncs found.
	if from == 0 && last > 0 {
		from = 1
	}
	return from
}

// statusWord names a status stored as text in a sync event.
func statusWord(v string) string {
	s, err := portal.ParseStatus(v)
	if err != nil {
		return v
	}
	return s.String()
}

func (r *Report) addLastRun(ctx context.Context, s *store.Store, app store.App, o Options) error {
	runs, err := s.Runs(ctx, app.ID, 1)
	if err != nil {
		return fmt.Errorf("build report: %w", err)
	}
	if len(runs) == 0 {
		return nil
	}
	outs, err := s.RunOutcomes(ctx, runs[0].ID)
	if err != nil {
		return fmt.Errorf("build report: %w", err)
	}
	sum := SummarizeRun(runs[0], outs, o)
	r.LastRun = &sum
	return nil
}

// addAttention lists a listed organization when it needs a person.
func (r *Report) addAttention(row *Org) {
	a := Attention{OrgID: row.OrgID, Name: row.Name, Status: row.Status, StatusName: row.StatusName}
	switch {
	case row.LastError != nil:
		a.Reason, a.Message, a.RunID = row.LastError.Result, row.LastError.Message, row.LastError.RunID
		at := row.LastError.At
		a.LastTried, a.Since = &at, row.LastError.Since
		if a.Reason == ReasonPending {
			a.Message = fmt.Sprintf("run %d stopped during this call before its answer was recorded (killed, power lost or disk full): the next activate run settles it from the portal's listing", a.RunID)
		}
	case !portal.Status(row.Status).Known():
		a.Reason, a.Message = ReasonUnknown, fmt.Sprintf("the portal shows status %d, which activator never acts on: check the organization on the portal", row.Status)
	case notShown(row) != nil:
		u := notShown(row)
		at := u.At
		a.Reason, a.LastTried, a.RunID = ReasonNotShown, &at, u.RunID
		a.Message = fmt.Sprintf("activated on %s, but the portal shows %s: the next activate run calls it again once --settle has passed",
			at.UTC().Format("2006-01-02 15:04 UTC"), row.StatusName)
	default:
		return
	}
	row.Attention = a.Reason
	r.Attention = append(r.Attention, a)
}

var reasonOrder = map[string]int{ReasonPending: 0, ReasonRefused: 1, ReasonMismatch: 2, ReasonFailed: 3, ReasonNotShown: 4, ReasonUnknown: 5}

// notShown returns the upload of an environment that the portal's status
// does not show as enabled, or nil.
func notShown(row *Org) *Upload {
	switch portal.Status(row.Status) {
	case portal.StatusNotResponded:
		if row.NonProd != nil {
			return row.NonProd
		}
		return row.Prod
	case portal.StatusNonProdOnly:
		return row.Prod
	}
	return nil
}

func (r *Report) sortAttention() {
	slices.SortStableFunc(r.Attention, func(a, b Attention) int {
		if c := cmp.Compare(reasonOrder[a.Reason], reasonOrder[b.Reason]); c != 0 {
			return c
		}
		return portal.CompareOrgID(a.OrgID, b.OrgID)
	})
}

// addJKU lists a listed organization with keys enabled that is not known
// to hold uploaded keys in every enabled environment.
func (r *Report) addJKU(row *Org) {
	var envs []*Upload
	switch portal.Status(row.Status) {
	case portal.StatusEnabled:
		envs = []*Upload{row.NonProd, row.Prod}
	case portal.StatusNonProdOnly:
		envs = []*Upload{row.NonProd}
	default:
		return
	}
	if row.LastError != nil && row.LastError.Result == ReasonPending {
		return // its last call's outcome is not known yet: listed as needing attention
	}
	j := JKUOrg{OrgID: row.OrgID, Name: row.Name, Status: row.Status, StatusName: row.StatusName}
	mode := func(u *Upload) string {
		if u == nil {
			return ModeNone
		}
		return u.Mode
	}
	j.NonProd = mode(envs[0])
	if len(envs) == 2 {
		j.Prod = mode(envs[1])
	}
	var jku *Upload
	none := false
	for _, u := range envs {
		switch {
		case u == nil:
			none = true
		case u.Mode == ModeJKU && (jku == nil || u.At.After(jku.At)):
			jku = u
		}
	}
	switch {
	case jku != nil:
		j.Reason = JKUUploaded
		at := jku.At
		j.Since, j.RunID = &at, jku.RunID
	case none:
		j.Reason = JKUNoUpload
	default:
		return
	}
	row.OnJWKSetURL = true
	r.JWKSetURL = append(r.JWKSetURL, j)
}

// keySetUse counts the listed organizations holding each key set.
func keySetUse(sets []store.KeySet, orgs []Org) []KeySetUse {
	out := make([]KeySetUse, 0, len(sets))
	index := map[string]int{}
	add := func(thumbs string, kids []string, first time.Time) int {
		if i, ok := index[thumbs]; ok {
			return i
		}
		index[thumbs] = len(out)
		if kids == nil {
			kids = []string{}
		}
		out = append(out, KeySetUse{Thumbprints: splitList(thumbs), Kids: kids, FirstUsed: first})
		return len(out) - 1
	}
	for _, k := range sets {
		add(k.Thumbprints, splitList(k.Kids), k.FirstUsed)
	}
	for _, o := range orgs {
		if !o.Listed {
			continue
		}
		held := map[int]bool{}
		for env, u := range []*Upload{o.NonProd, o.Prod} {
			if u == nil || u.Mode != ModeJWKS {
				continue
			}
			// A set missing from the key set table (never expected) is
			// still counted, under its thumbprints.
			i := add(strings.Join(u.Thumbprints, ","), u.Kids, u.At)
			if env == 0 {
				out[i].NonProdOrgs++
			} else {
				out[i].ProdOrgs++
			}
			held[i] = true
		}
		for i := range held {
			out[i].Orgs++
		}
	}
	return out
}
