// Package sqlstore is the one SQL implementation of store.Store, shared by
// the SQLite and PostgreSQL drivers. A driver opens its *sql.DB pools and
// describes itself with a Dialect (placeholders, error codes, migrations);
// every query lives here, written once with ? placeholders.
//
// Every write method runs in one transaction on the write pool and calls
// small private helpers that take the transaction; reads go to the read
// pool. With SQLite the write pool has a single connection, so writers queue
// in Go rather than on SQLITE_BUSY.
//
// Limits: timestamps are kept as unix microseconds, so times round to the
// microsecond; a nil Metadata map comes back as an empty map.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"github.com/paygate/paygate/internal/store"

	"github.com/paygate/paygate/internal/tracing"
)

// Dialect is what differs between the SQL databases Store runs on.
type Dialect struct {
	// Name names the database in errors ("sqlite", "postgres").
	Name string
	// NumberedPlaceholders makes Store rewrite ? placeholders as $1, $2, …
	// (PostgreSQL). When false, queries are sent with ? as written.
	NumberedPlaceholders bool
	// IsUniqueViolation reports whether err is a unique or primary key
	// violation; Store reports those as store.ErrConflict.
	IsUniqueViolation func(err error) bool
	// Migrations holds the schema as files named NNNN_description.sql,
	// applied in order by Migrate.
	Migrations fs.FS
	// CacheStatements keeps each query prepared, once per connection, instead
	// of parsing it on every call (SQLite: parsing was a fifth of the CPU of
	// a create-order). Leave it off where the driver caches itself (pgx).
	CacheStatements bool
	// LockMigrations, when set, is run first in the migration transaction to
	// keep other processes from migrating at the same time (PostgreSQL: an
	// advisory lock). Leave it nil when the transaction itself excludes
	// other writers (SQLite with BEGIN IMMEDIATE).
	LockMigrations func(ctx context.Context, tx *sql.Tx) error
	// SkipLocked ends the SELECT with which DeliveriesClaim picks rows to
	// lease, so that a claim passes over rows a concurrent claim has locked
	// instead of waiting for them and then finding them leased (PostgreSQL:
	// "FOR UPDATE SKIP LOCKED"). Leave it empty when write transactions
	// never run at the same time (SQLite).
	SkipLocked string
	// LockKey is an SQL expression with one ? placeholder (a text key) that
	// takes a lock held until the transaction ends, serializing the write
	// transactions that take the same key (PostgreSQL: an advisory
	// transaction lock). Leave it empty when write transactions never run
	// at the same time (SQLite).
	LockKey string
	// WritableCTE is set when a WITH clause may hold an UPDATE … RETURNING
	// whose rows a following INSERT reads (PostgreSQL), so two dependent
	// writes are one statement.
	WritableCTE bool
}

// Store implements store.Store over database/sql.
type Store struct {
	write     *sql.DB
	read      *sql.DB
	dialect   *Dialect
	committer *committer    // nil without group commit
	orders    *orderBatcher // nil without insert batching
	keys      *keyCache     // nil without the key cache (keycache.go)
	stmts     *stmtBatcher  // nil without statement batching (stmtbatch.go)
	// Prepared statements by query, per pool, when the dialect caches them.
	writeStmts, readStmts *stmtCache
}

var _ store.Store = (*Store)(nil)

// New returns a Store that writes through write and reads through read,
// which may be the same pool. The Store owns both and closes them in Close.
func New(write, read *sql.DB, d Dialect) *Store {
	if read == nil {
		read = write
	}
	s := &Store{write: write, read: read, dialect: &d}
	if d.CacheStatements {
		// Only reads: the write pool's single connection is held by a
		// transaction while its statements run, so preparing on the pool
		// would wait for itself. Group commit caches writes on its own conn.
		s.readStmts = &stmtCache{prepare: read.PrepareContext}
	}
	return s
}

// EnableGroupCommit makes every write method run inside a shared batch
// transaction committed once for many writers (see groupcommit.go). Use it
// only when the write pool has a single connection (SQLite). Call it before
// the store is used.
func (s *Store) EnableGroupCommit(cfg GroupCommit) error {
	wc, err := s.write.Conn(context.Background())
	if err != nil {
		return fmt.Errorf("%s: group commit: %w", s.dialect.Name, err)
	}
	if s.dialect.CacheStatements {
		s.writeStmts = &stmtCache{prepare: wc.PrepareContext}
	}
	s.committer = newCommitter(wc, s.writeStmts, s.dialect, cfg)
	return nil
}

// Close stops group commit and closes the pools.
func (s *Store) Close() error {
	if s.orders != nil {
		s.orders.close()
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	s.writeStmts.close()
	s.readStmts.close()
	if s.committer != nil {
		s.committer.close()
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// ExecRaw runs query, written with ? placeholders, on the write pool outside
// any of Store's rules. It exists for tests that damage the database on
// purpose (to prove LedgerVerify notices) and for operators' one-off
// repairs; nothing in Paygate's request path calls it.
// QueryRawInt64 runs a query of one integer (? placeholders) on the read
// pool: for measuring tools (paygate bench soak), not the gateway's paths.
func (s *Store) QueryRawInt64(ctx context.Context, query string, args ...any) (int64, error) {
	var n sql.NullInt64
	err := s.read.QueryRowContext(ctx, s.dialect.rebind(query), args...).Scan(&n)
	return n.Int64, err
}

// DatabaseName names the database behind s: "sqlite" or "postgres".
func (s *Store) DatabaseName() string { return s.dialect.Name }

func (s *Store) ExecRaw(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, query, args...)
		if err != nil {
			return err
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n = rows
		return nil
	})
	return n, err
}

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs queries written with ? placeholders on a pool or a transaction,
// rewriting them for the dialect. Helpers take a conn so that one helper
// serves a read on the read pool and the same read inside a write transaction.
type conn struct {
	q queryer
	d *Dialect
	// stmts, when set, holds the queries prepared on the connection q runs on.
	stmts *stmtCache
	// detach runs statements without the caller's cancellation (group
	// commit: see detached).
	detach bool
	// pending, in a write-behind transaction, holds the inserts waiting
	// for the transaction's next statement (see writebehind.go).
	pending *writes
}

// stmt returns a prepared statement for query, or nil when c does not
// cache statements. Statements are cached only where they run on the
// connection c runs on: the read pool's, or the group committer's own
// connection, whose open batch transaction they then run in (binding them
// with Tx.Stmt instead would prepare them again on every call).
func (c conn) stmt(query string) *sql.Stmt {
	if c.stmts == nil {
		return nil
	}
	return c.stmts.get(c.d.rebind(query))
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	if st := c.stmt(query); st != nil {
		res, err := st.ExecContext(c.ctx(ctx), args...)
		return res, c.d.interpret(err)
	}
	res, err := c.q.ExecContext(ctx, c.d.rebind(query), args...)
	return res, c.d.interpret(err)
}

// script runs a script of several statements (a migration). It is never
// prepared: a prepared statement is one statement, and the C SQLite
// driver would run only the script's first.
func (c conn) script(ctx context.Context, script string) error {
	_, err := c.q.ExecContext(ctx, c.d.rebind(script))
	return c.d.interpret(err)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	if st := c.stmt(query); st != nil {
		rows, err := st.QueryContext(c.ctx(ctx), args...)
		return rows, c.d.interpret(err)
	}
	rows, err := c.q.QueryContext(ctx, c.d.rebind(query), args...)
	return rows, c.d.interpret(err)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if err := c.flush(ctx); err != nil {
		// The transaction has failed (inWriteBehindTx reports why); a
		// *sql.Row cannot carry an error of one's own, so the row is that
		// of a query that cannot run.
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		return c.q.QueryRowContext(canceled, c.d.rebind(query), args...)
	}
	if st := c.stmt(query); st != nil {
		return st.QueryRowContext(c.ctx(ctx), args...)
	}
	return c.q.QueryRowContext(ctx, c.d.rebind(query), args...)
}

// ctx is the context statements run with: the caller's, or without its
// cancellation when c is detached.
func (c conn) ctx(ctx context.Context) context.Context {
	if c.detach {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// stmtCache keeps one *sql.Stmt per query text, prepared on a pool (where
// database/sql prepares it on each connection the first time that
// connection runs it) or on one connection.
type stmtCache struct {
	prepare func(ctx context.Context, query string) (*sql.Stmt, error)
	m       sync.Map // rebound query → *sql.Stmt
}

// get returns the statement for query, preparing it on first use; nil when
// it cannot be prepared (the caller then runs the query unprepared, and
// reports its error).
func (sc *stmtCache) get(query string) *sql.Stmt {
	if v, ok := sc.m.Load(query); ok {
		return v.(*sql.Stmt)
	}
	st, err := sc.prepare(context.Background(), query)
	if err != nil {
		return nil
	}
	if v, loaded := sc.m.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt)
	}
	return st
}

func (sc *stmtCache) close() {
	if sc == nil {
		return
	}
	sc.m.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
}

// tx is a write transaction with its conn: a transaction of its own, or,
// with group commit, a turn inside a batch transaction.
type tx struct {
	conn
	tx   *sql.Tx
	turn *turn // set with group commit
	done bool
}

// inTx runs fn in a write transaction and commits it: with group commit,
// as a turn the committer runs itself in a batch; otherwise in a
// transaction of its own. fn's error rolls its work back and is returned.
func (s *Store) inTx(ctx context.Context, fn func(*tx) error) (err error) {
	if tracing.Enabled() {
		var end func(error)
		ctx, end = s.traceTurn(ctx, "store tx")
		defer func() { end(err) }()
	}
	if s.committer != nil {
		return s.committer.do(ctx, fn)
	}
	if s.dialect.WritableCTE {
		return s.inWriteBehindTx(ctx, fn)
	}
	t, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if err := fn(t); err != nil {
		return err
	}
	return t.commit()
}

// inStmt runs fn, which issues exactly one statement, as a write of its
// own: a turn in the batch with group commit; without it (PostgreSQL), the
// statement alone in autocommit, one round trip instead of three (BEGIN,
// the statement, COMMIT), since a single statement is atomic by itself.
func (s *Store) inStmt(ctx context.Context, fn func(conn) error) (err error) {
	if tracing.Enabled() {
		var end func(error)
		ctx, end = s.traceTurn(ctx, "store write")
		defer func() { end(err) }()
	}
	if s.committer != nil {
		return s.committer.do(ctx, func(t *tx) error { return fn(t.conn) })
	}
	return fn(conn{q: s.write, d: s.dialect})
}

// begin opens a write transaction on the write pool (or waits for a turn in
// a group-commit batch).
func (s *Store) begin(ctx context.Context) (*tx, error) {
	if s.committer != nil {
		return s.committer.begin(ctx)
	}
	t, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: begin: %w", s.dialect.Name, err)
	}
	return &tx{tx: t, conn: conn{q: t, d: s.dialect}}, nil
}

// commit commits t, translating the driver's error. With group commit it
// returns once the batch holding t is durable.
func (t *tx) commit() error {
	t.done = true
	if t.turn != nil {
		t.turn.keep <- true
		return <-t.turn.durable
	}
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", t.d.Name, t.d.interpret(err))
	}
	return nil
}

// Rollback discards t's writes; after commit it does nothing, so write
// methods can defer it.
func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	if t.turn != nil {
		t.turn.keep <- false
		<-t.turn.durable // see batch: a failed writer returns once its batch has committed
		return nil
	}
	return t.tx.Rollback()
}

// reader is a conn on the read pool.
func (s *Store) reader() conn { return conn{q: s.read, d: s.dialect, stmts: s.readStmts} }

// interpret translates driver errors into the store's vocabulary in one
// place: no rows is store.ErrNotFound, a unique violation store.ErrConflict.
// Other errors pass through unchanged.
func (d *Dialect) interpret(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case d.IsUniqueViolation != nil && d.IsUniqueViolation(err):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}

// rebind rewrites ? placeholders as $1, $2, … when the dialect numbers them.
// A ? inside a quoted string literal is left alone.
func (d *Dialect) rebind(query string) string {
	if !d.NumberedPlaceholders || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case ch == '\'':
			quoted = !quoted
		case ch == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// collect scans every row of rows with scan.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryAll runs a query and scans every row.
func queryAll[T any](ctx context.Context, c conn, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// queryOne runs a query expected to return one row and scans it;
// no row is store.ErrNotFound.
func queryOne[T any](ctx context.Context, c conn, scan func(rowScanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(c.queryRow(ctx, query, args...))
	return v, c.d.interpret(err)
}

// affected returns the rows a statement changed.
func affected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}
