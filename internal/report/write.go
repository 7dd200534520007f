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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/activator-dev/activator/internal/sanitize"
)

// Report formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatHTML = "html"
)

// Formats lists the formats Write accepts.
var Formats = []string{FormatCSV, FormatJSON, FormatHTML}

// FileMode is the mode of a new report file: a report holds no secret (no
// cookie, token or private key ever reaches it), and it is meant to be
// shared. A report written over an existing file keeps that file's mode.
const FileMode fs.FileMode = 0o644

// ErrNoDir is returned when the output file's directory does not exist.
var ErrNoDir = errors.New("directory does not exist")

// ErrIsDir is returned when the output path is a directory.
var ErrIsDir = errors.New("is a directory")

// ErrNotRegular is returned when the output path is neither a regular file,
// a character device nor a FIFO (a socket, a block device): a report is
// never written over it or in its place.
var ErrNotRegular = errors.New("is not a regular file, a character device or a FIFO")

// maxLinks bounds how many symbolic links WriteFile follows, as the kernel
// does (ELOOP at 40).
const maxLinks = 40

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

// WriteFile writes the report to path. What path is decides how:
//
//   - a regular file, or no file yet: atomically, into a temporary file
//     beside it, synced, then renamed over it, so a reader (or a web server
//     publishing the file) never sees half a report and a failed write
//     leaves the previous report in place. An existing file keeps its mode.
//   - a symbolic link: the same, to the file it points to; the link stays.
//   - a character device or a FIFO (/dev/stdout, a named pipe): written to
//     directly; it is never replaced.
//   - a directory, or anything else: refused (ErrIsDir, ErrNotRegular).
func WriteFile(path, format string, r *Report) error {
	if !slices.Contains(Formats, format) {
		return fmt.Errorf("write %s: unknown report format %q (use %s)", path, format, strings.Join(Formats, ", "))
	}
	st, err := os.Stat(path) // follows links
	switch {
	case errors.Is(err, fs.ErrNotExist):
		target, lerr := linkTarget(path)
		if lerr != nil {
			return fmt.Errorf("write %s: %w", path, lerr)
		}
		return writeAtomic(path, target, format, r, FileMode, nil)
	case err != nil:
		return fmt.Errorf("write %s: %w", path, err)
	case st.IsDir():
		return fmt.Errorf("write %s: %w", path, ErrIsDir)
	case st.Mode()&(fs.ModeCharDevice|fs.ModeNamedPipe) != 0:
		return writeDirect(path, format, r)
	case !st.Mode().IsRegular():
		return fmt.Errorf("write %s: %w", path, ErrNotRegular)
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeAtomic(path, target, format, r, st.Mode().Perm(), st)
}

// linkTarget follows the symbolic links at path to the name a new file
// should get; path itself when it is not a link.
func linkTarget(path string) (string, error) {
	for range maxLinks {
		st, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		to, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(path), to)
		}
		path = to
	}
	return "", fmt.Errorf("more than %d symbolic links", maxLinks)
}

// writeDirect writes the report straight into a device or a FIFO.
func writeDirect(path, format string, r *Report) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	bw := bufio.NewWriter(f)
	err = Write(bw, format, r)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeAtomic writes the report to a temporary file beside target and
// renames it over target. old is target's previous state, nil when new.
func writeAtomic(path, target, format string, r *Report, mode fs.FileMode, old fs.FileInfo) (err error) {
	dir := filepath.Dir(target)
	if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
		return fmt.Errorf("write %s: %s: %w", path, dir, ErrNoDir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*.tmp")
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
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	keepOwner(f, old)
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, target); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// keepOwner gives the new file the previous one's owner and group, which
// only root may do (and only root writing over another user's report
// needs); anyone else's attempt fails harmlessly.
func keepOwner(f *os.File, old fs.FileInfo) {
	if old == nil {
		return
	}
	if st, ok := old.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
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
	"onJwkSetUrl", "fhirBaseUrls", "probe", "probedAt", "probeEvidence",
}

// WriteCSV writes one row per organization. Every cell is neutralised
// against formula injection (sanitize.CSVCell: a cell starting with = + -
// @, a tab or a carriage return gets a leading single quote).
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, o := range r.Orgs {
		if err := cw.Write(sanitize.CSVRow(csvRow(o))); err != nil {
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
		strconv.FormatBool(o.OnJWKSetURL), strings.Join(o.FHIRBaseURLs, " "), "", "", "",
	}
	if o.Probe != nil {
		row[22], row[23], row[24] = o.Probe.Class, timeCell(&o.Probe.At), o.Probe.Evidence
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
