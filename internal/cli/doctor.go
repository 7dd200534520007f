package cli

import (
	"context"
	"fmt"

	"github.com/activator-dev/activator/internal/doctor"
	"github.com/activator-dev/activator/internal/orgsync"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
	"github.com/spf13/cobra"
)

// DoctorOptions are `doctor`'s options.
type DoctorOptions struct {
	// IO and Output (--output) are where and how the command prints.
	IO     *IOStreams
	Output string
	// Logf prints a progress line (unless --quiet).
	Logf func(format string, args ...any)
	// NewPacer paces the portal calls, saying so when the portal asks
	// for a pause.
	NewPacer func(rate float64, retries int) *pace.Pacer
	PageSize int
	Rate     float64
	// Client returns the portal client whose session is checked.
	Client func() (*portalhttp.Client, error)
}

// NewCmdDoctor builds `doctor`.
func NewCmdDoctor(f *Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{Client: f.PortalClient, NewPacer: f.newPacer}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that the portal still behaves as activator assumes, changing nothing",
		Long: `Checks, one by one, what activator assumes of the portal (docs/portal.md) and prints
each as ok, differs or unknown, with what to do about a difference:

  session          the portal accepts the session for --app
  management page  the app's Review & Manage Downloads page loads
  anti-forgery token  in the hidden input __RequestVerificationToken (a meta tag or a
                   cookie are noted)
  LoadDownloads answer  {"Success":true,"Data":{"Downloads":[...]}}
  download fields  Id, OrgName, Approved and ECMId in every download, of the expected types
  Id               "{OrgId}_{AppId}" of this app
  other fields     members activator does not use (listed, never a difference)
  Approved values  each value with its count; values outside 0/1/3 on many organizations
                   differ
  page size        the largest PageSize the portal honours (a cap)
  paging           page counts from 0
  total            the number of organizations
  ApproveDownload route and fields  the route in the management page's scripts, and the
                   form fields the script sends against the 13 activator sends

It makes a handful of requests at the normal pace and never calls ApproveDownload or
anything else that changes the portal. Exits 0 when everything is as assumed (unknown
is not a difference), 1 when something differs, 3 when the session is not accepted.
Run it after a portal update, or before a first mass run.`,
		Example: `  activator doctor
  activator doctor --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Output, opts.Logf = f.IO, f.Output, f.Logf
			if err := checkPageSize(opts.PageSize); err != nil {
				return err
			}
			if err := checkRate(opts.Rate); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.PageSize, "page-size", portal.DefaultPageSize, "organizations per LoadDownloads call, as orgs sync and activate ask")
	cmd.Flags().Float64Var(&opts.Rate, "rate", pace.DefaultRate, "portal calls per second at most")
	return cmd
}

// DoctorFinding is one line of `doctor --output json`.
type DoctorFinding struct {
	Verdict string `json:"verdict"`
	Topic   string `json:"topic"`
	Text    string `json:"text"`
	Fix     string `json:"fix,omitempty"`
	Matters bool   `json:"stopsActivate"`
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	p := opts.NewPacer(opts.Rate, orgsync.DefaultConnectRetries)
	rep, err := doctor.Run(ctx, doctor.Options{
		Client:   c,
		PageSize: opts.PageSize,
		Do:       func(ctx context.Context, call func() error) error { _, err := p.Do(ctx, call); return err },
	})
	if err != nil {
		return err
	}
	if opts.Output == OutputJSON {
		out := []DoctorFinding{}
		for _, fd := range rep.Findings {
			out = append(out, DoctorFinding{Verdict: fd.Verdict.String(), Topic: fd.Topic, Text: fd.Text, Fix: fd.Fix, Matters: fd.Matters})
		}
		if err := writeJSON(opts.IO.Out, out); err != nil {
			return err
		}
	} else {
		for _, fd := range rep.Findings {
			fmt.Fprintln(opts.IO.Out, printable(fd.String())) // field names and values come from the portal
		}
	}
	if n := rep.Differs(); n > 0 {
		verb := "differ"
		if n == 1 {
			verb = "differs"
		}
		opts.Logf("%s of %d %s from what activator assumes of the portal (docs/portal.md).", plural(n, "check"), len(rep.Findings), verb)
		return &ExitError{Code: ExitFailures}
	}
	opts.Logf("The portal behaves as activator assumes (%d checks).", len(rep.Findings))
	return nil
}
