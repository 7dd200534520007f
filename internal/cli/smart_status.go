package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/activator-dev/activator/internal/report"
)

// printSmartStatus is status's section on the smart-configuration survey
// (`brands --smart-config`): how many activated organizations' servers
// answered, and which do not list private_key_jwt or RS384. Nothing when
// no server was ever checked.
func printSmartStatus(w io.Writer, r *report.Report, limit int) {
	sv := r.Smart
	if sv == nil {
		return
	}
	fmt.Fprintf(w, "\nSmart configuration (checked %s, %s): %d of %d activated organizations' servers answered",
		stamp(sv.LastChecked), ago(r.GeneratedAt, sv.LastChecked), sv.Answered, sv.Activated)
	fmt.Fprintf(w, " (%d with an endpoint in the directory, %d asked)\n", sv.WithEndpoint, sv.Checked)
	gaps := func(title, fix string, list []report.SmartGap, lists func(report.SmartGap) string) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(w, "  %s (%d): %s\n", title, len(list), fix)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		n := cut(len(list), limit)
		for _, g := range list[:n] {
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", g.OrgID, printable(g.Name), g.Address, lists(g))
		}
		tw.Flush()
		more(w, len(list), n, "--all, or `activator brands --smart-config`")
	}
	listed := func(what string, v []string) string {
		if len(v) == 0 {
			return what + ": none listed"
		}
		return what + ": " + strings.Join(v, ", ")
	}
	gaps("Not listing private_key_jwt", "the app's signed assertions are not accepted there", sv.NoPrivateKeyJWT,
		func(g report.SmartGap) string { return listed("methods", g.AuthMethods) })
	gaps("Not listing RS384", "sign with RS256 where it is listed (token --alg RS256)", sv.NoRS384,
		func(g report.SmartGap) string { return listed("algs", g.SigningAlgs) })
	if len(sv.NoPrivateKeyJWT)+len(sv.NoRS384) == 0 && sv.Answered > 0 {
		fmt.Fprintln(w, "  every server that answered lists private_key_jwt and RS384")
	}
}
