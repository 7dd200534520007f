package cli

import (
	"bytes"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadOnlyFileSystem: on a read-only file system the commands that
// only read the state work (they open the database read-only); a command
// that would write says it cannot.
func TestReadOnlyFileSystem(t *testing.T) {
	e := historyState(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("cannot mount a file system here (%v): run as root to test a read-only one", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	state := filepath.Join(dir, "state.db")
	src, err := os.Open(e.copyState(t))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(state)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status"}, {"runs"}, {"runs", "show", "1"}, {"orgs", "list"}, {"orgs", "show", "528"},
		{"report", "--out", "-", "--format", "csv"}, {"state", "check"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := e.run(t, state, args...)
			if code != ExitOK || out == "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
		})
	}
	code, _, errOut := e.run(t, state, "orgs", "sync")
	if code != ExitUsage || !strings.Contains(errOut, "not writable") {
		t.Errorf("orgs sync on a read-only file system: exit %d, %q", code, errOut)
	}
}

// TestStateCheck: `state check` passes a sound database and a missing one,
// and on a corrupt one exits 1 saying corrupt and what to do; `activate`
// then refuses before calling the portal.
func TestStateCheck(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	code, out, errOut := e.run(t, state, "state", "check")
	if code != ExitOK || !strings.HasPrefix(out, "ok: "+state+" passes SQLite's quick_check") {
		t.Fatalf("sound: exit %d, %q %q", code, out, errOut)
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	code, out, _ = e.run(t, missing, "state", "check", "--output", "json")
	if code != ExitOK || !strings.Contains(out, `"exists": false`) {
		t.Errorf("missing: exit %d, %q", code, out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("state check created a database")
	}
	corruptTable(t, state, "outcomes")
	code, out, errOut = e.run(t, state, "state", "check")
	if code != ExitFailures || !strings.HasPrefix(out, "CORRUPT: "+state) || !strings.Contains(errOut, "is corrupt") || !strings.Contains(errOut, ".recover") {
		t.Errorf("corrupt: exit %d, %q %q", code, out, errOut)
	}
	before := len(e.sim.Calls())
	code, _, errOut = e.run(t, state, "activate", "--jwks", filepath.Join(e.keys, "rsa-a.jwks.json"), "--yes")
	if code != ExitUsage || !strings.Contains(errOut, "corrupt") || !strings.Contains(errOut, "nothing was sent to the portal") {
		t.Errorf("activate on a corrupt database: exit %d, %q", code, errOut)
	}
	if n := len(e.sim.Calls()) - before; n != 0 {
		t.Errorf("activate on a corrupt database made %d portal requests", n)
	}
}

// corruptTable overwrites the root page of table (past its header) with
// garbage, as a failing disk or a stray write would, in a closed database.
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

// TestLegacyPortalForm: an app row an older activator stored under another
// form of the portal's address keeps its history: reading commands match
// it, and the next command that writes stores it in the normal form.
func TestLegacyPortalForm(t *testing.T) {
	e := historyState(t)
	state := e.copyState(t)
	db, err := sql.Open("sqlite", "file:"+state)
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.Replace(e.portal, "http://", "HTTP://", 1) + "/?x=1"
	if _, err := db.Exec("UPDATE apps SET portal = ?", legacy); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errOut := e.run(t, state, "status", "--output", "json")
	if code != ExitOK || !strings.Contains(out, `"listed": 40`) {
		t.Fatalf("status: exit %d, %q", code, errOut)
	}
	if code, _, errOut := e.run(t, state, "orgs", "sync", "--rate", "50", "--cookie", e.sim.NewSession()); code != ExitOK {
		t.Fatalf("orgs sync: exit %d, %q", code, errOut)
	}
	db, _ = sql.Open("sqlite", "file:"+state)
	defer db.Close()
	var n int
	var p string
	if err := db.QueryRow("SELECT COUNT(*), MAX(portal) FROM apps").Scan(&n, &p); err != nil || n != 1 || p != e.portal {
		t.Errorf("%d app rows, portal %q (%v); want 1 row under %q", n, p, err, e.portal)
	}
}
