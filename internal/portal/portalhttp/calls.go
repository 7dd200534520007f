package portalhttp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/activator-dev/activator/internal/portal"
)

// LoadDownloads fetches one page (zero-based) of the app's organizations.
// Parameter names are case-sensitive on the portal: PageSize, page.
func (c *Client) LoadDownloads(ctx context.Context, page, size int) ([]portal.Download, error) {
	form := url.Values{}
	form.Set("appId", c.app)
	form.Set("PageSize", strconv.Itoa(size))
	form.Set("page", strconv.Itoa(page))
	a, err := c.postJSON(ctx, "/Developer/LoadDownloads", form)
	if err != nil {
		return nil, fmt.Errorf("load page %d: %w", page, err)
	}
	c.shape.Observe(a.Data, c.app)
	ds, err := portal.ParseDownloads(a.Data, c.app)
	if err != nil {
		return nil, fmt.Errorf("load page %d: %w", page, err)
	}
	return ds, nil
}

// Approve sends one ApproveDownload call. On success it returns the portal's
// message (a timestamp). A refusal by the organization is a
// *portal.RefusedError; an unknown OrgId a *portal.PortalError whose
// NotFound is true.
func (c *Client) Approve(ctx context.Context, a portal.Activation) (string, error) {
	if err := a.Check(); err != nil {
		return "", err
	}
	ans, err := c.postJSON(ctx, "/Developer/ApproveDownload", a.Form(c.app))
	if err != nil {
		return "", fmt.Errorf("approve org %s: %w", a.OrgID, err)
	}
	msg, err := portal.ParseApproveData(ans.Data)
	if err != nil {
		var re *portal.RefusedError
		if errors.As(err, &re) {
			re.OrgID = a.OrgID
		}
		return "", fmt.Errorf("approve org %s: %w", a.OrgID, err)
	}
	return msg, nil
}

// Shape is what the listing's answers looked like since the client was
// made or the shape last Reset.
func (c *Client) Shape() *portal.Shape { return c.shape }
