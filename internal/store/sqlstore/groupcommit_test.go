package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	_ "modernc.org/sqlite"
)

// openGroupCommit opens a bare SQLite store with group commit and a table t.
func openGroupCommit(t *testing.T) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gc.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // the committer holds it: reads go to read
	if _, err := db.Exec(`CREATE TABLE t (v INTEGER NOT NULL PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	read, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, read, Dialect{Name: "sqlite", CacheStatements: true})
	if err := s.EnableGroupCommit(GroupCommit{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (s *Store) insertT(ctx context.Context, v int) error {
	return s.inTx(ctx, func(tx *tx) error {
		_, err := tx.exec(ctx, `INSERT INTO t (v) VALUES (?)`, v)
		return err
	})
}

func (s *Store) countT(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.reader().queryRow(context.Background(), `SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A panic in a turn run by the committer is raised on the writer's own
// goroutine, rolls back only that writer's work, and leaves the committer
// serving the others, as when the writer ran its turn itself.
func TestInTxPanicReachesTheWriter(t *testing.T) {
	s := openGroupCommit(t)
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := s.insertT(ctx, 100+i); err != nil {
				t.Errorf("insert %d: %v", 100+i, err)
			}
		})
	}
	func() {
		defer func() {
			if v := recover(); v != boom {
				t.Errorf("panic of the writer: want %v, got %v", boom, v)
			}
		}()
		s.inTx(ctx, func(tx *tx) error {
			if _, err := tx.exec(ctx, `INSERT INTO t (v) VALUES (1)`); err != nil {
				t.Errorf("insert in the turn that panics: %v", err)
			}
			panic(boom)
		})
		t.Error("inTx returned instead of panicking")
	}()
	wg.Wait()
	if err := s.insertT(ctx, 2); err != nil {
		t.Fatalf("insert after the panic: %v", err)
	}
	if got := s.countT(t); got != 21 {
		t.Errorf("rows: want 21 (the 20 racing writers and the one after; not the panicking one's), got %d", got)
	}
}

// An error from fn rolls back that writer's work alone and is what it gets.
func TestInTxErrorRollsBackItsTurn(t *testing.T) {
	s := openGroupCommit(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO t (v) VALUES (1)`); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("inTx: want %v, got %v", boom, err)
	}
	if err := s.insertT(ctx, 1); err != nil {
		t.Fatalf("insert the rolled-back value again: %v", err)
	}
	if got := s.countT(t); got != 1 {
		t.Errorf("rows: want 1, got %d", got)
	}
}
