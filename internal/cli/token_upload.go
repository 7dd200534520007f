package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/activator-dev/activator/internal/diag"
	"github.com/activator-dev/activator/internal/plan"
	"github.com/activator-dev/activator/internal/store"
)

// tokenUpload looks up what activator uploaded to the token URL's
// organization: --org, else the organization whose stored Brands endpoint
// (activator brands) the token URL belongs to. It returns nil, with a
// note for stderr when there is something to say, when the state database
// knows nothing of it; the diagnosis then goes without.
func tokenUpload(ctx context.Context, opts *TokenOptions, signingKey string) (*diag.Upload, string) {
	if opts.Store == nil {
		return nil, ""
	}
	s, app, err := opts.Store(ctx)
	if err != nil {
		if opts.Org != "" {
			return nil, fmt.Sprintf("what was uploaded to organization %s is unknown: %v", opts.Org, err)
		}
		return nil, ""
	}
	org, how := opts.Org, "--org"
	if org == "" {
		eps, err := s.Endpoints(ctx, app.ID)
		if err != nil {
			return nil, ""
		}
		if org = orgOfTokenURL(eps, opts.TokenURL); org == "" {
			return nil, ""
		}
		how = "its endpoint stored by activator brands"
	}
	ups, err := s.LastUploads(ctx, app.ID)
	if err != nil {
		return nil, fmt.Sprintf("what was uploaded to organization %s is unknown: %v", org, err)
	}
	u := ups[org]
	var last *store.EnvState
	if u != nil {
		for _, e := range []*store.EnvState{u.NonProd, u.Prod} {
			if e != nil && (last == nil || e.At.After(last.At)) {
				last = e
			}
		}
	}
	if last == nil {
		if opts.Org != "" {
			return nil, fmt.Sprintf("the state database records no upload to organization %s", org)
		}
		return nil, ""
	}
	up := &diag.Upload{OrgID: org, Direct: last.Mode == plan.ModeJWKS, At: last.At, SigningKey: signingKey, Now: opts.Now()}
	for _, e := range []*store.EnvState{u.NonProd, u.Prod} {
		if e != nil && e.Mode == plan.ModeJWKS && e.Keys != "" {
			up.Thumbprints = append(up.Thumbprints, strings.Split(e.Keys, ",")...)
		}
	}
	mode := "the JWK Set URL"
	if up.Direct {
		mode = "direct keys"
	}
	return up, fmt.Sprintf("organization %s (by %s): activator uploaded %s there at %s", org, how, mode, last.At.UTC().Format("2006-01-02 15:04 UTC"))
}

// orgOfTokenURL finds the organization a token URL belongs to: Epic's
// token endpoint sits beside the FHIR base URL (https://host/PATH/api/FHIR/R4
// and https://host/PATH/oauth2/token), so the organization is the one whose
// base URL, cut before /api/FHIR, is the longest prefix of the token URL.
// Two organizations sharing that prefix match none.
func orgOfTokenURL(eps map[string][]store.Endpoint, tokenURL string) string {
	tok := strings.ToLower(tokenURL)
	best, bestLen, tie := "", 0, false
	orgs := make([]string, 0, len(eps))
	for o := range eps {
		orgs = append(orgs, o)
	}
	sort.Strings(orgs)
	for _, o := range orgs {
		for _, e := range eps[o] {
			root := strings.ToLower(strings.TrimRight(e.Address, "/"))
			if i := strings.Index(root, "/api/fhir"); i >= 0 {
				root = root[:i]
			}
			if root == "" || !strings.HasPrefix(tok, root+"/") {
				continue
			}
			switch {
			case len(root) > bestLen:
				best, bestLen, tie = o, len(root), false
			case len(root) == bestLen && o != best:
				tie = true
			}
		}
	}
	if tie {
		return ""
	}
	return best
}
