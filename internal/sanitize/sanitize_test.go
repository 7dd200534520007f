package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTerminal(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Brown University Health", "Brown University Health"},
		{"accents kept", "Cañon City Ærø 病院", "Cañon City Ærø 病院"},
		{"clear screen", "Evil\x1b[2J\x1b[H Org", `Evil\x1b[2J\x1b[H Org`},
		{"window title", "\x1b]0;pwned\x07x", `\x1b]0;pwned\x07x`},
		{"newline forges a line", "A\nactivator: all done", `A\nactivator: all done`},
		{"carriage return overwrites", "ok\rFAILED", `ok\rFAILED`},
		{"tab", "a\tb", `a\tb`},
		{"delete and backspace", "a\x7fb\bc", `a\x7fb\x08c`},
		{"C1 CSI", "a\u009b2Jb", `a\u009b2Jb`},
		{"bidi override", "abc\u202edcb", `abc\u202edcb`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Terminal(tt.in)
			if got != tt.want {
				t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.ContainsAny(got, "\x1b\n\r\t\x07\x7f") || !utf8.ValidString(got) {
				t.Errorf("Terminal(%q) = %q still holds a control character", tt.in, got)
			}
		})
	}
}

func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{`=HYPERLINK("http://evil","x")`, `'=HYPERLINK("http://evil","x")`},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\tTab", "'\tTab"},
		{"\rCR", "'\rCR"},
		{"-1", "-1"},
		{"3.5", "3.5"},
		{"+7", "+7"},
		{"Mercy Hospital", "Mercy Hospital"},
		{"", ""},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in      string
		max     int
		want    string
		wantCut bool
	}{
		{"short", 10, "short", false},
		{"exactly", 7, "exactly", false},
		{"abcdef", 3, "abc", true},
		{"aé", 2, "a", true}, // é is two bytes: never cut in half
		{"病院", 4, "病", true},
	}
	for _, tt := range tests {
		got, cut := Truncate(tt.in, tt.max)
		if got != tt.want || cut != tt.wantCut || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, %v; want %q, %v", tt.in, tt.max, got, cut, tt.want, tt.wantCut)
		}
	}
}

func FuzzTerminal(f *testing.F) {
	f.Add("Evil\x1b[2J\nOrg\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		got := Terminal(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control %U left in %q", r, got)
			}
		}
	})
}
