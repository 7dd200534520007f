package portal

import (
	"slices"
	"testing"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		s                      Status
		known, activated, prod bool
		class, name, phrase    string
	}{
		{StatusNotResponded, true, false, false, ClassNotResponded, "not-responded", "not responded"},
		{StatusEnabled, true, true, true, ClassEnabled, "enabled", "keys enabled"},
		{StatusNonProdOnly, true, true, false, ClassNonProdOnly, "nonprod-only", "non-production only"},
		{2, false, false, false, ClassUnknown, "unknown(2)", "status 2"},
		{StatusUnreadable, false, false, false, ClassUnknown, "unknown(-1)", "status -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.s.Known() != tt.known || tt.s.Activated() != tt.activated || tt.s.NonProdEnabled() != tt.activated || tt.s.ProdEnabled() != tt.prod {
				t.Errorf("known %v activated %v prod %v, want %v %v %v", tt.s.Known(), tt.s.Activated(), tt.s.ProdEnabled(), tt.known, tt.activated, tt.prod)
			}
			if tt.s.Class() != tt.class || tt.s.String() != tt.name || tt.s.Phrase() != tt.phrase {
				t.Errorf("class %q name %q phrase %q, want %q %q %q", tt.s.Class(), tt.s.String(), tt.s.Phrase(), tt.class, tt.name, tt.phrase)
			}
			if got, err := ParseStatus(tt.s.String()); err != nil || got != tt.s {
				t.Errorf("ParseStatus(%q) = %v, %v: String does not read back", tt.s.String(), got, err)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in   string
		want Status
		ok   bool
	}{
		{"not-responded", StatusNotResponded, true}, {"pending", StatusNotResponded, true}, {"0", StatusNotResponded, true},
		{"Enabled", StatusEnabled, true}, {" 1 ", StatusEnabled, true},
		{"nonprod", StatusNonProdOnly, true}, {"NONPROD-ONLY", StatusNonProdOnly, true},
		{"7", 7, true}, {"unknown(7)", 7, true},
		{"unknown", 0, false}, {"declined", 0, false}, {"", 0, false}, {"1.5", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseStatus(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseStatus(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCompareStatus(t *testing.T) {
	got := []Status{9, StatusNotResponded, -1, StatusNonProdOnly, 2, StatusEnabled}
	slices.SortFunc(got, CompareStatus)
	want := []Status{StatusEnabled, StatusNonProdOnly, StatusNotResponded, -1, 2, 9}
	if !slices.Equal(got, want) {
		t.Fatalf("sorted %v, want %v", got, want)
	}
	var classes []string
	for _, s := range KnownStatuses {
		classes = append(classes, s.Class())
	}
	if !slices.Equal(append(classes, ClassUnknown), Classes) {
		t.Errorf("Classes %v do not follow KnownStatuses %v", Classes, classes)
	}
}

func TestCountedStatuses(t *testing.T) {
	tests := []struct {
		name   string
		counts map[int]int
		want   []Status
	}{
		{"none counted", nil, KnownStatuses},
		{"known only", map[int]int{0: 3, 1: 2}, KnownStatuses},
		{"unknown after known, ascending", map[int]int{9: 1, 1: 4, 2: 1, -1: 2},
			[]Status{StatusEnabled, StatusNonProdOnly, StatusNotResponded, -1, 2, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountedStatuses(tt.counts); !slices.Equal(got, tt.want) {
				t.Errorf("CountedStatuses(%v) = %v, want %v", tt.counts, got, tt.want)
			}
		})
	}
}
