package diag

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Key changes take this long, at most, to reach an organization: the
// portal documents 12 hours for production and 60 minutes for the sandbox
// (non-production).
const (
	DefaultProdKeyDelay    = 12 * time.Hour
	DefaultSandboxKeyDelay = 60 * time.Minute
)

// Upload is what the state database says activator uploaded to the
// organization a token URL belongs to: evidence for a bare refusal that
// no local check has.
type Upload struct {
	// OrgID names the organization in messages.
	OrgID string
	// Direct is set when the organization was given the keys themselves
	// (direct JWKS), not the app's JWK Set URL.
	Direct bool
	// At is when the keys were last uploaded there.
	At time.Time
	// Thumbprints are the RFC 7638 thumbprints of the uploaded keys.
	Thumbprints []string
	// SigningKey is the RFC 7638 thumbprint of the key the assertion was
	// signed with.
	SigningKey string
	// Now is when the token was refused.
	Now time.Time
}

// signingKeyUploaded reports whether the signing key is among the
// uploaded keys.
func (u *Upload) signingKeyUploaded() bool {
	return u.SigningKey == "" || slices.Contains(u.Thumbprints, u.SigningKey)
}

// ago says how long ago the upload was, to the minute.
func (u *Upload) ago() time.Duration {
	d := u.Now.Sub(u.At).Truncate(time.Minute)
	if d < 0 {
		return 0
	}
	return d
}

// inWindow reports whether a key change at u.At may still be on its way.
func (u *Upload) inWindow() bool { return u.Now.Sub(u.At) < DefaultProdKeyDelay }

// uploadCauses are the causes the stored upload points to, and whether
// the guesses that an organization holding uploaded keys rules out (the
// JWK Set URL, keys never uploaded) are to be dropped.
func uploadCauses(u *Upload) (causes []Cause, direct bool) {
	if u == nil || !u.Direct {
		return nil, false
	}
	if !u.signingKeyUploaded() {
		causes = append(causes, Cause{Likelihood: LikelihoodCertain,
			Cause: fmt.Sprintf("the signing key is not among the keys uploaded to this organization (%s, %s ago by activator)", u.OrgID, agoString(u.ago())),
			Fix:   fmt.Sprintf("sign with the private key of an uploaded key, or upload this key's public key (activator activate --jwks FILE --reactivate --org %s) and wait for it to sync", u.OrgID)})
	}
	if u.inWindow() {
		causes = append(causes, Cause{Likelihood: LikelihoodLikely,
			Cause: fmt.Sprintf("the keys uploaded to this organization (%s) %s ago have not reached it yet: %s", u.OrgID, agoString(u.ago()), windowsLeft(u.Now.Sub(u.At))),
			Fix:   "wait, then try again; nothing needs uploading again"})
	}
	return causes, true
}

// windowsLeft says how much of the documented windows is left after age.
func windowsLeft(age time.Duration) string {
	var parts []string
	if left := DefaultSandboxKeyDelay - age; left > 0 {
		parts = append(parts, fmt.Sprintf("up to %s more for the sandbox (60 minutes)", agoString(ceilMinute(left))))
	} else {
		parts = append(parts, "the sandbox's 60 minutes have passed")
	}
	parts = append(parts, fmt.Sprintf("up to %s more for production (12 hours)", agoString(ceilMinute(DefaultProdKeyDelay-age))))
	return strings.Join(parts, ", ")
}

// ceilMinute rounds d up to the minute: what is left "up to".
func ceilMinute(d time.Duration) time.Duration {
	return (d + time.Minute - 1).Truncate(time.Minute)
}

// agoString prints a duration to the minute: "4 minutes", "12h", "3h20m".
func agoString(d time.Duration) string {
	switch m := int(d / time.Minute); {
	case m < 1:
		return "less than a minute"
	case m == 1:
		return "1 minute"
	case m <= 60:
		return fmt.Sprintf("%d minutes", m)
	case m%60 == 0:
		return fmt.Sprintf("%dh", m/60)
	default:
		return fmt.Sprintf("%dh%dm", m/60, m%60)
	}
}
