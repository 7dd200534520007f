package portal

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Status is an organization's status on the management page: a download's
// Approved value. Only three values are known; any other (the web page has
// a Decline button, for one) is unknown and never acted on.
type Status int

// The known statuses, and the stand-in for an unreadable one.
const (
	StatusNotResponded Status = 0 // the app waits for activation
	StatusEnabled      Status = 1 // keys enabled in both environments
	StatusNonProdOnly  Status = 3 // non-production enabled, production not
	// StatusUnreadable stands for an Approved value that is not a number
	// (null, a word): unknown, like any value this tool does not know.
	StatusUnreadable Status = -1
)

// Status classes group statuses for reports (colours, chart series): each
// known status is its own class, named as the status is; every other value
// is ClassUnknown.
const (
	ClassEnabled      = "enabled"
	ClassNonProdOnly  = "nonprod-only"
	ClassNotResponded = "not-responded"
	ClassUnknown      = "unknown"
)

// KnownStatuses are the statuses activator acts on, in the order every
// list of statuses shows them: the furthest along first.
var KnownStatuses = []Status{StatusEnabled, StatusNonProdOnly, StatusNotResponded}

// Classes are the status classes in the same order, ClassUnknown last.
var Classes = []string{ClassEnabled, ClassNonProdOnly, ClassNotResponded, ClassUnknown}

// Known reports whether activator knows what s means.
func (s Status) Known() bool {
	return s == StatusNotResponded || s == StatusEnabled || s == StatusNonProdOnly
}

// Activated reports whether s shows the app enabled at the organization in
// at least one environment.
func (s Status) Activated() bool { return s.NonProdEnabled() || s.ProdEnabled() }

// NonProdEnabled reports whether s shows non-production enabled: keys
// enabled and non-production only do.
func (s Status) NonProdEnabled() bool { return s == StatusEnabled || s == StatusNonProdOnly }

// ProdEnabled reports whether s shows production enabled: only keys
// enabled does (non-production only does not).
func (s Status) ProdEnabled() bool { return s == StatusEnabled }

// Class is s's status class.
func (s Status) Class() string {
	switch s {
	case StatusEnabled:
		return ClassEnabled
	case StatusNonProdOnly:
		return ClassNonProdOnly
	case StatusNotResponded:
		return ClassNotResponded
	}
	return ClassUnknown
}

// String is s's name in every output: its class when known
// ("nonprod-only"), else "unknown(N)". ParseStatus reads it back.
func (s Status) String() string {
	if s.Known() {
		return s.Class()
	}
	return "unknown(" + strconv.Itoa(int(s)) + ")"
}

// Phrase is s in a sentence: "keys enabled", "non-production only", "not
// responded", or "status N".
func (s Status) Phrase() string {
	switch s {
	case StatusEnabled:
		return "keys enabled"
	case StatusNonProdOnly:
		return "non-production only"
	case StatusNotResponded:
		return "not responded"
	}
	return "status " + strconv.Itoa(int(s))
}

// ParseStatus reads a status given by name (as String writes it, or the
// aliases "pending" and "nonprod") or by number, in any letter case.
func ParseStatus(v string) (Status, error) {
	t := strings.ToLower(strings.TrimSpace(v))
	switch t {
	case ClassNotResponded, "pending":
		return StatusNotResponded, nil
	case ClassEnabled:
		return StatusEnabled, nil
	case ClassNonProdOnly, "nonprod":
		return StatusNonProdOnly, nil
	}
	if inner, ok := strings.CutPrefix(t, "unknown("); ok {
		t = strings.TrimSuffix(inner, ")")
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return 0, fmt.Errorf("status %q is not one of %s, %s, %s (or a number)", v, ClassNotResponded, ClassEnabled, ClassNonProdOnly)
	}
	return Status(n), nil
}

// CompareStatus orders statuses as lists show them: the known ones in
// KnownStatuses order, then the unknown values ascending.
func CompareStatus(a, b Status) int {
	ia, ib := slices.Index(KnownStatuses, a), slices.Index(KnownStatuses, b)
	switch {
	case ia >= 0 && ib >= 0:
		return cmp.Compare(ia, ib)
	case ia >= 0:
		return -1
	case ib >= 0:
		return 1
	}
	return cmp.Compare(a, b)
}

// CountedStatuses returns the statuses of counts (keyed by status value)
// in list order: the known ones always, then any unknown one present.
func CountedStatuses(counts map[int]int) []Status {
	keys := slices.Clone(KnownStatuses)
	for s := range counts {
		if !Status(s).Known() {
			keys = append(keys, Status(s))
		}
	}
	slices.SortFunc(keys, CompareStatus)
	return keys
}
