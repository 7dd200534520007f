package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen: whatever file sits at the state path, Open never panics, and a
// file it refuses is left exactly as it was.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("SQLite format 3\x00"))
	f.Add([]byte("not a database"))
	f.Add([]byte{})
	if good, err := makeDB(f.TempDir()); err == nil {
		f.Add(good)
		// A truncated and a bit-flipped real database.
		f.Add(good[:len(good)/2])
		flipped := bytes.Clone(good)
		flipped[len(flipped)/3] ^= 0xff
		f.Add(flipped)
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(t.TempDir(), "state.db")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), path)
		if err != nil {
			if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
				t.Fatalf("refused file was modified: %v", err)
			}
			return
		}
		defer s.Close()
		// An opened database answers queries (or fails cleanly).
		_, _ = s.Orgs(context.Background(), 1)
	})
}

func makeDB(dir string) ([]byte, error) {
	path := filepath.Join(dir, "seed.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	app, _ := s.App(ctx, "https://fhir.epic.com", "1")
	s.RecordSync(ctx, app.ID, &Sync{Seen: []Org{{OrgID: "1", Name: "A"}}, Counts: map[int]int{0: 1}})
	s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	s.Close()
	return os.ReadFile(path)
}
