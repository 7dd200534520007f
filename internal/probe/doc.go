// Package probe asks each organization's authorization server whether it
// knows the app, without a patient signing in.
//
// For each organization it sends a SMART standalone-launch authorize
// request twice: once with the app's client id and once with a random
// client id that no server knows (the control). Both are GET page loads;
// nothing is ever submitted, redirects are followed only within the
// organization's own hosts, and never to the app's redirect URI. What
// comes back (status, where the redirects end, error parameters, page
// title, whether a sign-in form is there) is compared, and the
// organization is classified by the difference:
//
//   - live: the app's answer differs from the control's the way a known
//     client's does (the app reaches a sign-in page or is handed on to a
//     sign-in host; the control gets an error);
//   - not-known: the same answer as the control: the server does not
//     know the app's client id (yet);
//   - inconclusive: the server answers both alike without an error (it
//     checks clients only after sign-in, or hands both to a shared
//     identity host the probe does not follow), or differently in a way
//     that says nothing;
//   - unreachable: no answer within the time limit;
//   - error: the server failed (5xx), or it answered the app with an
//     error of its own (a redirect URI or scope it refuses).
//
// What the probe can tell: whether the organization's authorization
// server knows the app's client id. What it cannot tell: whether the
// uploaded keys are valid (a server checks them only when a token is
// requested), whether a patient can finish signing in, or anything a
// server decides after sign-in.
package probe
