package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/activator-dev/activator/internal/sanitize"
)

// DefaultPageSize is how many downloads one LoadDownloads call asks for.
// The portal's own page uses 20; 100 keeps a 500-organization sync to six
// calls while keeping each answer small.
const DefaultPageSize = 100

// MaxPages bounds a listing: a portal that ignored the page parameter would
// otherwise be asked for ever.
const MaxPages = 10000

// Field sizes kept from a listing. Real values are far smaller; the bounds
// keep a hostile or broken answer (a 20 MB name) from filling the state
// database and the terminal. What is cut is said (Download.Cut).
const (
	// MaxNameBytes bounds an organization's name: real names are under a
	// hundred characters.
	MaxNameBytes = 1000
	// MaxIDBytes bounds a download Id and an ECMId, numbers of a few
	// digits. A longer Id is refused (it cannot be cut and stay an Id); a
	// longer ECMId is cut.
	MaxIDBytes = 64
	// MaxMessageBytes bounds a message of the portal's (a refusal, an
	// error), recorded per call.
	MaxMessageBytes = 2000
)

// CutText cuts s to max bytes on a character boundary, marking the cut
// with an ellipsis, and reports whether it cut.
func CutText(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	cut, _ := sanitize.Truncate(s, max-len("…"))
	return cut + "…", true
}

// Download is one organization's row on the management page.
type Download struct {
	// ID is the composite "{OrgId}_{AppId}".
	ID string
	// OrgID is the part of ID before the underscore: the id
	// ApproveDownload takes. There is no OrgId member in the answer.
	OrgID string
	// OrgName is the organization's display name.
	OrgName string
	// Approved is the status (StatusNotResponded, StatusEnabled,
	// StatusNonProdOnly, or a value this tool does not know).
	Approved Status
	// ECMId is a different identifier (the Brands bundle's
	// brand-identifier). Never send it as the OrgId.
	ECMId string
	// Cut says which fields were over their size limit and cut, e.g.
	// "name of 20 MB cut to 1000 bytes"; empty when none was.
	Cut []string
}

// flexString accepts a JSON string or number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("true")) || bytes.Equal(b, []byte("false")) {
		*f = flexString(b)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

type rawDownload struct {
	ID       flexString `json:"Id"`
	OrgName  string     `json:"OrgName"`
	Approved flexString `json:"Approved"`
	ECMId    flexString `json:"ECMId"`
}

// ParseID splits a composite download Id into OrgId and AppId.
func ParseID(id string) (orgID, appID string, err error) {
	org, app, ok := strings.Cut(id, "_")
	if !ok || org == "" || app == "" || !digits(org) {
		return "", "", fmt.Errorf("download Id %q is not of the form {OrgId}_{AppId}", id)
	}
	return org, app, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// ParseDownloads decodes the Data member of a LoadDownloads answer.
func ParseDownloads(data []byte, appID string) ([]Download, error) {
	var d struct {
		Downloads *[]rawDownload `json:"Downloads"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, &MalformedError{What: "LoadDownloads data: " + err.Error()}
	}
	if d.Downloads == nil {
		return nil, &MalformedError{What: "LoadDownloads answer has no Data.Downloads"}
	}
	out := make([]Download, 0, len(*d.Downloads))
	for i, r := range *d.Downloads {
		if len(r.ID) > MaxIDBytes {
			return nil, &MalformedError{What: fmt.Sprintf("download %d: an Id of %d bytes is not of the form {OrgId}_{AppId}", i, len(r.ID))}
		}
		org, app, err := ParseID(string(r.ID))
		if err != nil {
			return nil, &MalformedError{What: fmt.Sprintf("download %d: %v", i, err)}
		}
		if appID != "" && app != appID {
			return nil, &MalformedError{What: fmt.Sprintf("download %s belongs to app %s, not %s", r.ID, app, appID)}
		}
		st := StatusUnreadable
		if n, err := strconv.Atoi(string(r.Approved)); err == nil {
			st = Status(n)
		}
		// An unreadable value is unknown and never acted on; it must not
		// stop the listing of every other organization.
		dl := Download{ID: string(r.ID), OrgID: org, Approved: st}
		var cut bool
		if dl.OrgName, cut = CutText(r.OrgName, MaxNameBytes); cut {
			dl.Cut = append(dl.Cut, fmt.Sprintf("name of %s cut to %d bytes", Megabytes(int64(len(r.OrgName))), MaxNameBytes))
		}
		if dl.ECMId, cut = CutText(string(r.ECMId), MaxIDBytes); cut {
			dl.Cut = append(dl.Cut, fmt.Sprintf("ECMId of %d bytes cut to %d", len(r.ECMId), MaxIDBytes))
		}
		out = append(out, dl)
	}
	return out, nil
}

// PageFunc fetches one page; portalhttp's Client.LoadDownloads is one.
// Callers wrap it to pace and retry.
type PageFunc func(ctx context.Context, page, size int) ([]Download, error)

// MaxListRestarts is how often a listing starts over when the list shifted
// under it (an organization arrived mid-listing, moving later ones to the
// next page) before it gives up.
const MaxListRestarts = 3

// ListAll fetches pages until one comes back empty, calling onPage after
// each. It does not trust a short page to be the last (a portal that capped
// the page size below the one asked for would otherwise lose organizations:
// one extra call is cheap). When a page repeats an organization already
// listed, the list changed during the listing (or the portal ignored the
// page number): the listing starts over, at most MaxListRestarts times.
func ListAll(ctx context.Context, load PageFunc, size int, onPage func(page, got int)) ([]Download, error) {
	if size <= 0 {
		size = DefaultPageSize
	}
	var err error
	for try := 0; try <= MaxListRestarts; try++ {
		var all []Download
		all, err = listOnce(ctx, load, size, onPage)
		if err == nil {
			return all, nil
		}
		if _, shifted := err.(*shiftError); !shifted {
			return nil, err
		}
	}
	return nil, &MalformedError{What: err.Error() + ", after " + fmt.Sprint(MaxListRestarts) + " restarts: the portal ignored the page number, or the list kept changing"}
}

type shiftError struct{ page int }

func (e *shiftError) Error() string {
	return fmt.Sprintf("page %d repeats organizations already listed", e.page)
}

func listOnce(ctx context.Context, load PageFunc, size int, onPage func(page, got int)) ([]Download, error) {
	seen := make(map[string]bool)
	var all []Download
	for page := 0; page < MaxPages; page++ {
		ds, err := load(ctx, page, size)
		if err != nil {
			return nil, err
		}
		if onPage != nil {
			onPage(page, len(ds))
		}
		if len(ds) == 0 {
			return all, nil
		}
		for _, d := range ds {
			if seen[d.OrgID] {
				return nil, &shiftError{page: page}
			}
			seen[d.OrgID] = true
		}
		all = append(all, ds...)
	}
	return nil, &MalformedError{What: fmt.Sprintf("more than %d pages", MaxPages)}
}

// Megabytes writes n bytes in MB, to one decimal when under ten; under a
// megabyte, in bytes.
func Megabytes(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	mb := float64(n) / (1 << 20)
	if mb < 10 {
		return strconv.FormatFloat(mb, 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(mb, 'f', 0, 64) + " MB"
}
