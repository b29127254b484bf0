package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// balanceShards is how many rows each account's balance is spread over.
const balanceShards = 64

// writeEffects writes what a status change returned from its Effects func:
// the journal entries, the balances they move, and the events with the
// deliveries each is owed (see fanOut). An entry or
// event without an id gets one, and without a time gets at. An entry that
// does not validate is refused with its error.
func writeEffects(ctx context.Context, c conn, eff store.Effects, at time.Time) error {
	var w writes
	var lines []ledger.Line
	for i := range eff.Entries {
		e := &eff.Entries[i]
		if e.ID == "" {
			e.ID = id.New(id.Entry, at)
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = at
		}
		if err := e.Validate(); err != nil {
			return err
		}
		addEntry(&w, e)
		lines = append(lines, e.Lines...)
	}
	addBalances(&w, lines)
	var endpoints map[string][]*store.WebhookEndpoint // per app, read once per transaction by fanOut
	for _, ev := range eff.Events {
		if ev.ID == "" {
			ev.ID = id.New(id.Event, at)
		}
		if ev.CreatedAt.IsZero() {
			ev.CreatedAt = at
		}
		addEvent(ctx, &w, ev)
		if endpoints == nil {
			endpoints = map[string][]*store.WebhookEndpoint{}
		}
		if err := fanOut(ctx, c, &w, ev, endpoints); err != nil {
			return err
		}
	}
	return c.laterAll(ctx, &w)
}

// writes are INSERTs (and upserts) that depend on nothing but their own
// arguments, gathered to be sent together: on a dialect with WritableCTE
// as one statement (each but the last a WITH clause), so a status change's
// entries, lines, balances, events and deliveries cost one round trip
// rather than one each; elsewhere one after the other, in order.
type writes struct {
	queries []string
	whats   []string // what each query does, for errors
	nargs   []int    // how many of args each query takes
	args    []any
	// upserts names what the queries upsert into (INSERT … ON CONFLICT DO
	// UPDATE): a table, or a table and one row of it ("table\x00row"). One
	// statement may not update a row twice, so two upserts into one row, or
	// into one table when either names no row, never go in one statement
	// (conn.laterAll, stmtbatch.go).
	upserts []string
	// err, in a write-behind transaction's pending writes, is the error
	// with which they were sent, when they failed (see conn.flush).
	err error
}

// addUpsert is add for an INSERT … ON CONFLICT DO UPDATE into table (rows
// not named).
func (w *writes) addUpsert(table, what, query string, args ...any) {
	w.add(what, query, args...)
	w.upserts = append(w.upserts, table)
}

// addUpsertRow is add for an upsert of one row of table, which row names
// (its conflict key).
func (w *writes) addUpsertRow(table, row, what, query string, args ...any) {
	w.add(what, query, args...)
	w.upserts = append(w.upserts, table+"\x00"+row)
}

// upsertsInto reports whether w upserts into what any of upserts does (see
// writes.upserts).
func (w *writes) upsertsInto(upserts []string) bool {
	for _, a := range upserts {
		for _, b := range w.upserts {
			if upsertsCollide(a, b) {
				return true
			}
		}
	}
	return false
}

func upsertsCollide(a, b string) bool {
	if a == b {
		return true
	}
	ta, rowA, _ := strings.Cut(a, "\x00")
	tb, rowB, _ := strings.Cut(b, "\x00")
	return ta == tb && (rowA == "" || rowB == "")
}

func (w *writes) add(what, query string, args ...any) {
	w.queries = append(w.queries, query)
	w.whats = append(w.whats, what)
	w.nargs = append(w.nargs, len(args))
	w.args = append(w.args, args...)
}

func (w *writes) exec(ctx context.Context, c conn) error {
	switch {
	case len(w.queries) == 0:
		return nil
	case len(w.queries) == 1 || !c.d.WritableCTE:
		args := w.args
		for i, q := range w.queries {
			n := w.nargs[i]
			if _, err := c.exec(ctx, q, args[:n]...); err != nil {
				return fmt.Errorf("%s: %w", w.whats[i], err)
			}
			args = args[n:]
		}
		return nil
	}
	var b strings.Builder
	last := len(w.queries) - 1
	for i, q := range w.queries[:last] {
		if i == 0 {
			b.WriteString("WITH ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "w%d AS (%s)", i, q)
	}
	b.WriteString(" ")
	b.WriteString(w.queries[last])
	if _, err := c.exec(ctx, b.String(), w.args...); err != nil {
		what := w.whats
		if len(what) > 3 {
			what = append(what[:3:3], fmt.Sprintf("%d more", len(w.whats)-3))
		}
		return fmt.Errorf("%s: %w", strings.Join(what, "; "), err)
	}
	return nil
}

// addEntry adds the inserts of a journal entry and its lines to w.
func addEntry(w *writes, e *ledger.Entry) {
	w.add(fmt.Sprintf("insert %s entry %s of %s", e.Kind, e.ID, e.RefID),
		`INSERT INTO ledger_entries (id, kind, ref_id, created_at) VALUES (?, ?, ?, ?)`, e.ID, e.Kind, e.RefID, micros(e.CreatedAt))
	if len(e.Lines) == 0 {
		return
	}
	// One statement for all the lines: statements, not rows, are what a
	// write costs the single SQLite writer.
	args := make([]any, 0, 5*len(e.Lines))
	for i, l := range e.Lines {
		args = append(args, e.ID, i, l.Account, l.Currency, l.Amount)
	}
	w.add(fmt.Sprintf("insert the %d lines of entry %s", len(e.Lines), e.ID),
		`INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount) VALUES `+valueRows(len(e.Lines), 5), args...)
}

// valueRows is "(?, ?), (?, ?)" for rows rows of cols columns.
func valueRows(rows, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(row+", ", rows-1) + row
}

// addBalances adds lines into the account balances. The lines are summed per
// account and currency, and each sum is added into one of the account's
// shard rows, chosen at random, so that concurrent payments to a hot
// account mostly lock different rows. The upserts run in account order so
// that two transactions never lock the same two rows in opposite orders.
func addBalances(w *writes, lines []ledger.Line) {
	type key struct{ account, currency string }
	sums := map[key]int64{}
	for _, l := range lines {
		sums[key{l.Account, l.Currency}] += l.Amount
	}
	keys := make([]key, 0, len(sums))
	for k, v := range sums {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.currency, b.currency))
	})
	if len(keys) == 0 {
		return
	}
	// One upsert for all the accounts; both databases take its rows in
	// order, so the locks are still taken in account order.
	args := make([]any, 0, 4*len(keys))
	for _, k := range keys {
		args = append(args, k.account, k.currency, rand.IntN(balanceShards), sums[k])
	}
	w.addUpsert("account_balances", fmt.Sprintf("add to the balances of %d accounts", len(keys)),
		`INSERT INTO account_balances (account, currency, shard, amount) VALUES `+valueRows(len(keys), 4)+`
		ON CONFLICT (account, currency, shard) DO UPDATE SET amount = account_balances.amount + excluded.amount`, args...)
}

// Balances sums the shards of every account whose name starts with prefix,
// ordered by account and currency. The prefix is matched as a range of
// names (ids and accounts sort byte by byte in both databases), so it needs
// no LIKE escaping and uses the primary key.
func (s *Store) Balances(ctx context.Context, accountPrefix string) ([]ledger.Balance, error) {
	var f filter
	if accountPrefix != "" {
		end, bounded, err := prefixEnd(accountPrefix)
		if err != nil {
			return nil, err
		}
		f.and("account >= ?", accountPrefix)
		if bounded {
			f.and("account < ?", end)
		}
	}
	bs, err := queryAll(ctx, s.reader(), func(r rowScanner) (ledger.Balance, error) {
		var b ledger.Balance
		return b, r.Scan(&b.Account, &b.Currency, &b.Amount)
	}, `SELECT account, currency, CAST(SUM(amount) AS BIGINT) FROM account_balances`+f.where()+`
		GROUP BY account, currency ORDER BY account, currency`, f.args...)
	if err != nil {
		return nil, fmt.Errorf("balances of %q: %w", accountPrefix, err)
	}
	return bs, nil
}

// prefixEnd returns the least string greater than every string that starts
// with prefix, in byte order (which for UTF-8 is code point order): prefix
// with its last rune incremented. bounded is false when there is no such
// string (prefix is all U+10FFFF).
func prefixEnd(prefix string) (end string, bounded bool, err error) {
	if !utf8.ValidString(prefix) {
		return "", false, fmt.Errorf("balances: account prefix %q is not UTF-8", prefix)
	}
	r := []rune(prefix)
	for len(r) > 0 {
		last := r[len(r)-1]
		if last < utf8.MaxRune {
			next := last + 1
			if next >= 0xD800 && next <= 0xDFFF { // surrogates are not runes
				next = 0xE000
			}
			r[len(r)-1] = next
			return string(r), true, nil
		}
		r = r[:len(r)-1]
	}
	return "", false, nil
}

// LedgerEntries returns the entries that reference refID, oldest first, with
// their lines in order.
func (s *Store) LedgerEntries(ctx context.Context, refID string) ([]ledger.Entry, error) {
	type row struct {
		entry ledger.Entry
		line  ledger.Line
	}
	rows, err := queryAll(ctx, s.reader(), func(r rowScanner) (row, error) {
		var x row
		var created int64
		err := r.Scan(&x.entry.ID, &x.entry.Kind, &x.entry.RefID, &created, &x.line.Account, &x.line.Currency, &x.line.Amount)
		x.entry.CreatedAt = fromMicros(created)
		return x, err
	}, `SELECT e.id, e.kind, e.ref_id, e.created_at, l.account, l.currency, l.amount
		FROM ledger_entries e JOIN ledger_lines l ON l.entry_id = e.id
		WHERE e.ref_id = ? ORDER BY e.created_at, e.id, l.line_no`, refID)
	if err != nil {
		return nil, fmt.Errorf("ledger entries of %s: %w", refID, err)
	}
	var entries []ledger.Entry
	for _, x := range rows {
		if n := len(entries); n == 0 || entries[n-1].ID != x.entry.ID {
			entries = append(entries, x.entry)
		}
		last := &entries[len(entries)-1]
		last.Lines = append(last.Lines, x.line)
	}
	return entries, nil
}
