package browser

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSignInFailed marks every error that means the browser did not reach a
// signed-in management page: wrong credentials, a missing one-time code, a
// window closed too early, a time-out. Retrying the same way cannot help; a
// person has to act.
var ErrSignInFailed = errors.New("sign-in failed")

// SignInError says why the sign-in did not complete. Reason never holds a
// password, a code, a cookie or a token: only what the portal showed and
// what to do about it.
type SignInError struct {
	Reason string
}

func (e *SignInError) Error() string { return "sign-in failed: " + e.Reason }

// Unwrap makes errors.Is(err, ErrSignInFailed) true.
func (e *SignInError) Unwrap() error { return ErrSignInFailed }

// ErrRenewImpossible means the browser profile no longer holds a session the
// portal accepts, so a sign-in without a person (or without credentials)
// cannot renew it.
var ErrRenewImpossible = errors.New("the browser profile cannot renew the session")

// RenewError says why a renewal from the profile failed.
type RenewError struct {
	Reason string
}

func (e *RenewError) Error() string {
	return "cannot renew the session from the browser profile (" + e.Reason + "): sign in again with `activator login`"
}

// Unwrap makes errors.Is(err, ErrRenewImpossible) true.
func (e *RenewError) Unwrap() error { return ErrRenewImpossible }

// InterruptedError is a sign-in stopped by the caller (Ctrl-C), naming what
// the browser showed at that moment.
type InterruptedError struct {
	// Showed describes the last page, its visible error and the portal's
	// last refusal.
	Showed string
	// Err is the caller's context error.
	Err error
}

func (e *InterruptedError) Error() string { return "sign-in interrupted: " + e.Showed }

// Unwrap returns the context error, so errors.Is(err, context.Canceled)
// holds.
func (e *InterruptedError) Unwrap() error { return e.Err }

// NoBrowserError means no Chromium or Chrome executable was found, or the
// one named does not exist or is not executable.
type NoBrowserError struct {
	// Named is what --browser gave, empty when the PATH was searched.
	Named string
	// Err is the underlying reason when Named was given.
	Err error
}

func (e *NoBrowserError) Error() string {
	if e.Named != "" {
		return fmt.Sprintf("browser %s cannot be used: %v (pass the path of Chromium or Chrome to --browser)", e.Named, e.Err)
	}
	return "no Chromium or Chrome found on PATH (looked for " + strings.Join(BrowserNames, ", ") +
		"): install one (Debian/Ubuntu: apt-get install chromium) or pass its path with --browser"
}

// Unwrap returns the underlying reason.
func (e *NoBrowserError) Unwrap() error { return e.Err }

// StartError means the browser executable exists but did not start, for
// example because a library it needs is missing.
type StartError struct {
	Path string
	Err  error
}

func (e *StartError) Error() string {
	why := strings.TrimSpace(strings.TrimSuffix(firstLine(e.Err.Error()), ":"))
	return fmt.Sprintf("the browser %s did not start (%s): check that it runs, or pass another one with --browser", e.Path, why)
}

// Unwrap returns the reason the browser gave.
func (e *StartError) Unwrap() error { return e.Err }

// ProfileInUseError means another running browser holds the profile
// directory's lock, so Chromium would hand the sign-in to that browser
// instead of starting.
type ProfileInUseError struct {
	Dir string
	// Host and PID are the lock's owner.
	Host string
	PID  int
}

func (e *ProfileInUseError) Error() string {
	return fmt.Sprintf("the browser profile %s is in use by another running browser (process %d on %s): close that browser, or pass another --profile", e.Dir, e.PID, e.Host)
}

// NoDisplayError means a visible window was asked for on a machine with no
// display.
type NoDisplayError struct{}

func (e *NoDisplayError) Error() string {
	return "signing in with a browser window needs a display, but DISPLAY and WAYLAND_DISPLAY are not set: " +
		"use `activator login --headless` (with ACTIVATOR_USERNAME and ACTIVATOR_PASSWORD), or pass a session with --cookie-file"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}
