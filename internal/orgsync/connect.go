package orgsync

import (
	"context"
	"errors"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
)

// DefaultConnectRetries is how often the first call to the portal is
// retried on a 5xx or a network error before the command gives up: a portal
// that cannot be reached at all is said quickly, not after a whole run's
// worth of retries.
const DefaultConnectRetries = 2

// Portal is what connecting and checking a session need of the portal
// client; *portalhttp.Client is one.
type Portal interface {
	Connect(ctx context.Context) error
	LoadDownloads(ctx context.Context, page, size int) ([]portal.Download, error)
}

// Connect checks c's session against the management page (and takes its
// anti-forgery token), waiting for and retried by p: give it
// DefaultConnectRetries.
func Connect(ctx context.Context, c Portal, p *pace.Pacer) error {
	_, err := p.Do(ctx, func() error { return c.Connect(ctx) })
	return err
}

// CheckSession proves that the portal accepts c's session for the app: the
// management page, then the smallest LoadDownloads call, each waiting for
// and retried by p (a session just captured after a second factor is not
// thrown away for one 502). A refusal is err. When the management page
// accepted the session and only the confirming listing failed, for a reason
// that is not the session, the session is accepted and warn says why.
func CheckSession(ctx context.Context, c Portal, p *pace.Pacer) (warn, err error) {
	if err := Connect(ctx, c, p); err != nil {
		return nil, err
	}
	if _, err := p.Do(ctx, func() error { _, err := c.LoadDownloads(ctx, 0, 1); return err }); err != nil {
		if errors.Is(err, portal.ErrNotSignedIn) {
			return nil, err
		}
		return err, nil
	}
	return nil, nil
}
