// Package sqlitetest gives each test a SQLite store of its own, in a file
// under the test's temporary directory.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/store/sqlstore"
)

// Open opens and migrates a new database in t.TempDir(), and closes it when
// t ends. It fails t on any error.
func Open(t testing.TB) *sqlstore.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paygate.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("sqlitetest: open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("sqlitetest: migrate %s: %v", path, err)
	}
	return s
}
