package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenFreshAppliesEveryMigrationOnce(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	var n, max int
	if err := s.db.QueryRow("SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations()
	if n != len(ms) || max != SchemaVersion() {
		t.Fatalf("applied %d migrations up to %d, want %d up to %d", n, max, len(ms), SchemaVersion())
	}
	var mode string
	s.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	s.Close()
	// Re-open: nothing re-applied, data kept.
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var n2 int
	s2.db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n2)
	if n2 != n {
		t.Fatalf("re-open: %d migration rows, want %d", n2, n)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	_, path := openTemp(t)
	s, _ := Open(context.Background(), path)
	if _, err := s.db.Exec("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 'x')"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(path)
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want ErrNewerSchema", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the newer database was modified")
	}
}

func TestOpenRefusesNonDatabaseAndLeavesItUntouched(t *testing.T) {
	for name, content := range map[string][]byte{
		"text":      []byte("this is my shopping list\n"),
		"json":      []byte(`{"orgs":[]}`),
		"truncated": []byte("SQLite format"),
		"garbage":   bytes.Repeat([]byte{0xde, 0xad}, 4096),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			os.WriteFile(path, content, 0o600)
			_, err := Open(context.Background(), path)
			if !errors.Is(err, ErrNotDatabase) {
				t.Fatalf("err = %v, want ErrNotDatabase", err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, content) {
				t.Error("file was modified")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Error("a WAL file was created next to it")
			}
		})
	}
}

func TestOpenRefusesCorruptDatabase(t *testing.T) {
	_, path := openTemp(t)
	s, _ := Open(context.Background(), path)
	s.Close()
	b, _ := os.ReadFile(path)
	for i := 100; i < len(b); i++ {
		b[i] = 0xff
	}
	os.WriteFile(path, b, 0o600)
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	_, err := Open(context.Background(), path)
	if err == nil {
		t.Fatal("a corrupt database was opened")
	}
}

func TestRecordSyncAndOrgs(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, err := s.App(ctx, "https://fhir.epic.com", "50741")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.App(ctx, "https://fhir.epic.com", "99")
	if other.ID == app.ID {
		t.Fatal("two apps share a row")
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sy := &Sync{Started: t0, Finished: t0, Seen: []Org{{OrgID: "392", Name: "Lifespan", ECMId: "1", Status: 0}, {OrgID: "16770", Name: "UnityPoint", ECMId: "1328", Status: 1}},
		Events: []Event{{OrgID: "392", Kind: EventNew}, {OrgID: "16770", Kind: EventNew}}, Counts: map[int]int{0: 1, 1: 1}}
	if _, err := s.RecordSync(ctx, app.ID, sy); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(24 * time.Hour)
	sy2 := &Sync{Started: t1, Finished: t1, Seen: []Org{{OrgID: "392", Name: "Brown University Health", ECMId: "1", Status: 1}},
		Events: []Event{{OrgID: "392", Kind: EventRenamed, Old: "Lifespan", New: "Brown University Health"}, {OrgID: "16770", Kind: EventGone}}}
	if _, err := s.RecordSync(ctx, app.ID, sy2); err != nil {
		t.Fatal(err)
	}
	orgs, err := s.Orgs(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(orgs) != 2 || orgs[0].OrgID != "392" || orgs[0].Name != "Brown University Health" || !orgs[0].FirstSeen.Equal(t0) || !orgs[0].LastSeen.Equal(t1) {
		t.Fatalf("orgs = %+v", orgs)
	}
	if orgs[1].GoneSince == nil || !orgs[1].GoneSince.Equal(t1) {
		t.Fatalf("16770 not marked gone: %+v", orgs[1])
	}
	if o, _ := s.Orgs(ctx, other.ID); len(o) != 0 {
		t.Fatal("orgs leaked to another app")
	}
	syncs, _ := s.Syncs(ctx, app.ID, 0)
	if len(syncs) != 2 || syncs[1].Renamed != 1 || syncs[1].Gone != 1 || syncs[0].Added != 2 || syncs[0].Counts[1] != 1 {
		t.Fatalf("syncs = %+v", syncs)
	}
	evs, _ := s.OrgEvents(ctx, app.ID, "392")
	if len(evs) != 2 || evs[1].Kind != EventRenamed {
		t.Fatalf("events = %+v", evs)
	}
}

func TestLockNamesHolder(t *testing.T) {
	s, _ := openTemp(t)
	l, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	// A second open file description on the same path conflicts with flock.
	s2, err := Open(context.Background(), s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	_, err = s2.Lock()
	var le *LockError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want LockError naming pid %d", err, os.Getpid())
	}
	l.Unlock()
	l2, err := s2.Lock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}

// TestConcurrentFirstOpen: several processes' first open of the same new
// database all succeed, and each migration is applied once.
func TestConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			s, err := Open(context.Background(), path)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	s.db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n)
	if ms, _ := loadMigrations(); n != len(ms) {
		t.Fatalf("%d migration rows, want %d", n, len(ms))
	}
}

// TestOpenRefusesAnotherProgramsDatabase: a SQLite file with tables but none
// of activator's (a browser's cookie store given as --state by mistake) is
// refused, not migrated, and left byte for byte as it was.
func TestOpenRefusesAnotherProgramsDatabase(t *testing.T) {
	for name, schema := range map[string]string{
		"browser cookies": `CREATE TABLE moz_cookies (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO moz_cookies(name) VALUES ('sid')`,
		// golang-migrate and Rails name their table schema_migrations too.
		"golang-migrate": `CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
			INSERT INTO schema_migrations VALUES (1, false); CREATE TABLE users (id INTEGER PRIMARY KEY)`,
		"rails": `CREATE TABLE schema_migrations (version varchar NOT NULL PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000')`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(schema); err != nil {
				t.Fatal(err)
			}
			db.Close()
			before, _ := os.ReadFile(path)

			_, err = Open(context.Background(), path)
			if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), "another program") {
				t.Fatalf("err = %v, want ErrNotDatabase naming another program", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("file was modified")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Error("a WAL file was created next to it")
			}
		})
	}
}

// TestNewAtLastSync: the orgs the newest sync of the app found new or
// listed again; none before any sync, none from another app's sync.
func TestNewAtLastSync(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, _ := s.App(ctx, "https://fhir.epic.com", "50741")
	other, _ := s.App(ctx, "https://fhir.epic.com", "99")
	if ids, err := s.NewAtLastSync(ctx, app.ID); err != nil || len(ids) != 0 {
		t.Fatalf("before any sync: %v, %v", ids, err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	syncs := []struct {
		app    int64
		seen   []Org
		events []Event
	}{
		{app.ID, []Org{{OrgID: "1", Name: "A"}, {OrgID: "2", Name: "B"}}, []Event{{OrgID: "1", Kind: EventNew}, {OrgID: "2", Kind: EventNew}}},
		{app.ID, []Org{{OrgID: "2", Name: "C"}, {OrgID: "3", Name: "D"}, {OrgID: "4", Name: "E"}},
			[]Event{{OrgID: "1", Kind: EventGone}, {OrgID: "2", Kind: EventRenamed, Old: "B", New: "C"}, {OrgID: "3", Kind: EventNew}, {OrgID: "4", Kind: EventNew}}},
		{app.ID, []Org{{OrgID: "1", Name: "A"}, {OrgID: "2", Name: "C"}, {OrgID: "3", Name: "D"}, {OrgID: "4", Name: "E"}}, []Event{{OrgID: "1", Kind: EventReturned}}},
		{other.ID, []Org{{OrgID: "9", Name: "Z"}}, []Event{{OrgID: "9", Kind: EventNew}}},
	}
	for i, sy := range syncs {
		at := t0.Add(time.Duration(i) * time.Hour)
		if _, err := s.RecordSync(ctx, sy.app, &Sync{Started: at, Finished: at, Seen: sy.seen, Events: sy.events}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := s.NewAtLastSync(ctx, app.ID)
	if err != nil || len(ids) != 1 || !ids["1"] {
		t.Fatalf("new at last sync = %v, %v; want only the returned org 1", ids, err)
	}
}

// TestOrgsOrderAgreesWithCompareOrgID: the ORDER BY of every list of
// organizations puts ids where portal.CompareOrgID does, numeric or not,
// longer than an int64 or with leading zeros.
func TestOrgsOrderAgreesWithCompareOrgID(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, err := s.App(ctx, "https://fhir.epic.com", "50741")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"abc", "10", "", "9", "007", "7", "99999999999999999999", "100000000000000000000", "9223372036854775808",
		"12a", "-5", "0", "00", "A", " 7", "1.5", "16770", "392", "٣", "1e3", "Z9", "32586"}
	var seen []Org
	for _, id := range ids {
		seen = append(seen, Org{OrgID: id, Name: "org " + id})
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.RecordSync(ctx, app.ID, &Sync{Started: t0, Finished: t0, Seen: seen, Counts: map[int]int{0: len(seen)}}); err != nil {
		t.Fatal(err)
	}
	orgs, err := s.Orgs(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range orgs {
		got = append(got, o.OrgID)
	}
	want := slices.SortedFunc(slices.Values(ids), portal.CompareOrgID)
	if !slices.Equal(got, want) {
		t.Fatalf("ORDER BY gives\n%q\nportal.CompareOrgID gives\n%q", got, want)
	}
}

// TestPace: a recorded pace reads back, and a later one replaces it.
func TestPace(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	app, err := s.App(ctx, "https://portal.example", "50741")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Pace(ctx, app.ID); err != nil || p != nil {
		t.Fatalf("before any run: %+v, %v", p, err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, want := range []Pace{{Tolerated: 3.8, Limited: true, At: at}, {Tolerated: 2, Limited: false, At: at.Add(time.Hour)}} {
		if err := s.RecordPace(ctx, app.ID, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.Pace(ctx, app.ID)
		if err != nil || got == nil || *got != want {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	}
}
