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
	"net/url"
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
	// DefaultInsertBatchWorkers is how many batched order-insert
	// statements may run at once unless the URL sets insert_batch_workers.
	DefaultInsertBatchWorkers = 4
	// DefaultStatementBatchWorkers is how many statements of batched
	// write-behind transactions (a create's risk attempt, day's total and
	// order) may run at once unless the URL sets statement_batch_workers
	// (see sqlstore.StatementBatching).
	DefaultStatementBatchWorkers = 1
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
		LockKey:     "pg_advisory_xact_lock(hashtext(current_schema()), hashtext(?))",
		WritableCTE: true,
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

// OpenConfig connects with a parsed pgx configuration. Three runtime
// parameters are Paygate's and are not sent to the server: pool_max_conns
// sets the pool size, insert_batch_workers how many statements of batched
// order inserts may run at once (DefaultInsertBatchWorkers; 0 turns
// batching off, see sqlstore.InsertBatching), and statement_batch_workers
// how many statements of batched write-behind transactions
// (DefaultStatementBatchWorkers; 0 turns it off, see
// sqlstore.StatementBatching).
func OpenConfig(ctx context.Context, cfg *pgx.ConnConfig) (*sqlstore.Store, error) {
	maxConns, err := ownParam(&cfg, "pool_max_conns", DefaultMaxConns, 1)
	if err != nil {
		return nil, err
	}
	batchWorkers, err := ownParam(&cfg, "insert_batch_workers", DefaultInsertBatchWorkers, 0)
	if err != nil {
		return nil, err
	}
	stmtWorkers, err := ownParam(&cfg, "statement_batch_workers", DefaultStatementBatchWorkers, 0)
	if err != nil {
		return nil, err
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
	s := sqlstore.New(db, db, Dialect())
	if batchWorkers > 0 {
		s.EnableInsertBatching(sqlstore.InsertBatching{Workers: min(batchWorkers, maxConns)})
	}
	if stmtWorkers > 0 {
		s.EnableStatementBatching(sqlstore.StatementBatching{Workers: min(stmtWorkers, maxConns)})
	}
	return s, nil
}

// ownParams are the URL's runtime parameters that configure Paygate's pool
// rather than the server session.
var ownParams = []string{"pool_max_conns", "insert_batch_workers", "statement_batch_workers"}

// ServerConfig returns a copy of cfg without Paygate's own parameters, for
// connecting with another driver or pool (pgx, database/sql) directly.
func ServerConfig(cfg *pgx.ConnConfig) *pgx.ConnConfig {
	cfg = cfg.Copy()
	for _, name := range ownParams {
		delete(cfg.RuntimeParams, name)
	}
	return cfg
}

// ServerURL is ServerConfig for a URL: rawURL without Paygate's own
// parameters (rawURL unchanged when it does not parse).
func ServerURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	for _, name := range ownParams {
		q.Del(name)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ownParam takes the runtime parameter name out of *cfg (copying it first,
// so the caller's configuration is left as it was) and returns its value
// as a number of at least least, or def when it is not set.
func ownParam(cfg **pgx.ConnConfig, name string, def, least int) (int, error) {
	v, ok := (*cfg).RuntimeParams[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, fmt.Errorf("postgres: %s %q is not a number of at least %d", name, v, least)
	}
	*cfg = (*cfg).Copy()
	delete((*cfg).RuntimeParams, name)
	return n, nil
}
