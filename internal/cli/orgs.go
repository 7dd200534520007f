package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// NewCmdOrgs groups the organization commands.
func NewCmdOrgs(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "orgs",
		Short: "List the organizations the app is delivered to",
		Example: `  activator orgs sync
  activator orgs list --status not-responded
  activator orgs show 16770`,
	}
	cmd.AddCommand(NewCmdOrgsSync(f, nil), NewCmdOrgsList(f, nil))
	cmd.AddCommand(NewCmdOrgsShow(f, nil))
	return group(cmd)
}

// StatusName is a person's word for an Approved value (portal.Status's
// String), the same in every output.
func StatusName(s int) string { return portal.Status(s).String() }

// parseStatus reads a --status value: a status by name or number, or
// "unknown" for every status activator does not know.
func parseStatus(s string) (st portal.Status, unknown bool, err error) {
	if strings.EqualFold(strings.TrimSpace(s), portal.ClassUnknown) {
		return 0, true, nil
	}
	st, err = portal.ParseStatus(s)
	if err != nil {
		return 0, false, UsageErrorf("--status %q is not one of not-responded, enabled, nonprod-only, unknown (or a number)", s)
	}
	return st, false, nil
}

// SyncOptions are `orgs sync`'s options.
type SyncOptions struct {
	F        *Factory
	PageSize int
	Rate     float64

	// Store opens the state database with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)
	// Client returns the portal client, not yet connected.
	Client func() (*portalhttp.Client, error)
}

// NewCmdOrgsSync builds `orgs sync`.
func NewCmdOrgsSync(f *Factory, runF func(*SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{F: f, Store: f.AppStore, Client: f.PortalClient}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch every organization from the portal and report what changed",
		Long: `Fetches every page of the app's organizations from the portal, stores them, and
reports what changed since the previous sync: new organizations, renamed ones (same
OrgId, new name), ones no longer listed, and status changes.`,
		Example: `  activator orgs sync --app 50741
  activator orgs sync --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return syncRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.PageSize, "page-size", portal.DefaultPageSize, "organizations per LoadDownloads call")
	cmd.Flags().Float64Var(&opts.Rate, "rate", pace.DefaultRate, "portal calls per second at most")
	return cmd
}

// check validates the flags.
func (opts *SyncOptions) check() error {
	if err := checkPageSize(opts.PageSize); err != nil {
		return err
	}
	return checkRate(opts.Rate)
}

// checkPageSize refuses a --page-size outside what one LoadDownloads call
// is asked for (orgs sync, activate, doctor).
func checkPageSize(n int) error {
	if n < 1 || n > 1000 {
		return UsageErrorf("--page-size %d is out of range: use 1 to 1000", n)
	}
	return nil
}

func syncRun(ctx context.Context, opts *SyncOptions) error {
	f := opts.F
	s, app, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	p := f.newPacer(opts.Rate, pace.DefaultRetries)
	c, err := connect(ctx, f, opts.Client, p.Rate())
	if err != nil {
		return err
	}
	rep, err := syncWith(ctx, f, s, app, c, p, opts.PageSize)
	if err != nil {
		return err
	}
	if f.Output == OutputJSON {
		return writeJSON(f.IO.Out, rep)
	}
	printSyncReport(f, rep)
	return nil
}

// connect returns a client whose session has been checked against the
// management page, the first call paced at rate with a couple of retries.
func connect(ctx context.Context, f *Factory, client func() (*portalhttp.Client, error), rate float64) (*portalhttp.Client, error) {
	c, err := client()
	if err != nil {
		return nil, err
	}
	if err := orgsync.Connect(ctx, c, f.newPacer(rate, orgsync.DefaultConnectRetries)); err != nil {
		return nil, err
	}
	return c, nil
}

func printSyncReport(f *Factory, r *orgsync.Report) {
	w := f.IO.Out
	fmt.Fprintf(w, "Synced %s in %s.\n", plural(r.Total, "organization"), r.Duration.Round(time.Millisecond))
	if r.First {
		fmt.Fprintln(w, "First sync for this app: every organization is new.")
	} else if !r.Changed() {
		fmt.Fprintln(w, "No changes since the previous sync.")
	}
	section := func(title string, cs []orgsync.Change, line func(orgsync.Change) string) {
		if len(cs) == 0 || (r.First && title == "New") {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(cs))
		for _, c := range cs {
			fmt.Fprintf(w, "  %s\n", line(c))
		}
	}
	section("New", r.Added, func(c orgsync.Change) string { return fmt.Sprintf("%-6s %s", c.OrgID, printable(c.Name)) })
	section("Renamed", r.Renamed, func(c orgsync.Change) string {
		return fmt.Sprintf("%-6s %q -> %q", c.OrgID, printable(c.Old), printable(c.New))
	})
	section("No longer listed", r.Gone, func(c orgsync.Change) string { return fmt.Sprintf("%-6s %s", c.OrgID, printable(c.Old)) })
	section("Listed again", r.Returned, func(c orgsync.Change) string { return fmt.Sprintf("%-6s %s", c.OrgID, printable(c.Name)) })
	section("Status changed", r.Status, func(c orgsync.Change) string {
		return fmt.Sprintf("%-6s %s: %s -> %s", c.OrgID, printable(c.Name), statusWord(c.Old), statusWord(c.New))
	})
	fmt.Fprintf(w, "Status: %s\n", countsLine(r.Counts))
}

func statusWord(s string) string {
	st, err := portal.ParseStatus(s)
	if err != nil {
		return s
	}
	return st.String()
}

// countsLine renders counts per status in a fixed order: the known
// statuses, always, then the unknown ones ascending.
func countsLine(c map[int]int) string {
	keys := portal.CountedStatuses(c)
	parts := make([]string, 0, len(keys))
	for _, s := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", c[int(s)], s))
	}
	return strings.Join(parts, ", ")
}

// ListOptions are `orgs list`'s options.
type ListOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	Status []string
	New    bool
	Gone   bool

	// Store opens the state database for reading, with the app's row.
	Store func(context.Context) (*store.Store, store.App, error)

	// keep is --status and --gone as a filter, set from the flags.
	keep func(store.Org) bool
}

// NewCmdOrgsList builds `orgs list`.
func NewCmdOrgsList(f *Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Store: f.ReadHeldAppStore}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the organizations from the last sync (no portal call)",
		Long: `Lists the organizations stored by the last sync, with their FHIR base URLs once a
Brands bundle was imported (activator brands). No portal call.

--output json: a list of {orgId, name, ecmId, status, statusName, firstSeen, lastSeen,
goneSince (when no longer listed), fhirBaseUrls}.`,
		Example: `  activator orgs list --status not-responded
  activator orgs list --new --output json
  activator orgs list --output csv > orgs.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output = f.IO, f.Output
			keep, err := opts.filter()
			if err != nil {
				return err
			}
			opts.keep = keep
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.Status, "status", nil, "only these statuses: not-responded, enabled, nonprod-only, unknown (repeatable)")
	cmd.Flags().BoolVar(&opts.New, "new", false, "only organizations first seen (or listed again) by the latest orgs sync or activation run, its re-listing after the calls included")
	cmd.Flags().BoolVar(&opts.Gone, "gone", false, "only organizations the latest orgs sync or activation run (its re-listing included) no longer found listed (hidden otherwise)")
	return cmd
}

// OrgJSON is an organization in --output json.
type OrgJSON struct {
	OrgID      string     `json:"orgId"`
	Name       string     `json:"name"`
	ECMId      string     `json:"ecmId"`
	Status     int        `json:"status"`
	StatusName string     `json:"statusName"`
	FirstSeen  time.Time  `json:"firstSeen"`
	LastSeen   time.Time  `json:"lastSeen"`
	GoneSince  *time.Time `json:"goneSince,omitempty"`
	// FHIRBaseURLs are the org's FHIR base URLs from the last imported
	// Brands bundle (`activator brands`); empty when it has none there.
	FHIRBaseURLs []string `json:"fhirBaseUrls"`
}

func listRun(ctx context.Context, opts *ListOptions) error {
	keep := opts.keep
	s, app, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	orgs, err := s.Orgs(ctx, app.ID)
	if err != nil {
		return err
	}
	if opts.New {
		ids, err := s.NewAtLastSync(ctx, app.ID)
		if err != nil {
			return err
		}
		keep = onlyNew(keep, ids)
	}
	if opts.Gone {
		ids, err := s.GoneAtLastSync(ctx, app.ID)
		if err != nil {
			return err
		}
		keep = onlyNew(keep, ids)
	}
	eps, err := s.Endpoints(ctx, app.ID)
	if err != nil {
		return err
	}
	if len(orgs) == 0 && opts.Output == OutputTable {
		fmt.Fprintln(opts.IO.ErrOut, "No organizations stored for this app yet: run `activator orgs sync`.")
		return nil
	}
	return orgsWriters[opts.Output](opts.IO.Out, orgRows(orgs, eps, keep))
}

// filter is the --status and --gone filter.
func (opts *ListOptions) filter() (func(store.Org) bool, error) {
	type filter struct {
		status  portal.Status
		unknown bool
	}
	var filters []filter
	for _, s := range opts.Status {
		st, unk, err := parseStatus(s)
		if err != nil {
			return nil, err
		}
		filters = append(filters, filter{st, unk})
	}
	return func(o store.Org) bool {
		if (o.GoneSince != nil) != opts.Gone {
			return false
		}
		if len(filters) == 0 {
			return true
		}
		for _, fl := range filters {
			st := portal.Status(o.Status)
			if (fl.unknown && !st.Known()) || (!fl.unknown && st == fl.status) {
				return true
			}
		}
		return false
	}, nil
}

// onlyNew narrows keep to the OrgIds in ids (--new).
func onlyNew(keep func(store.Org) bool, ids map[string]bool) func(store.Org) bool {
	return func(o store.Org) bool { return ids[o.OrgID] && keep(o) }
}

// orgRows are the orgs keep accepts, with their FHIR base URLs.
func orgRows(orgs []store.Org, eps map[string][]store.Endpoint, keep func(store.Org) bool) []OrgJSON {
	out := []OrgJSON{}
	for _, o := range orgs {
		if !keep(o) {
			continue
		}
		j := OrgJSON{OrgID: o.OrgID, Name: o.Name, ECMId: o.ECMId, Status: o.Status, StatusName: StatusName(o.Status),
			FirstSeen: o.FirstSeen, LastSeen: o.LastSeen, GoneSince: o.GoneSince, FHIRBaseURLs: []string{}}
		for _, e := range eps[o.OrgID] {
			j.FHIRBaseURLs = append(j.FHIRBaseURLs, e.Address)
		}
		out = append(out, j)
	}
	return out
}

// orgsWriters write `orgs list` in each --output format.
var orgsWriters = map[string]func(io.Writer, []OrgJSON) error{
	OutputJSON:  func(w io.Writer, out []OrgJSON) error { return writeJSON(w, out) },
	OutputCSV:   writeOrgsCSV,
	OutputTable: writeOrgsTable,
}

func writeOrgsCSV(w io.Writer, out []OrgJSON) error {
	t := newTable(w, true)
	t.header = []string{"orgId", "name", "ecmId", "status", "statusName", "firstSeen", "lastSeen", "fhirBaseUrls"}
	for _, o := range out {
		t.add(o.OrgID, o.Name, o.ECMId, o.Status, o.StatusName, o.FirstSeen.Format(time.RFC3339), o.LastSeen.Format(time.RFC3339),
			strings.Join(o.FHIRBaseURLs, " "))
	}
	return t.flush()
}

func writeOrgsTable(w io.Writer, out []OrgJSON) error {
	// The FHIR base URL column appears once a Brands bundle was imported.
	anyURL := false
	for _, o := range out {
		anyURL = anyURL || len(o.FHIRBaseURLs) > 0
	}
	cols := []string{"ORGID", "NAME", "ECMID", "STATUS", "FIRST SEEN"}
	if anyURL {
		cols = append(cols, "FHIR BASE URL")
	}
	t := newTable(w, false, cols...)
	for _, o := range out {
		row := []any{o.OrgID, o.Name, o.ECMId, o.StatusName, o.FirstSeen.Format("2006-01-02")}
		if anyURL {
			u := ""
			if len(o.FHIRBaseURLs) > 0 {
				u = o.FHIRBaseURLs[0]
			}
			if len(o.FHIRBaseURLs) > 1 {
				u += fmt.Sprintf(" (+%d)", len(o.FHIRBaseURLs)-1)
			}
			row = append(row, u)
		}
		t.add(row...)
	}
	return t.flush()
}
