// Package doctor checks, read-only, that the vendor portal still behaves
// the way activator assumes (docs/portal.md): the session and the
// management page with its anti-forgery token, the shape of the
// LoadDownloads answer, its paging, and the ApproveDownload route and form
// fields the page's script uses. It never calls ApproveDownload or anything
// else that changes the portal: a handful of requests, at the caller's
// pace.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/portal/portalhttp"
)

// DefaultPagingProbe is the page size of the zero-based paging check: two
// pages of two organizations each tell page 0 and page 1 apart at the cost
// of two small calls.
const DefaultPagingProbe = 2

// Options configure Run.
type Options struct {
	// Client is the portal client, with the session to check.
	Client *portalhttp.Client
	// Do makes one portal call, paced and retried as every command's
	// calls are; nil calls it directly.
	Do func(ctx context.Context, call func() error) error
	// PageSize is what a listing asks for (portal.DefaultPageSize when
	// zero), so the check sees the cap a sync would meet.
	PageSize int
}

// Report is what Run found, one finding per assumption, in the order of
// docs/portal.md.
type Report struct {
	Findings []portal.Finding
}

// Differs counts the findings that differ from the assumptions.
func (r *Report) Differs() int {
	n := 0
	for _, f := range r.Findings {
		if f.Verdict == portal.Differs {
			n++
		}
	}
	return n
}

// Run checks each assumption. A session the portal refuses, an app it does
// not know or a portal it cannot reach is an error: nothing could be
// checked. What the portal answers otherwise, however odd, is a finding.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Do == nil {
		o.Do = func(_ context.Context, call func() error) error { return call() }
	}
	if o.PageSize <= 0 {
		o.PageSize = portal.DefaultPageSize
	}
	c := o.Client
	r := &Report{}
	add := func(f portal.Finding) { r.Findings = append(r.Findings, f) }

	if err := o.Do(ctx, func() error { return c.Connect(ctx) }); err != nil {
		var me *portal.MalformedError
		if !errors.As(err, &me) {
			return nil, err
		}
		add(portal.Finding{Verdict: portal.Differs, Topic: "management page", Text: me.What,
			Fix: "check --portal and --app; if they are right, the portal changed its management page: report it before running activate"})
		return r, nil
	}
	add(portal.Finding{Verdict: portal.OK, Topic: "session", Text: "the portal accepts it for app " + c.AppID()})
	add(portal.Finding{Verdict: portal.OK, Topic: "management page", Text: c.ManagementPath()})
	add(tokenFinding(c))

	c.Shape().Reset()
	var pages []int
	all, err := portal.ListAll(ctx, o.load, o.PageSize, func(_, got int) { pages = append(pages, got) })
	listErr := err
	if err != nil {
		var me *portal.MalformedError
		var pe *portal.PortalError
		if !errors.As(err, &me) && !errors.As(err, &pe) {
			return nil, err
		}
		add(portal.Finding{Verdict: portal.Differs, Topic: "LoadDownloads answer", Text: err.Error(), Fix: "the portal changed its listing: do not run activate until activator is updated for it"})
	} else {
		add(portal.Finding{Verdict: portal.OK, Topic: "LoadDownloads answer", Text: `{"Success":true,"Data":{"Downloads":[...]}}`})
	}
	r.Findings = append(r.Findings, c.Shape().Check()...)
	if listErr != nil {
		add(portal.Finding{Verdict: portal.Unknown, Topic: "page size", Text: "not checked: the listing failed"})
		add(portal.Finding{Verdict: portal.Unknown, Topic: "paging", Text: "not checked: the listing failed"})
		add(portal.Finding{Verdict: portal.Unknown, Topic: "total", Text: "not counted: the listing failed"})
	} else {
		add(pageSizeFinding(pages, o.PageSize, len(all)))
		f, err := pagingFinding(ctx, o, all)
		if err != nil {
			return nil, err
		}
		add(f)
		pagesWord := "pages"
		full := 0
		for _, n := range pages {
			if n > 0 {
				full++
			}
		}
		if full == 1 {
			pagesWord = "page"
		}
		add(portal.Finding{Verdict: portal.OK, Topic: "total", Text: fmt.Sprintf("%d organizations on %d %s of at most %d", len(all), full, pagesWord, o.PageSize)})
	}

	fs, err := approveFindings(ctx, o)
	if err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, fs...)
	return r, nil
}

// load is one LoadDownloads call made through Do.
func (o Options) load(ctx context.Context, page, size int) ([]portal.Download, error) {
	var ds []portal.Download
	err := o.Do(ctx, func() error {
		var err error
		ds, err = o.Client.LoadDownloads(ctx, page, size)
		return err
	})
	return ds, err
}

// tokenFinding says where the management page keeps its token.
func tokenFinding(c *portalhttp.Client) portal.Finding {
	cookie := ""
	if c.HasCookie(portal.TokenField) {
		cookie = "; the page also sets a " + portal.TokenField + " cookie"
	}
	if c.TokenSource() == portalhttp.TokenInHiddenInput {
		return portal.Finding{Verdict: portal.OK, Topic: "anti-forgery token", Text: "in the hidden input " + portal.TokenField + cookie}
	}
	return portal.Finding{Verdict: portal.Differs, Topic: "anti-forgery token",
		Text: "in a " + c.TokenSource() + ", not in the hidden input " + portal.TokenField + cookie,
		Fix:  "activator reads it there too; if calls then fail with HTTP 403, report it"}
}

// pageSizeFinding tells a cap from the page lengths of a listing: a page
// shorter than asked followed by a non-empty one.
func pageSizeFinding(pages []int, size, total int) portal.Finding {
	if len(pages) > 1 && pages[0] < size && pages[1] > 0 {
		return portal.Finding{Verdict: portal.Differs, Topic: "page size",
			Text: fmt.Sprintf("asked for %d a page, the portal returns at most %d", size, pages[0]),
			Fix:  "nothing to do: activator reads on until an empty page, so no organization is missed; it only takes more calls"}
	}
	if total < size {
		return portal.Finding{Verdict: portal.OK, Topic: "page size", Text: fmt.Sprintf("asked for %d a page, all %d organizations came on the first (no cap below %d)", size, total, total)}
	}
	return portal.Finding{Verdict: portal.OK, Topic: "page size", Text: fmt.Sprintf("%d a page honoured", size)}
}

// pagingFinding checks that page counts from 0: page 0 and page 1 of
// DefaultPagingProbe organizations are the first and the next ones of the
// listing.
func pagingFinding(ctx context.Context, o Options, all []portal.Download) (portal.Finding, error) {
	n := DefaultPagingProbe
	if len(all) < 2*n {
		return portal.Finding{Verdict: portal.Unknown, Topic: "paging", Text: fmt.Sprintf("fewer than %d organizations: cannot tell zero-based paging", 2*n)}, nil
	}
	ids := func(ds []portal.Download) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.OrgID)
		}
		return out
	}
	var got [2][]string
	for page := range 2 {
		ds, err := o.load(ctx, page, n)
		if err != nil {
			return portal.Finding{}, err
		}
		got[page] = ids(ds)
	}
	first, second := ids(all[:n]), ids(all[n:2*n])
	switch {
	case slices.Equal(got[0], first) && slices.Equal(got[1], second):
		return portal.Finding{Verdict: portal.OK, Topic: "paging", Text: "zero-based (page 0 is the first page)"}, nil
	case slices.Equal(got[1], first):
		return portal.Finding{Verdict: portal.Differs, Topic: "paging", Text: "page 1 is the first page (one-based)",
			Fix: "the portal changed its paging: do not run activate until activator is updated for it"}, nil
	}
	return portal.Finding{Verdict: portal.Differs, Topic: "paging",
		Text: fmt.Sprintf("pages 0 and 1 of %d hold %v and %v, the listing starts %v %v", n, got[0], got[1], first, second),
		Fix:  "the portal pages differently (or the list changed meanwhile): run doctor again; if it stays, do not run activate"}, nil
}
