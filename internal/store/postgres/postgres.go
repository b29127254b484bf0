// Package postgres is Paygate's store for several nodes: store.Store on
// PostgreSQL through pgx's database/sql driver. The SQL is sqlstore's; this
// package only opens the pool and says how PostgreSQL differs.
//
// Reads and writes share one pool. Transactions run at READ COMMITTED:
// the compare-and-set UPDATEs of sqlstore lock the row they change, and a
// racing UPDATE waits for that lock and then re-checks its WHERE clause
// against the committed row, so exactly one of two racing writers wins.
//
// Tables live in the first schema of the connection's search_path, so one
// database can hold several isolated Paygate schemas (the tests use one
// per test): add search_path=name to the URL.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/paygate/paygate/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pool settings.
const (
	// DefaultMaxConns is the pool size unless the URL sets pool_max_conns.
	DefaultMaxConns = 16
	// MaxConnLifetime is how long a connection is reused before it is
	// replaced, so that a failover or a load balancer change is picked up.
	MaxConnLifetime = 30 * time.Minute
	// MaxConnIdleTime is how long an idle connection is kept.
	MaxConnIdleTime = 5 * time.Minute
)

// migrationLockID is the first key of the advisory lock Migrate takes; the
// second is a hash of the schema, so that migrations of different schemas
// do not wait for each other.
const migrationLockID = 0x70617967 // "payg"

// uniqueViolation is PostgreSQL's SQLSTATE for unique_violation.
const uniqueViolation = "23505"

// Dialect describes PostgreSQL to sqlstore.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return sqlstore.Dialect{
		Name:                 "postgres",
		NumberedPlaceholders: true,
		IsUniqueViolation:    isUniqueViolation,
		Migrations:           sub,
		LockMigrations:       lockMigrations,
		SkipLocked:           "FOR UPDATE SKIP LOCKED",
		// Risk checks of one key (a payer, an IP, …) from any node take
		// turns: a transaction-scoped advisory lock, keyed in the schema.
		LockKey: "pg_advisory_xact_lock(hashtext(current_schema()), hashtext(?))",
	}
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

// lockMigrations takes a transaction-scoped advisory lock for the current
// schema: a second node migrating at once waits here, then finds the
// migrations recorded and does nothing.
func lockMigrations(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, migrationLockID)
	return err
}

// Open connects to the database at url (postgres://user@host:port/db?…).
// Besides libpq's parameters, the URL may set pool_max_conns (default
// DefaultMaxConns) and search_path. It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig connects with a parsed pgx configuration. A pool_max_conns
// runtime parameter sets the pool size and is not sent to the server.
func OpenConfig(ctx context.Context, cfg *pgx.ConnConfig) (*sqlstore.Store, error) {
	maxConns := DefaultMaxConns
	if v, ok := cfg.RuntimeParams["pool_max_conns"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("postgres: pool_max_conns %q is not a positive number", v)
		}
		maxConns = n
		cfg = cfg.Copy()
		delete(cfg.RuntimeParams, "pool_max_conns")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxLifetime(MaxConnLifetime)
	db.SetConnMaxIdleTime(MaxConnIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return sqlstore.New(db, db, Dialect()), nil
}
