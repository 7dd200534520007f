package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/activator-dev/activator/internal/sanitize"
)

// printable makes text from the portal or a key file printable on a terminal
// (see sanitize.Terminal); the database and JSON keep it exact.
func printable(s string) string { return sanitize.Terminal(s) }

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns for people or CSV for scripts, from the same
// header and rows. Cells are data from the portal or a key file: in CSV each
// is neutralised against formula injection, in columns each is made
// printable (sanitize.Terminal), so a name can neither run in a spreadsheet
// nor drive a terminal or forge a row.
type table struct {
	w      io.Writer
	csv    bool
	header []string
	rows   [][]string
}

func newTable(w io.Writer, csvOut bool, header ...string) *table {
	return &table{w: w, csv: csvOut, header: header}
}

func (t *table) add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	t.rows = append(t.rows, row)
}

func (t *table) flush() error {
	if t.csv {
		cw := csv.NewWriter(t.w)
		if err := cw.Write(t.header); err != nil {
			return err
		}
		for _, r := range t.rows {
			if err := cw.Write(sanitize.CSVRow(r)); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = sanitize.Terminal(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// An empty last cell would end its line with padding spaces.
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, l := range lines {
		if body, ok := strings.CutSuffix(l, "\n"); ok {
			lines[i] = strings.TrimRight(body, " ") + "\n"
		}
	}
	_, err := io.WriteString(t.w, strings.Join(lines, ""))
	return err
}

// plural returns "1 org" or "2 orgs".
// perSecond says a rate: "1 request a second", "2.5 requests a second".
func perSecond(rate float64, word string) string {
	if rate == 1 {
		return fmt.Sprintf("1 %s a second", word)
	}
	return fmt.Sprintf("%g %ss a second", rate, word)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
