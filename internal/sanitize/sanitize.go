// Package sanitize makes text from the portal and from key files safe for
// the places activator shows it: a terminal and a spreadsheet.
//
// Organization names, portal messages and key ids are data, never code. A
// terminal runs escape sequences (an org name could clear the screen or
// retitle the window) and a newline would forge a line of output; a
// spreadsheet runs a cell that starts with = + - @ as a formula. The
// database and JSON output keep such text exactly as it came: only what
// reaches a terminal or a CSV file is changed, and only as this package
// says.
package sanitize

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal returns s with every character a terminal would act on written
// as a visible escape: control characters (C0, DEL, C1: ESC, CR, newline,
// tab, backspace, ...) as \n, \r, \t or \xNN / \u0085, Unicode bidirectional
// controls (which reorder what is shown) as \u202e, and bytes that are not
// UTF-8 as \xNN. Everything else, including any other non-ASCII letter, is
// kept. A string with nothing to escape is returned unchanged.
func Terminal(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether Terminal has nothing to change in s.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return !anyUnsafe(s[i:])
		}
	}
	return true
}

func anyUnsafe(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return true
		}
		i += size
	}
	return false
}

// number is a cell a spreadsheet reads as a plain number, never a formula:
// a negative count or status stays a number.
var number = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]+)?$`)

// CSVCell neutralises a CSV cell by the OWASP rule for CSV injection: a
// cell that starts with = + - @ a tab or a carriage return gets a single
// quote in front, so a spreadsheet shows it as text instead of running it
// as a formula. Plain numbers (-1) are left alone. The CSV writer's quoting
// then takes care of commas, quotes and line breaks.
func CSVCell(s string) string {
	if s == "" || number.MatchString(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// CSVRow applies CSVCell to every cell of row, in place, and returns it.
func CSVRow(row []string) []string {
	for i, c := range row {
		row[i] = CSVCell(c)
	}
	return row
}

// Truncate cuts s to at most max bytes on a UTF-8 boundary. It reports
// whether anything was cut.
func Truncate(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}
