package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmas checks that every connection of both pools runs with the
// settings durability and correctness rely on, not just the first one.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	write, read, err := openPools(path)
	if err != nil {
		t.Fatalf("open pools: %v", err)
	}
	defer write.Close()
	defer read.Close()

	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"}
	check := func(pool string, c *sql.Conn, queryOnly string) {
		t.Helper()
		want["query_only"] = queryOnly
		for name, w := range want {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatalf("%s pool: PRAGMA %s: %v", pool, name, err)
			}
			if got != w {
				t.Errorf("%s pool: PRAGMA %s: want %s, got %s", pool, name, w, got)
			}
		}
	}

	wc, err := write.Conn(ctx)
	if err != nil {
		t.Fatalf("write conn: %v", err)
	}
	check("write", wc, "0")
	var limit int64
	if err := wc.QueryRowContext(ctx, "PRAGMA journal_size_limit").Scan(&limit); err != nil || limit != WALSizeLimit {
		t.Errorf("write pool: journal_size_limit %d (%v), want %d", limit, err, WALSizeLimit)
	}
	wc.Close()

	// Hold several read connections at once so the pool opens new ones.
	var conns []*sql.Conn
	for range 3 {
		c, err := read.Conn(ctx)
		if err != nil {
			t.Fatalf("read conn: %v", err)
		}
		conns = append(conns, c)
		check("read", c, "1")
	}
	for _, c := range conns {
		c.Close()
	}
	if _, err := read.ExecContext(ctx, "CREATE TABLE t (x)"); err == nil {
		t.Errorf("write through the read pool: want an error (query_only), got nil")
	}

	// A write transaction takes the write lock when it begins (IMMEDIATE),
	// so another connection cannot start writing meanwhile.
	tx, err := write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()
	other, err := openPool(path, false, "busy_timeout = 0")
	if err != nil {
		t.Fatalf("open another pool: %v", err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err == nil {
		t.Errorf("BEGIN IMMEDIATE on another connection while a write transaction is open: want SQLITE_BUSY, got nil")
	}
}
