package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// Write-behind transactions (PostgreSQL). Most of a write transaction's
// statements are inserts whose results nobody reads: a risk attempt and
// its day's total, the order a create makes, a status change's entries,
// lines, balances, events and deliveries. On a dialect with WritableCTE a
// transaction of its own (inTx without group commit) keeps them pending
// (conn.later) and sends them together as one statement (writes.exec)
// just before its next statement, or at the end. A transaction that only
// ever had such inserts — a create — never begins at all: its one
// statement runs in autocommit, atomic on its own, so a create costs one
// round trip instead of five (BEGIN, three INSERTs, COMMIT).
//
// An insert's error (a unique violation, say) is so reported by the
// statement that sends it, later in the transaction or by the commit,
// rather than by the call that made it; it is the same error, and on
// PostgreSQL an error ends the transaction either way.

// lazyTx begins a transaction on its first statement.
type lazyTx struct {
	db  *sql.DB
	ctx context.Context
	tx  *sql.Tx
	err error
}

func (l *lazyTx) begin() (*sql.Tx, error) {
	if l.tx == nil && l.err == nil {
		l.tx, l.err = l.db.BeginTx(l.ctx, nil)
		if l.err != nil {
			l.err = fmt.Errorf("begin: %w", l.err)
		}
	}
	return l.tx, l.err
}

func (l *lazyTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, err := l.begin()
	if err != nil {
		return nil, err
	}
	return tx.ExecContext(ctx, query, args...)
}

func (l *lazyTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx, err := l.begin()
	if err != nil {
		return nil, err
	}
	return tx.QueryContext(ctx, query, args...)
}

func (l *lazyTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	tx, err := l.begin()
	if err != nil {
		// A *sql.Row cannot be made with an error of one's own: a
		// canceled context makes the row's Scan fail instead.
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		return l.db.QueryRowContext(canceled, query, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// inWriteBehindTx is inTx on a dialect with WritableCTE, without group
// commit.
func (s *Store) inWriteBehindTx(ctx context.Context, fn func(*tx) error) error {
	l := &lazyTx{db: s.write, ctx: ctx}
	pending := &writes{}
	t := &tx{conn: conn{q: l, d: s.dialect, pending: pending}}
	defer func() {
		if l.tx != nil {
			l.tx.Rollback() // after a commit it does nothing
		}
	}()
	if err := fn(t); err != nil {
		if pending.err != nil {
			return pending.err // what made the statements after it fail
		}
		return err
	}
	if l.tx == nil {
		// Nothing but inserts: one statement, in autocommit, perhaps
		// together with other transactions' (stmtbatch.go).
		if s.stmts != nil && len(pending.queries) > 0 {
			return s.stmts.exec(ctx, pending)
		}
		return pending.exec(ctx, conn{q: s.write, d: s.dialect})
	}
	if err := t.conn.flush(ctx); err != nil {
		return err
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", s.dialect.Name, s.dialect.interpret(err))
	}
	return nil
}

// later runs an insert whose result is not read: at once, or, in a
// write-behind transaction, with the transaction's next statement (see
// writebehind.go). what names it in an error.
func (c conn) later(ctx context.Context, what, query string, args ...any) error {
	if c.pending != nil {
		c.pending.add(what, query, args...)
		return nil
	}
	if _, err := c.exec(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// laterAll is later for each of w's inserts. When the pending inserts
// upsert into a table w upserts into too, they are sent first: the two
// might update one row (a balance shard), which one statement may not.
func (c conn) laterAll(ctx context.Context, w *writes) error {
	if c.pending != nil {
		if c.pending.upsertsInto(w.upserts) {
			if err := c.flush(ctx); err != nil {
				return err
			}
		}
		c.pending.upserts = append(c.pending.upserts, w.upserts...)
		c.pending.queries = append(c.pending.queries, w.queries...)
		c.pending.whats = append(c.pending.whats, w.whats...)
		c.pending.nargs = append(c.pending.nargs, w.nargs...)
		c.pending.args = append(c.pending.args, w.args...)
		return nil
	}
	return w.exec(ctx, c)
}

// flush sends the pending inserts, if any, as one statement.
func (c conn) flush(ctx context.Context) error {
	if c.pending == nil || len(c.pending.queries) == 0 {
		return nil
	}
	w := *c.pending
	*c.pending = writes{}
	p := c.pending
	c.pending = nil
	if err := w.exec(ctx, c); err != nil {
		p.err = err
		return err
	}
	return nil
}
