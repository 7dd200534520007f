package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// FieldType is a download member and the JSON types accepted for it.
type FieldType struct {
	Name  string
	Types []string
}

// KnownFields are the download members activator reads, with the JSON
// types it accepts for each (docs/portal.md): Id a string, OrgName a
// string, Approved and ECMId a number or a string.
var KnownFields = []FieldType{
	{"Id", []string{"string"}},
	{"OrgName", []string{"string"}},
	{"Approved", []string{"number", "string"}},
	{"ECMId", []string{"number", "string"}},
}

// DefaultUnknownStatusShare and DefaultUnknownStatusMin say when unknown
// Approved values are a portal change rather than a few declined
// organizations: on at least this share of the organizations, and at least
// this many. The portal's notes expect a few (the web page has a Decline
// button); a tenth of the list means the statuses changed meaning.
const (
	DefaultUnknownStatusShare = 0.10
	DefaultUnknownStatusMin   = 5
)

// Shape is what the LoadDownloads answers of a listing looked like: the
// members of the downloads and their JSON types, the Approved values and
// the Ids. The HTTP client records one as it lists (portalhttp's
// Client.Shape), at no extra call. It is safe for concurrent use.
type Shape struct {
	mu        sync.Mutex
	downloads int
	fields    map[string]map[string]int // member -> JSON type -> count
	approved  map[string]int            // Approved as written -> count
	badIDs    int                       // Ids not "{OrgId}_{AppId}" of the app
	badID     string                    // the first of them
}

// NewShape returns an empty Shape.
func NewShape() *Shape {
	return &Shape{fields: map[string]map[string]int{}, approved: map[string]int{}}
}

// Reset forgets what was observed.
func (s *Shape) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downloads, s.badIDs, s.badID = 0, 0, ""
	clear(s.fields)
	clear(s.approved)
}

// Downloads is how many downloads were observed.
func (s *Shape) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

// Observe records the Data member of one LoadDownloads answer for app.
// What is not an object with a Downloads array records nothing: the
// caller's parse reports it.
func (s *Shape) Observe(data json.RawMessage, app string) {
	var d struct {
		Downloads []map[string]json.RawMessage `json:"Downloads"`
	}
	if json.Unmarshal(data, &d) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dl := range d.Downloads {
		s.downloads++
		for k, v := range dl {
			if s.fields[k] == nil {
				s.fields[k] = map[string]int{}
			}
			s.fields[k][jsonType(v)]++
		}
		if v, ok := dl["Approved"]; ok {
			s.approved[string(bytes.TrimSpace(v))]++
		}
		var id string
		if json.Unmarshal(dl["Id"], &id) != nil || !idOfApp(id, app) {
			s.badIDs++
			if s.badID == "" {
				s.badID = strings.TrimSpace(string(dl["Id"]))
				if s.badID == "" {
					s.badID = "(none)"
				}
			}
		}
	}
}

func idOfApp(id, app string) bool {
	_, a, err := ParseID(id)
	return err == nil && (app == "" || a == app)
}

// jsonType names the JSON type of a raw value.
func jsonType(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "null"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// knownStatus reports whether an Approved value as written is 0, 1 or 3
// (as a number or a string of digits).
func knownStatus(raw string) bool {
	v := strings.Trim(raw, `"`)
	n, err := strconv.Atoi(v)
	return err == nil && Status(n).Known()
}

// Verdict is the outcome of one check of an assumption.
type Verdict int

// The verdicts, printed as "ok", "differs" and "unknown".
const (
	OK Verdict = iota
	Differs
	Unknown
)

func (v Verdict) String() string {
	switch v {
	case OK:
		return "ok"
	case Differs:
		return "differs"
	}
	return "unknown"
}

// Finding is one checked assumption of the portal protocol.
type Finding struct {
	Verdict Verdict
	// Topic names the assumption ("download fields"); Text says what was
	// seen; Fix, for a difference, what to do.
	Topic, Text, Fix string
	// Matters marks a difference that makes a mass run unsafe: activate
	// stops before its first ApproveDownload.
	Matters bool
}

// String is the finding as one line: verdict, topic, what was seen and
// what to do.
func (f Finding) String() string {
	line := fmt.Sprintf("%-7s %s: %s", f.Verdict, f.Topic, f.Text)
	if f.Fix != "" {
		line += " -> " + f.Fix
	}
	return line
}

// fixChanged is what to do when the listing no longer looks as assumed.
const fixChanged = "the portal changed its listing: do not run activate until activator is updated for it"

// Check compares the observed shape with what activator assumes of the
// listing (docs/portal.md), one finding per assumption: the fields and
// their types, the Ids, the fields activator does not use, the Approved
// values. An empty shape makes every finding unknown.
func (s *Shape) Check() []Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.downloads
	if n == 0 {
		return []Finding{{Verdict: Unknown, Topic: "download fields", Text: "the listing is empty, nothing to check",
			Fix: "check again once the portal lists an organization"}}
	}
	var out []Finding

	var seen, problems []string
	for _, k := range KnownFields {
		types := s.fields[k.Name]
		total := 0
		var bad []string
		for _, t := range sortedKeys(types) {
			total += types[t]
			if !slices.Contains(k.Types, t) {
				bad = append(bad, fmt.Sprintf("%s for %d", t, types[t]))
			}
		}
		if total < n {
			problems = append(problems, fmt.Sprintf("%s missing from %d of %d downloads", k.Name, n-total, n))
		}
		if len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("%s is %s (want %s)", k.Name, strings.Join(bad, ", "), strings.Join(k.Types, " or ")))
		}
		if total > 0 {
			seen = append(seen, k.Name+" "+strings.Join(sortedKeys(types), "/"))
		}
	}
	if len(problems) > 0 {
		out = append(out, Finding{Verdict: Differs, Topic: "download fields", Text: strings.Join(problems, "; "), Fix: fixChanged, Matters: true})
	} else {
		out = append(out, Finding{Verdict: OK, Topic: "download fields", Text: strings.Join(seen, ", ")})
	}

	if s.badIDs > 0 {
		out = append(out, Finding{Verdict: Differs, Topic: "Id", Matters: true, Fix: fixChanged,
			Text: fmt.Sprintf("%d of %d Ids are not {OrgId}_{AppId} of this app (first: %s)", s.badIDs, n, s.badID)})
	} else {
		out = append(out, Finding{Verdict: OK, Topic: "Id", Text: fmt.Sprintf("{OrgId}_{AppId} of this app in all %d", n)})
	}

	var other []string
	for _, k := range sortedKeys(s.fields) {
		if !slices.ContainsFunc(KnownFields, func(f FieldType) bool { return f.Name == k }) {
			other = append(other, k)
		}
	}
	if len(other) == 0 {
		other = []string{"none"}
	}
	out = append(out, Finding{Verdict: OK, Topic: "other fields (not used)", Text: strings.Join(other, ", ")})

	var known, unknown []string
	unknownOrgs := 0
	for _, v := range sortedStatuses(s.approved) {
		part := fmt.Sprintf("%s for %d", v, s.approved[v])
		if knownStatus(v) {
			known = append(known, part)
		} else {
			unknown = append(unknown, part)
			unknownOrgs += s.approved[v]
		}
	}
	text := strings.Join(known, ", ")
	if text == "" {
		text = "none of 0, 1, 3"
	}
	if len(unknown) > 0 {
		text += "; unknown: " + strings.Join(unknown, ", ") + " (never acted on)"
	}
	f := Finding{Verdict: OK, Topic: "Approved values", Text: text}
	if unknownOrgs >= DefaultUnknownStatusMin && float64(unknownOrgs) >= DefaultUnknownStatusShare*float64(n) {
		f.Verdict, f.Matters = Differs, true
		f.Text = fmt.Sprintf("%s; %d of %d organizations have a value outside 0/1/3", text, unknownOrgs, n)
		f.Fix = "the statuses may have changed meaning: do not run activate until activator is updated for them"
	}
	out = append(out, f)
	return out
}

// Fingerprint is the listing's shape as one line: each member with its
// JSON types, then the Approved values seen, for example
// "Approved:number ECMId:number Id:string OrgName:string | Approved 0 1 3".
// Two listings of the same shape have the same fingerprint whatever their
// organizations; the nightly run compares it with the last run's.
func (s *Shape) Fingerprint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.downloads == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(s.fields) {
		parts = append(parts, k+":"+strings.Join(sortedKeys(s.fields[k]), "/"))
	}
	return strings.Join(parts, " ") + " | Approved " + strings.Join(sortedStatuses(s.approved), " ")
}

// FingerprintChange describes how fingerprint after differs from before:
// members (with their types) that appeared (+) or went (-), and Approved
// values never seen before (+). A known value going away is the list's
// progress, not a change of the portal, and is not reported.
func FingerprintChange(before, after string) string {
	bf, bs, _ := strings.Cut(before, " | Approved ")
	af, as, _ := strings.Cut(after, " | Approved ")
	var parts []string
	diff := func(what, b, a string, gone bool) {
		bset, aset := strings.Fields(b), strings.Fields(a)
		var d []string
		for _, x := range aset {
			if !slices.Contains(bset, x) {
				d = append(d, "+"+x)
			}
		}
		for _, x := range bset {
			if gone && !slices.Contains(aset, x) {
				d = append(d, "-"+x)
			}
		}
		if len(d) > 0 {
			parts = append(parts, what+" "+strings.Join(d, " "))
		}
	}
	diff("fields", bf, af, true)
	diff("Approved values", bs, as, false)
	return strings.Join(parts, "; ")
}

// MergeFingerprint is after with the Approved values of before added, so
// the recorded fingerprint remembers every value ever seen and a value
// that comes back is not news.
func MergeFingerprint(before, after string) string {
	_, bs, _ := strings.Cut(before, " | Approved ")
	af, as, ok := strings.Cut(after, " | Approved ")
	if !ok {
		return after
	}
	vals := map[string]int{}
	for _, v := range strings.Fields(bs + " " + as) {
		vals[v] = 1
	}
	return af + " | Approved " + strings.Join(sortedStatuses(vals), " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sortedStatuses orders Approved values numerically first, then as text.
func sortedStatuses(m map[string]int) []string {
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int {
		na, ea := strconv.Atoi(a)
		nb, eb := strconv.Atoi(b)
		switch {
		case ea == nil && eb == nil:
			return na - nb
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// ShapeError stops a mass run before its first ApproveDownload: the
// listing it fetched differs from what activator assumes in a way that
// makes acting on it unsafe. Findings are the differences that matter,
// worded as `activator doctor` words them.
type ShapeError struct {
	Findings []Finding
}

func (e *ShapeError) Error() string {
	var parts []string
	for _, f := range e.Findings {
		parts = append(parts, f.Topic+": "+f.Text)
	}
	return "the portal's listing is not what activator assumes (" + strings.Join(parts, "; ") +
		"), so no organization was called: run `activator doctor` for every check, and do not activate until activator is updated for it"
}

// Stop returns a *ShapeError when the observed listing has a difference
// that matters (a missing field, an Id without the app id, unknown
// statuses on many organizations), else nil. It makes no call.
func (s *Shape) Stop() error {
	var stop []Finding
	for _, f := range s.Check() {
		if f.Verdict == Differs && f.Matters {
			stop = append(stop, f)
		}
	}
	if len(stop) == 0 {
		return nil
	}
	return &ShapeError{Findings: stop}
}
