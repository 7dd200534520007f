package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrCorrupt is returned when the state database fails SQLite's
// quick_check or a read finds a malformed page. The file is left as it was,
// and no portal call is made on it.
var ErrCorrupt = errors.New("the state database is corrupt")

// DefaultCheckProblems is how many of quick_check's findings are kept: the
// first says what is wrong; a badly damaged file lists thousands.
const DefaultCheckProblems = 10

// CheckResult is what Check found.
type CheckResult struct {
	Path     string
	OK       bool
	Problems []string // quick_check's findings, at most DefaultCheckProblems
	Pages    int64
	Bytes    int64
	Schema   int
}

// Check runs SQLite's quick_check over the whole database (every page's
// structure, every index's ordering; not the index contents, which
// integrity_check adds at several times the cost). It reads only.
func (s *Store) Check(ctx context.Context) (*CheckResult, error) {
	problems, err := s.quickCheck(ctx)
	if err != nil {
		return nil, err
	}
	r := &CheckResult{Path: s.path, OK: len(problems) == 0, Problems: problems}
	var size int64
	_ = s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&r.Pages)
	_ = s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size)
	r.Bytes = r.Pages * size
	r.Schema, _ = s.schemaVersion(ctx)
	return r, nil
}

// quickCheck returns quick_check's findings, none for a sound database; a
// read that meets a malformed page is a finding, not an error.
func (s *Store) quickCheck(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "PRAGMA quick_check("+strconv.Itoa(DefaultCheckProblems)+")")
	if err != nil {
		if isMalformed(err) {
			return []string{err.Error()}, nil
		}
		return nil, fmt.Errorf("check %s: %w", s.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, fmt.Errorf("check %s: %w", s.path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if !isMalformed(err) {
			return nil, fmt.Errorf("check %s: %w", s.path, err)
		}
		problems = append(problems, err.Error())
	}
	return problems, nil
}

// checkIntact refuses a database that fails quick_check.
func (s *Store) checkIntact(ctx context.Context) error {
	problems, err := s.quickCheck(ctx)
	if err != nil {
		return s.wrapOpenErr(err)
	}
	if len(problems) > 0 {
		return CorruptError(s.path, problems[0])
	}
	return nil
}

// isMalformed reports SQLite's SQLITE_CORRUPT ("database disk image is
// malformed") and SQLITE_NOTADB met after the header was read.
func isMalformed(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "malformed") || strings.Contains(msg, "SQLITE_CORRUPT")
}

// IsCorrupt reports whether err says the state database is corrupt:
// ErrCorrupt, or a read that met a malformed page.
func IsCorrupt(err error) bool {
	return err != nil && (errors.Is(err, ErrCorrupt) || isMalformed(err))
}

// CorruptError says that the database at path is corrupt, what SQLite
// found, and what to do: the organization list can be rebuilt from the
// portal; the run history may be salvaged with the sqlite3 shell's .recover.
func CorruptError(path, problem string) error {
	return fmt.Errorf("%s: %w (%s): nothing was sent to the portal. Move it aside (mv %s %s.corrupt), then `activator orgs sync` rebuilds the organization list from the portal; the run history may be salvageable with `sqlite3 %s.corrupt .recover | sqlite3 %s`",
		path, ErrCorrupt, oneLine(problem), path, path, path, path)
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// openReadOnly opens an existing database without writing to it or its
// directory: a read-only file system, or a file the user may only read,
// still works for the commands that only read. Where SQLite cannot create
// the -shm file beside a WAL database (a read-only directory), nothing can
// write the file either, so it is opened as immutable. A database whose
// schema is older than this activator's is migrated through Open (a
// write), and refused when that is impossible.
func openReadOnly(ctx context.Context, path string) (*Store, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (%v; choose another file with --state)", path, ErrStateAccess, unwrapPathErr(err))
	}
	if st.IsDir() {
		return nil, fmt.Errorf("state path %s is a directory: %w (give a file path with --state)", path, ErrNotDatabase)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	busy := "&_pragma=busy_timeout(" + strconv.Itoa(int(DefaultBusyTimeout/time.Millisecond)) + ")"
	var s *Store
	for _, mode := range []string{"?mode=ro", "?mode=ro&immutable=1"} {
		db, err := sql.Open("sqlite", "file:"+path+mode+busy)
		if err != nil {
			return nil, fmt.Errorf("open state database %s: %w", path, err)
		}
		s = &Store{db: db, path: path}
		err = s.checkOwnDatabase(ctx)
		if err == nil {
			break
		}
		db.Close()
		if !errors.Is(err, ErrStateAccess) || mode != "?mode=ro" {
			return nil, err
		}
	}
	current, err := s.schemaVersion(ctx)
	if err != nil {
		s.db.Close()
		if !strings.Contains(err.Error(), "no such table") {
			return nil, s.wrapOpenErr(err) // a corrupt file included
		}
		current = 0 // an empty file SQLite created: nothing to read
	}
	latest := SchemaVersion()
	if current < latest {
		s.db.Close()
		rw, err := Open(ctx, path)
		if errors.Is(err, ErrStateAccess) {
			return nil, fmt.Errorf("%s has schema version %d, this activator reads %d and must upgrade it, but cannot write there: %w (run any activator command where the file is writable once)", path, current, latest, ErrStateAccess)
		}
		return rw, err
	}
	if current > latest {
		s.db.Close()
		return nil, newerSchemaError(path, current, latest)
	}
	return s, nil
}

// checkHeader refuses a non-empty file that is not a SQLite database.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w (%v; choose another file with --state)", path, ErrStateAccess, unwrapPathErr(err))
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		return fmt.Errorf("%s: %w (move it aside or choose another file with --state)", path, ErrNotDatabase)
	}
	return nil
}
