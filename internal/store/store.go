// Package store keeps activator's state in a SQLite database.
//
// The database is the tool's memory between runs: the organizations seen on
// the portal, every sync and what it noticed, and every activation run with
// each organization's outcome. Runs resume from it after any interruption, so
// every outcome is committed before the next portal call starts.
//
// The store knows nothing of the portal: it stores what it is given. The
// schema lives in the migrations package as numbered SQL files, applied in
// order when the database is opened and recorded in schema_migrations. A
// database written by a newer activator, or a file that is not a SQLite
// database at all, is refused and left untouched.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/activator-dev/activator/migrations"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// DefaultBusyTimeout is how long a statement waits for another connection's
// write lock. Runs are serialised by Lock, so contention is brief (a status
// command reading while a run commits); five seconds covers a slow disk.
const DefaultBusyTimeout = 5 * time.Second

// sqliteHeader is the first 16 bytes of every SQLite 3 database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// ErrNotDatabase is returned when the state path holds something that is not
// a SQLite database. The file is left as it was.
var ErrNotDatabase = errors.New("not an activator state database")

// ErrStateAccess is returned when the state database or its directory may
// not be written: every command records what it learns there.
var ErrStateAccess = errors.New("the state database is not writable")

// ErrNewerSchema is returned when the database was written by a newer
// activator than this one. The file is left as it was.
var ErrNewerSchema = errors.New("state database was written by a newer activator")

// Store is an open state database.
type Store struct {
	db   *sql.DB
	path string
}

// DefaultPath is where the state database lives when neither --state nor
// ACTIVATOR_STATE says otherwise: $XDG_STATE_HOME/activator/state.db, or
// ~/.local/state/activator/state.db.
func DefaultPath() (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "state.db"), nil
}

// StateDir is the directory for activator's state: the database, the stored
// session and the browser profile.
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "activator"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state directory: %w (set XDG_STATE_HOME or use --state)", err)
	}
	return filepath.Join(home, ".local", "state", "activator"), nil
}

// Open opens the state database at path, creating it (and its directory) if
// it does not exist, and applies any migrations it lacks.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w (%v; choose another file with --state)", filepath.Dir(path), ErrStateAccess, unwrapPathErr(err))
	}
	// synchronous(FULL): every commit (a call's intent, its outcome) is on
	// the disk before the next portal call, power loss included; at a few
	// calls a second the fsyncs cost nothing.
	dsn := "file:" + path + "?_pragma=busy_timeout(" + strconv.Itoa(int(DefaultBusyTimeout/time.Millisecond)) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// unwrapPathErr drops the path from an *fs.PathError, which the message
// already names.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkFile refuses an existing file that is not a SQLite database before the
// driver gets a chance to touch it.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w (%v; choose another file with --state)", path, ErrStateAccess, unwrapPathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read state database %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("state path %s is a directory: %w (give a file path with --state)", path, ErrNotDatabase)
	}
	w, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%s: %w (%v; fix its permissions or choose another file with --state)", path, ErrStateAccess, unwrapPathErr(err))
	}
	w.Close()
	if st.Size() == 0 {
		return nil // an empty file is what SQLite itself creates; safe to initialise
	}
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		return fmt.Errorf("%s: %w (move it aside or choose another file with --state)", path, ErrNotDatabase)
	}
	return nil
}

// openRetryDelay and openRetries bound how long Open waits when another
// process is creating or migrating the same database at that moment:
// switching to WAL takes an exclusive lock that SQLite's busy timeout does
// not wait for.
const (
	openRetryDelay = 50 * time.Millisecond
	openRetries    = 100
)

func (s *Store) init(ctx context.Context) error {
	var err error
	for try := 0; try < openRetries; try++ {
		if err = s.initOnce(ctx); err == nil || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(openRetryDelay):
		}
	}
	return err
}

func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

func (s *Store) initOnce(ctx context.Context) error {
	if err := s.checkOwnDatabase(ctx); err != nil {
		return err
	}
	// Every command that may change something opens the database this
	// way: none works on a corrupt one, and none calls the portal.
	if err := s.checkIntact(ctx); err != nil {
		return err
	}
	// WAL lets status and report commands read while a run writes.
	if _, err := s.db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return s.wrapOpenErr(err)
	}
	return s.migrate(ctx)
}

// checkOwnDatabase refuses, before anything is written, a SQLite database
// that holds tables but is not activator's: migrating it would add
// activator's tables to another program's file. Every activator database
// has schema_migrations, created before any other table.
func (s *Store) checkOwnDatabase(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return s.wrapOpenErr(err)
	}
	defer rows.Close()
	tables, ours := 0, false
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return s.wrapOpenErr(err)
		}
		tables++
		ours = ours || name == "schema_migrations"
	}
	if err := rows.Err(); err != nil {
		return s.wrapOpenErr(err)
	}
	rows.Close()
	if tables == 0 {
		return nil
	}
	if ours {
		// Other migration tools (golang-migrate, Rails) name their table
		// schema_migrations too; activator's has these columns.
		cols, err := s.columns(ctx, "schema_migrations")
		if err != nil {
			return s.wrapOpenErr(err)
		}
		ours = cols["version"] && cols["name"] && cols["applied_at"]
	}
	if !ours {
		return fmt.Errorf("%s is a SQLite database of another program (%d tables, not activator's): %w (choose another file with --state)", s.path, tables, ErrNotDatabase)
	}
	return nil
}

// columns returns the names of a table's columns.
func (s *Store) columns(ctx context.Context, table string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		cols[name] = true
	}
	return cols, rows.Err()
}

func (s *Store) wrapOpenErr(err error) error {
	msg := err.Error()
	// "file is not a database" of a file that starts with SQLite's header
	// (checked before opening): a SQLite database whose first page is
	// damaged.
	if isMalformed(err) || strings.Contains(msg, "file is not a database") {
		return CorruptError(s.path, msg)
	}
	if strings.Contains(msg, "unable to open database file") || strings.Contains(msg, "readonly database") {
		return fmt.Errorf("%s: %w (activator writes its state, and SQLite its -wal and -shm files, in %s: fix its permissions or choose another file with --state)",
			s.path, ErrStateAccess, filepath.Dir(s.path))
	}
	return fmt.Errorf("open state database %s: %w", s.path, err)
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		body, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// schemaVersion is the newest migration applied, 0 for none.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// newerSchemaError refuses a database a newer activator migrated.
func newerSchemaError(path string, current, latest int) error {
	return fmt.Errorf("%s has schema version %d, this activator knows up to %d: %w (upgrade activator)",
		path, current, latest, ErrNewerSchema)
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return s.wrapOpenErr(err)
	}
	current, err := s.schemaVersion(ctx)
	if err != nil {
		return s.wrapOpenErr(err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return newerSchemaError(s.path, current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		// Another process may have applied it while this one waited.
		var done int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&done); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if done > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, formatTime(time.Now())); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// DB exposes the database handle to the store's own packages' tests and to
// read-only reports; writers go through the Store's methods.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// timeLayout is how times are stored: sortable text, UTC, nanoseconds.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) time.Time {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

// App identifies one app on one portal: the key every other row hangs off.
type App struct {
	ID     int64
	Portal string
	AppID  string
}

// App returns the app's row, creating it on first use.
func (s *Store) App(ctx context.Context, portal, appID string) (App, error) {
	a := App{Portal: portal, AppID: appID}
	_, err := s.db.ExecContext(ctx, `INSERT INTO apps(portal, app_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT(portal, app_id) DO NOTHING`, portal, appID, formatTime(time.Now()))
	if err != nil {
		return a, fmt.Errorf("record app %s: %w", appID, err)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT id FROM apps WHERE portal = ? AND app_id = ?", portal, appID).Scan(&a.ID); err != nil {
		return a, fmt.Errorf("look up app %s: %w", appID, err)
	}
	return a, nil
}
