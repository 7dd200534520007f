package report

import (
	_ "embed" // the page template
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

//go:embed report.html.tmpl
var pageTemplate string

// page is parsed once: a template error is a bug caught by any test.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"when":        when,
	"f1":          func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"addf":        func(a, b float64) float64 { return a + b },
	"mulf":        func(a, b float64) float64 { return a * b },
	"float":       func(n int) float64 { return float64(n) },
	"join":        strings.Join,
	"modeText":    ModeText,
	"plural":      plural,
	"reasonText":  reasonText,
	"jkuText":     jkuText,
	"statusClass": func(s int) string { return portal.Status(s).Class() },
	"keysCell":    keysCell,
	"hours":       hours,
}).Parse(pageTemplate))

// Tile is one of the summary numbers at the top of the page.
type Tile struct {
	// Status is the status class for a status tile; Key names the other
	// tiles (attention, jku, gone). The page carries both as data-
	// attributes, with the count, so the numbers can be checked.
	Status, Key string
	Label       string
	Note        string
	Count       int
}

type pageData struct {
	*Report
	Chart  *Chart
	Tiles  []Tile
	Legend []Tile
	// ShowURLs adds the FHIR base URL column: with no Brands bundle
	// imported it would be empty.
	ShowURLs bool
}

// classLabels are the words for each status class on the page.
var classLabels = map[string][2]string{
	portal.ClassEnabled:      {"Keys enabled", "both environments"},
	portal.ClassNonProdOnly:  {"Non-production only", "production not yet enabled"},
	portal.ClassNotResponded: {"Not responded", "waiting for activation"},
	portal.ClassUnknown:      {"Unknown status", "never acted on"},
}

// WriteHTML writes the report as one self-contained page: inline CSS and
// SVG, no script, no external request.
func WriteHTML(w io.Writer, r *Report) error {
	d := pageData{Report: r, Chart: NewChart(r.History), ShowURLs: r.Brands != nil}
	for _, o := range r.Orgs {
		d.ShowURLs = d.ShowURLs || len(o.FHIRBaseURLs) > 0
	}
	for _, class := range portal.Classes {
		l := classLabels[class]
		t := Tile{Status: class, Label: l[0], Note: l[1], Count: ClassCount(r.Counts, class)}
		d.Legend = append(d.Legend, t)
		if class == portal.ClassUnknown && t.Count == 0 {
			continue
		}
		d.Tiles = append(d.Tiles, t)
	}
	d.Tiles = append(d.Tiles,
		Tile{Key: "attention", Label: "Needing attention", Note: "refused, mismatched, failed or unknown", Count: len(r.Attention)},
		Tile{Key: "jku", Label: "Keys not uploaded by activator", Note: "enabled: JWK Set URL, or keys entered by hand", Count: len(r.JWKSetURL)})
	if r.Gone > 0 {
		d.Tiles = append(d.Tiles, Tile{Key: "gone", Label: "No longer listed", Note: "seen before, gone now", Count: r.Gone})
	}
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("render HTML report: %w", err)
	}
	return nil
}

// when formats a time (or a *time.Time) the way every output of the report
// does: UTC, to the minute.
func when(v any) string {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if t == nil {
			return ""
		}
		return when(*t)
	}
	return ""
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// reasonText says why an organization needs attention.
func reasonText(reason string) string {
	switch reason {
	case ReasonRefused:
		return "refused by the organization"
	case ReasonMismatch:
		return "status mismatch after activation"
	case ReasonFailed:
		return "call failed"
	case ReasonUnknown:
		return "unknown status"
	case ReasonPending:
		return "outcome unknown"
	}
	return reason
}

// jkuText says what is known of an organization enabled without keys
// uploaded by activator.
func jkuText(j JKUOrg) string {
	if j.Reason == JKUUploaded {
		return fmt.Sprintf("last upload used the JWK Set URL (run %d)", j.RunID)
	}
	return NoUploadText
}

// keysCell names the keys an organization holds, one line per
// environment when the two differ.
func keysCell(o Org) []string {
	kids := func(u *Upload) string {
		if u == nil || u.Mode != ModeJWKS {
			return ""
		}
		return strings.Join(u.Kids, ", ")
	}
	np, p := kids(o.NonProd), kids(o.Prod)
	switch {
	case np == p && np == "":
		return nil
	case np == p:
		return []string{np}
	case np == "":
		return []string{"prod: " + p}
	case p == "":
		return []string{"non-prod: " + np}
	}
	return []string{"non-prod: " + np, "prod: " + p}
}

// hours says a number of hours for a person: "30 h", or days past two.
func hours(h float64) string {
	if h >= 48 {
		return fmt.Sprintf("%.1f days", h/24)
	}
	return fmt.Sprintf("%.0f h", h)
}
