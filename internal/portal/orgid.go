package portal

import "strings"

// CompareOrgID orders OrgIds as the portal lists them: numeric ids (ASCII
// digits only) by value, whatever their length, then any other id as text.
// Equal values written differently ("007", "7") are ordered as text. Every
// list of organizations uses it, and the store's ORDER BY agrees with it
// (a store test checks). ECMIds, numbers too, are ordered the same way.
func CompareOrgID(a, b string) int {
	na, nb := digits(a), digits(b)
	switch {
	case na && nb:
		ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(ta) != len(tb) {
			if len(ta) < len(tb) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(ta, tb); c != 0 {
			return c
		}
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}
