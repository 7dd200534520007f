package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// corruptTable overwrites the root page of table (past its header) with
// garbage, as a disk or a stray write would, in a closed database.
func corruptTable(t *testing.T, path, table string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var root, size int64
	if err := db.QueryRow("SELECT rootpage FROM sqlite_master WHERE name = ?", table).Scan(&root); err != nil {
		t.Fatal(err)
	}
	db.QueryRow("PRAGMA page_size").Scan(&size)
	db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	db.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, int(size)-16), (root-1)*size+8); err != nil {
		t.Fatal(err)
	}
}

// filledStore is a closed database with an app, a sync and a run.
func filledStore(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "state.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	app, _ := s.App(ctx, "https://fhir.epic.com", "50741")
	var seen []Org
	for i := range 200 {
		seen = append(seen, Org{OrgID: string(rune('1'+i%9)) + strings.Repeat("0", i%5) + string(rune('a'+i%26)), Name: strings.Repeat("Org ", 10), Status: i % 4})
	}
	if _, err := s.RecordSync(ctx, app.ID, &Sync{Started: time.Now(), Finished: time.Now(), Seen: seen, Counts: map[int]int{}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return path
}

// TestCorruptDatabase: a database with one corrupt page is refused by Open
// (which every command that changes something uses) with a message saying
// corrupt and what to do, and left as it was; Check reports it; a reading
// command still opens it.
func TestCorruptDatabase(t *testing.T) {
	path := filledStore(t, t.TempDir())
	corruptTable(t, path, "orgs")
	before, _ := os.ReadFile(path)
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrCorrupt) || !IsCorrupt(err) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{"corrupt", "nothing was sent to the portal", "mv " + path + " " + path + ".corrupt", "activator orgs sync", ".recover"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the corrupt database was modified")
	}
	r, err := OpenRead(context.Background(), path)
	if err != nil {
		t.Fatalf("OpenRead: %v", err)
	}
	defer r.Close()
	res, err := r.Check(context.Background())
	if err != nil || res.OK || len(res.Problems) == 0 || len(res.Problems) > DefaultCheckProblems {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("reading the corrupt database modified it")
	}
}

// TestCheckIntact: a sound database passes Check.
func TestCheckIntact(t *testing.T) {
	path := filledStore(t, t.TempDir())
	s, err := OpenRead(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Check(context.Background())
	if err != nil || !res.OK || res.Pages == 0 || res.Schema != SchemaVersion() {
		t.Fatalf("Check: %+v, %v", res, err)
	}
}

// TestOpenReadOnReadOnlyFileSystem: the reading commands work on a
// database on a read-only file system (no -wal or -shm can be created).
func TestOpenReadOnReadOnlyFileSystem(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a file system here (%v): run as root to test a read-only one", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	path := filledStore(t, dir)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), path); !errors.Is(err, ErrStateAccess) {
		t.Errorf("Open for writing on a read-only file system: %v", err)
	}
	s, err := OpenRead(context.Background(), path)
	if err != nil {
		t.Fatalf("OpenRead: %v", err)
	}
	defer s.Close()
	apps, err := s.Apps(context.Background())
	if err != nil || len(apps) != 1 {
		t.Fatalf("apps %v, %v", apps, err)
	}
	orgs, err := s.Orgs(context.Background(), apps[0].ID)
	if err != nil || len(orgs) == 0 {
		t.Fatalf("%d orgs, %v", len(orgs), err)
	}
}

// TestDamagedHeaderIsCorrupt: a file that starts as a SQLite database but
// whose first page is damaged is reported corrupt (with what to do), not
// "not an activator state database".
func TestDamagedHeaderIsCorrupt(t *testing.T) {
	path := filledStore(t, t.TempDir())
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{0xa5}, 84), 16) // page size, versions, counters
	f.Close()
	_, err = Open(context.Background(), path)
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), ".recover") {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
}
