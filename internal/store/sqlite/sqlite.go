// Package sqlite is Paygate's embedded store: store.Store on one SQLite file.
// The SQL is sqlstore's; this package only opens the pools and says how
// SQLite differs.
//
// The driver depends on the build: with cgo (the default wherever a C
// compiler is, as on every machine we build on) it is SQLite's own C code
// through github.com/mattn/go-sqlite3 (driver_cgo.go); built with
// CGO_ENABLED=0 it is modernc.org/sqlite, the same C translated to Go
// (driver_purego.go), which needs no compiler but is slower (6–18% fewer
// order creates per second on the project's machine, BENCHMARKS.md). Both read and write the same file
// format, and the store's tests run on both (.ci/run). Driver names the one
// this binary has.
//
// The file is opened twice: a write pool of one connection, so writers queue
// in Go instead of failing with SQLITE_BUSY, whose transactions begin
// IMMEDIATE (taking the write lock up front, so a transaction never has to
// upgrade a read lock it cannot get); and a read pool of several
// query-only connections, which WAL lets read while a write goes on.
// Every connection runs with synchronous=FULL, so a write that was
// acknowledged survives a power loss, and with foreign keys enforced.
//
// A new database file is created readable and writable by its owner only
// (0600), before SQLite opens it: SQLite gives the -wal and -shm files it
// makes beside it the database file's mode (both drivers run the same unix
// VFS code), so they are 0600 too, whatever the process's umask. A file
// that already exists keeps its mode (chmod 600 one made by a version
// before this rule).
//
// Limits: one process should own the file. Other processes can share it
// (busy_timeout makes them wait for each other's writes), but SQLite is one
// writer at a time; run PostgreSQL to serve from several nodes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pool settings.
const (
	// ReadConns is the size of the read pool.
	ReadConns = 8
	// BusyTimeout is how long a connection waits for another process's lock.
	BusyTimeout = 10 * time.Second
)

// Dialect describes SQLite to sqlstore.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return sqlstore.Dialect{
		Name:              "sqlite",
		IsUniqueViolation: isUniqueViolation,
		Migrations:        sub,
		// Migrate's transaction begins IMMEDIATE on the write pool, which
		// takes SQLite's write lock: other processes wait for it.
		LockMigrations: nil,
		// The write pool's single connection runs one transaction at a
		// time, so a claim never meets another claim's row locks.
		SkipLocked: "",
		// Both drivers parse every query they are not given prepared.
		CacheStatements: true,
	}
}

// Open opens (creating if needed) the database file at path, with group
// commit (sqlstore.GroupCommit defaults): writers share one fsync per batch.
// It does not migrate; call Migrate.
func Open(path string) (*sqlstore.Store, error) {
	return OpenOptions(path, Options{GroupCommit: true})
}

// Options tune Open.
type Options struct {
	// GroupCommit batches concurrent writers into one transaction and one
	// fsync (see sqlstore.GroupCommit). Open turns it on.
	GroupCommit bool
	// GroupCommitConfig sets its batch size and wait; zero means defaults.
	GroupCommitConfig sqlstore.GroupCommit
}

// OpenOptions is Open with options, for benchmarks that compare settings.
func OpenOptions(path string, o Options) (*sqlstore.Store, error) {
	write, read, err := openPools(path)
	if err != nil {
		return nil, err
	}
	s := sqlstore.New(write, read, Dialect())
	if o.GroupCommit {
		if err := s.EnableGroupCommit(o.GroupCommitConfig); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// WALSizeLimit is the size the write-ahead log's file is truncated to when
// a checkpoint restarts it.
const WALSizeLimit = 16 << 20

// openPools opens the write pool and the read pool on path.
func openPools(path string) (write, read *sql.DB, err error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	if err := createOwnerOnly(path); err != nil {
		return nil, nil, err
	}
	busy := fmt.Sprintf("busy_timeout = %d", BusyTimeout.Milliseconds())
	// busy_timeout comes first so that the pragmas after it wait for a lock
	// another process holds instead of failing. wal_autocheckpoint = 256:
	// SQLite checkpoints inside the commit that crosses the threshold, and
	// with synchronous=FULL that commit waits for the database file's fsync,
	// stalling its whole group-commit batch; smaller, more frequent
	// checkpoints cut create-order's p99 at half load from 82–350 ms to
	// 36–67 ms without lowering its maximum rate (BENCHMARKS.md).
	// journal_size_limit: a checkpoint restarts the log from its start only
	// when no reader still uses it, and under steady reads the file kept
	// growing at its end (an hour's soak: 2 → 44 MB); the limit truncates it
	// back when a checkpoint does restart it.
	write, err = openPool(path, true,
		busy, "journal_mode = WAL", "synchronous = FULL", "foreign_keys = 1", "wal_autocheckpoint = 256", "temp_store = MEMORY",
		fmt.Sprintf("journal_size_limit = %d", WALSizeLimit))
	if err != nil {
		return nil, nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	// Open the write pool's connection first: it switches the file to WAL
	// (a setting kept in the file), which the read pool relies on.
	if err := write.PingContext(context.Background()); err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read, err = openPool(path, false, busy, "synchronous = FULL", "foreign_keys = 1", "query_only = 1")
	if err != nil {
		write.Close()
		return nil, nil, err
	}
	read.SetMaxOpenConns(ReadConns)
	read.SetMaxIdleConns(ReadConns)
	return write, read, nil
}

// createOwnerOnly creates path, empty, with mode 0600 when it does not
// exist (an empty file is an empty SQLite database). SQLite would create
// it 0644 less the umask, and its -wal and -shm files after it.
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return f.Close()
}
