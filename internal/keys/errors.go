package keys

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// InputError reports a key document or key source that cannot be used as given.
// Its message is one line naming the problem and the fix, so that the command
// line can print it as-is and exit with the "bad input" code instead of treating
// it as a failure of the portal or of the network.
type InputError struct {
	// Msg is the complete one-line message: the problem, then the fix.
	Msg string
}

// Error returns the one-line message.
func (e *InputError) Error() string { return e.Msg }

// inputErrorf builds an *InputError from a format string.
func inputErrorf(format string, args ...any) *InputError {
	return &InputError{Msg: sprintfOneLine(format, args...)}
}

// sprintfOneLine formats like fmt.Sprintf and then folds any line breaks or
// other control characters (which can come from a hostile kid or URL) into
// spaces, so that every message stays on one line.
func sprintfOneLine(format string, args ...any) string {
	return oneLine(fmt.Sprintf(format, args...))
}

// oneLine replaces control characters with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// quote renders a value taken from an untrusted document for a message: quoted,
// one line, and cut to a readable length.
func quote(s string) string {
	const max = DefaultMaxQuoted
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(oneLine(s))
}

// DefaultMaxQuoted bounds how much of an untrusted value (a kid, an alg, a URL)
// is repeated in a message, so that a crafted document cannot flood the output.
const DefaultMaxQuoted = 80
