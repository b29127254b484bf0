package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/paygate/paygate/internal/store/sqlite"
)

// TestFilesOwnerOnly: the database file and its -wal and -shm files hold
// the gateway's data (orders, payers, sealed secrets); other users of the
// machine must not read them, whatever the process's umask.
func TestFilesOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "paygate.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil { // writes, so the -wal and -shm files exist
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(name), perm)
		}
	}
}
