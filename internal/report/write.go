package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Report formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatHTML = "html"
)

// Formats lists the formats Write accepts.
var Formats = []string{FormatCSV, FormatJSON, FormatHTML}

// FileMode is the report file's mode: a report holds no secret (no cookie,
// token or private key ever reaches it), and it is meant to be shared.
const FileMode fs.FileMode = 0o644

// ErrNoDir is returned when the output file's directory does not exist.
var ErrNoDir = errors.New("directory does not exist")

// Write renders r in format to w.
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case FormatCSV:
		return WriteCSV(w, r)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatHTML:
		return WriteHTML(w, r)
	}
	return fmt.Errorf("unknown report format %q (use %s)", format, strings.Join(Formats, ", "))
}

// WriteFile writes the report to path atomically: into a temporary file
// beside it, synced, then renamed over it, so a reader (or a web server
// publishing the file) never sees half a report, and a failed write leaves
// the previous report in place.
func WriteFile(path, format string, r *Report) (err error) {
	dir := filepath.Dir(path)
	if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
		return fmt.Errorf("write %s: %s: %w", path, dir, ErrNoDir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriter(f)
	if err = Write(bw, format, r); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(FileMode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes the whole report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the report's CSV header: one column per field of a row,
// lists joined by spaces, times in RFC 3339 (UTC), empty when unknown.
var CSVHeader = []string{
	"orgId", "name", "ecmId", "status", "statusName", "listed", "goneSince",
	"mode", "nonProdMode", "prodMode", "kids", "nonProdThumbprints", "prodThumbprints", "lastUploadRun",
	"lastChangeAt", "lastChange", "attention", "lastErrorResult", "lastError", "lastErrorSince",
	"onJwkSetUrl", "fhirBaseUrls",
}

// WriteCSV writes one row per organization.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, o := range r.Orgs {
		if err := cw.Write(csvRow(o)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(o Org) []string {
	mode := func(u *Upload) string {
		if u == nil {
			return ModeNone
		}
		return u.Mode
	}
	thumbs := func(u *Upload) string {
		if u == nil {
			return ""
		}
		return strings.Join(u.Thumbprints, " ")
	}
	var lastRun int64
	for _, u := range []*Upload{o.NonProd, o.Prod} {
		if u != nil && u.RunID > lastRun {
			lastRun = u.RunID
		}
	}
	row := []string{
		o.OrgID, o.Name, o.ECMId, strconv.Itoa(o.Status), o.StatusName, strconv.FormatBool(o.Listed), timeCell(o.GoneSince),
		o.Mode, mode(o.NonProd), mode(o.Prod), strings.Join(o.Kids, " "), thumbs(o.NonProd), thumbs(o.Prod), "",
		"", "", o.Attention, "", "", "",
		strconv.FormatBool(o.OnJWKSetURL), strings.Join(o.FHIRBaseURLs, " "),
	}
	if lastRun > 0 {
		row[13] = strconv.FormatInt(lastRun, 10)
	}
	if o.LastChange != nil {
		row[14], row[15] = timeCell(&o.LastChange.At), o.LastChange.What
	}
	if o.LastError != nil {
		row[17], row[18], row[19] = o.LastError.Result, o.LastError.Message, timeCell(o.LastError.Since)
	}
	return row
}

func timeCell(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
