package portal

import (
	"slices"
	"testing"
)

func TestCompareOrgID(t *testing.T) {
	ids := []string{"abc", "10", "", "9", "007", "7", "99999999999999999999", "100000000000000000000", "12a", "-5", "0", "A", " 7", "1.5"}
	slices.SortFunc(ids, CompareOrgID)
	want := []string{"0", "007", "7", "9", "10", "99999999999999999999", "100000000000000000000", "", " 7", "-5", "1.5", "12a", "A", "abc"}
	if !slices.Equal(ids, want) {
		t.Fatalf("sorted\n%q\nwant\n%q", ids, want)
	}
	for _, a := range want {
		for _, b := range want {
			if CompareOrgID(a, b) != -CompareOrgID(b, a) || (CompareOrgID(a, b) == 0) != (a == b) {
				t.Fatalf("CompareOrgID(%q, %q) = %d, (%q, %q) = %d", a, b, CompareOrgID(a, b), b, a, CompareOrgID(b, a))
			}
		}
	}
}
