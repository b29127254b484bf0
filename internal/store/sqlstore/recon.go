package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// Reconciliation runs, discrepancies, the reconciled rows they write, and
// the lookups a run makes. A run looks its bill's lines up a chunk at a
// time (ReconLookup: one IN query per few hundred ids), never one query
// per line, and inserts reconciled rows many to a statement.

const reconRunColumns = `id, channel_account_id, provider, livemode, bill_date, status, phase, pass, source, bill_format,
	bill_sha256, cursor_line, tallies, error, started_by, created_at, updated_at, completed_at`

const discrepancyColumns = `id, run_id, channel_account_id, livemode, bill_date, class, ref_kind, ref_id, merchant_id,
	channel_trade_no, channel_refund_no, line_no, bill_amount, bill_fee, gateway_amount, currency, detail, status, action,
	note, resolved_by, resolved_at, dedupe_key, created_at, updated_at`

func scanReconRun(r rowScanner) (*store.ReconRun, error) {
	var run store.ReconRun
	var tallies string
	var created, updated int64
	var completed sql.NullInt64
	if err := r.Scan(&run.ID, &run.ChannelAccountID, &run.Provider, &run.Livemode, &run.BillDate, &run.Status, &run.Phase,
		&run.Pass, &run.Source, &run.BillFormat, &run.BillSHA256, &run.Cursor, &tallies, &run.Error, &run.StartedBy,
		&created, &updated, &completed); err != nil {
		return nil, err
	}
	run.CreatedAt, run.UpdatedAt, run.CompletedAt = fromMicros(created), fromMicros(updated), fromNullMicros(completed)
	if err := json.Unmarshal([]byte(tallies), &run.Tallies); err != nil {
		return nil, fmt.Errorf("decode tallies of %s: %w", run.ID, err)
	}
	if run.Tallies == nil {
		run.Tallies = map[string]store.ReconTally{}
	}
	return &run, nil
}

func talliesJSON(t map[string]store.ReconTally) (string, error) {
	if t == nil {
		t = map[string]store.ReconTally{}
	}
	b, err := json.Marshal(t)
	return string(b), err
}

// ReconRunStart creates the run of its account and day unless there is one.
func (s *Store) ReconRunStart(ctx context.Context, r *store.ReconRun) (*store.ReconRun, bool, error) {
	tallies, err := talliesJSON(r.Tallies)
	if err != nil {
		return nil, false, err
	}
	var out *store.ReconRun
	var created bool
	err = s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `INSERT INTO recon_runs (`+reconRunColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel_account_id, bill_date) DO NOTHING`,
			r.ID, r.ChannelAccountID, r.Provider, r.Livemode, r.BillDate, r.Status, r.Phase, r.Pass, r.Source, r.BillFormat,
			r.BillSHA256, r.Cursor, tallies, r.Error, r.StartedBy, micros(r.CreatedAt), micros(r.UpdatedAt), nullMicros(r.CompletedAt))
		if err != nil {
			return fmt.Errorf("start reconciliation of %s on %s: %w", r.ChannelAccountID, r.BillDate, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		created = n == 1
		out, err = queryOne(ctx, tx.conn, scanReconRun, `SELECT `+reconRunColumns+` FROM recon_runs
			WHERE channel_account_id = ? AND bill_date = ?`, r.ChannelAccountID, r.BillDate)
		return err
	})
	return out, created, err
}

// ReconRunGet returns a run.
func (s *Store) ReconRunGet(ctx context.Context, id string) (*store.ReconRun, error) {
	return reconRunGet(ctx, s.reader(), id)
}

func reconRunGet(ctx context.Context, c conn, id string) (*store.ReconRun, error) {
	r, err := queryOne(ctx, c, scanReconRun, `SELECT `+reconRunColumns+` FROM recon_runs WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("reconciliation %s: %w", id, err)
	}
	return r, nil
}

// ReconRunByDay returns the run of an account's day.
func (s *Store) ReconRunByDay(ctx context.Context, accountID, billDate string) (*store.ReconRun, error) {
	r, err := queryOne(ctx, s.reader(), scanReconRun, `SELECT `+reconRunColumns+` FROM recon_runs
		WHERE channel_account_id = ? AND bill_date = ?`, accountID, billDate)
	if err != nil {
		return nil, fmt.Errorf("reconciliation of %s on %s: %w", accountID, billDate, err)
	}
	return r, nil
}

// ReconRunList pages through runs, newest first.
func (s *Store) ReconRunList(ctx context.Context, f store.ReconRunFilter) ([]*store.ReconRun, bool, error) {
	var w filter
	if f.ChannelAccountID != "" {
		w.and("channel_account_id = ?", f.ChannelAccountID)
	}
	if f.BillDate != "" {
		w.and("bill_date = ?", f.BillDate)
	}
	if f.Status != "" {
		w.and("status = ?", f.Status)
	}
	return listPage(ctx, s.reader(), `SELECT `+reconRunColumns+` FROM recon_runs`, w, f.ListParams, scanReconRun)
}

// ReconRunRestart begins the next pass of a finished run.
func (s *Store) ReconRunRestart(ctx context.Context, r *store.ReconRun, at time.Time) (*store.ReconRun, error) {
	var out *store.ReconRun
	err := s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `UPDATE recon_runs SET pass = pass + 1, cursor_line = 0, tallies = '{}', status = ?, phase = ?,
			error = '', source = ?, bill_format = ?, bill_sha256 = ?, started_by = ?, updated_at = ?, completed_at = NULL
			WHERE id = ? AND pass = ? AND status <> ?`,
			store.ReconRunning, store.PhaseMatch, r.Source, r.BillFormat, r.BillSHA256, r.StartedBy, micros(at), r.ID, r.Pass, store.ReconRunning)
		if err != nil {
			return fmt.Errorf("restart reconciliation %s: %w", r.ID, err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("restart reconciliation %s: %w", r.ID, store.ErrStale)
		}
		out, err = reconRunGet(ctx, tx.conn, r.ID)
		return err
	})
	return out, err
}

func (q txQueries) ReconRunGet(ctx context.Context, id string) (*store.ReconRun, error) {
	return reconRunGet(ctx, q.c, id)
}

func (q txQueries) ReconRunSave(ctx context.Context, r *store.ReconRun, fromCursor int) error {
	tallies, err := talliesJSON(r.Tallies)
	if err != nil {
		return err
	}
	res, err := q.c.exec(ctx, `UPDATE recon_runs SET status = ?, phase = ?, cursor_line = ?, tallies = ?, error = ?,
		updated_at = ?, completed_at = ? WHERE id = ? AND cursor_line = ? AND pass = ?`,
		r.Status, r.Phase, r.Cursor, tallies, r.Error, micros(r.UpdatedAt), nullMicros(r.CompletedAt), r.ID, fromCursor, r.Pass)
	if err != nil {
		return fmt.Errorf("save reconciliation %s: %w", r.ID, err)
	}
	if n, err := affected(res); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("save reconciliation %s: %w", r.ID, store.ErrStale)
	}
	return nil
}

// lookupBatch bounds the ids of one IN query (SQLite allows 32766
// parameters, PostgreSQL 65535; a few hundred keep plans cheap).
const lookupBatch = 1000

func (q txQueries) ReconLookup(ctx context.Context, kind string, ids []string) (map[string]*store.ReconTxn, error) {
	out := make(map[string]*store.ReconTxn, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), lookupBatch)
		batch := ids[:n]
		ids = ids[n:]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		var query string
		if kind == "refund" {
			query = `SELECT f.id, f.order_id, f.merchant_id, o.channel_account_id, f.livemode, f.status, f.amount, f.currency,
				o.channel_trade_no, r.bill_date, r.run_id
				FROM refunds f JOIN orders o ON o.id = f.order_id LEFT JOIN reconciled r ON r.ref_id = f.id
				WHERE f.id IN (` + placeholders(n) + `)`
		} else {
			query = `SELECT o.id, o.id, o.merchant_id, o.channel_account_id, o.livemode, o.status, o.amount, o.currency,
				o.channel_trade_no, r.bill_date, r.run_id
				FROM orders o LEFT JOIN reconciled r ON r.ref_id = o.id
				WHERE o.id IN (` + placeholders(n) + `)`
		}
		rows, err := q.c.query(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("look up %ss: %w", kind, err)
		}
		for rows.Next() {
			t := &store.ReconTxn{Kind: kind}
			var day, run sql.NullString
			if err := rows.Scan(&t.ID, &t.OrderID, &t.MerchantID, &t.ChannelAccountID, &t.Livemode, &t.Status, &t.Amount, &t.Currency,
				&t.ChannelTradeNo, &day, &run); err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up %ss: %w", kind, err)
			}
			t.ReconciledDay, t.ReconciledRun = day.String, run.String
			out[t.ID] = t
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("look up %ss: %w", kind, err)
		}
	}
	return out, nil
}

// reconciledPerStatement is how many rows one INSERT of reconciled carries.
const reconciledPerStatement = 500

func (q txQueries) ReconciledAdd(ctx context.Context, rows ...*store.Reconciled) error {
	for len(rows) > 0 {
		n := min(len(rows), reconciledPerStatement)
		batch := rows[:n]
		rows = rows[n:]
		args := make([]any, 0, n*9)
		for _, r := range batch {
			args = append(args, r.RefID, r.RefKind, r.ChannelAccountID, r.BillDate, r.ChannelFee, r.Currency, r.How, r.RunID, micros(r.ReconciledAt))
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")
		if _, err := q.c.exec(ctx, `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
			VALUES `+values, args...); err != nil {
			return fmt.Errorf("insert reconciled rows: %w", err)
		}
	}
	return nil
}

func scanDiscrepancy(r rowScanner) (*store.Discrepancy, error) {
	var d store.Discrepancy
	var resolved sql.NullInt64
	var created, updated int64
	if err := r.Scan(&d.ID, &d.RunID, &d.ChannelAccountID, &d.Livemode, &d.BillDate, &d.Class, &d.RefKind, &d.RefID, &d.MerchantID,
		&d.ChannelTradeNo, &d.ChannelRefundNo, &d.LineNo, &d.BillAmount, &d.BillFee, &d.GatewayAmount, &d.Currency, &d.Detail,
		&d.Status, &d.Action, &d.Note, &d.ResolvedBy, &resolved, &d.DedupeKey, &created, &updated); err != nil {
		return nil, err
	}
	d.ResolvedAt, d.CreatedAt, d.UpdatedAt = fromNullMicros(resolved), fromMicros(created), fromMicros(updated)
	return &d, nil
}

func (q txQueries) DiscrepancyAdd(ctx context.Context, ds ...*store.Discrepancy) ([]*store.Discrepancy, error) {
	var added []*store.Discrepancy
	for _, d := range ds {
		res, err := q.c.exec(ctx, `INSERT INTO recon_discrepancies (`+discrepancyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (dedupe_key) DO NOTHING`,
			d.ID, d.RunID, d.ChannelAccountID, d.Livemode, d.BillDate, d.Class, d.RefKind, d.RefID, d.MerchantID,
			d.ChannelTradeNo, d.ChannelRefundNo, d.LineNo, d.BillAmount, d.BillFee, d.GatewayAmount, d.Currency, cleanText(d.Detail),
			d.Status, d.Action, d.Note, d.ResolvedBy, nullMicros(d.ResolvedAt), d.DedupeKey, micros(d.CreatedAt), micros(d.UpdatedAt))
		if err != nil {
			return nil, fmt.Errorf("add discrepancy %s: %w", d.DedupeKey, err)
		}
		if n, err := affected(res); err != nil {
			return nil, err
		} else if n == 1 {
			added = append(added, d)
		}
	}
	return added, nil
}

func (q txQueries) DiscrepancyGet(ctx context.Context, id string) (*store.Discrepancy, error) {
	return discrepancyGet(ctx, q.c, id)
}

func discrepancyGet(ctx context.Context, c conn, id string) (*store.Discrepancy, error) {
	d, err := queryOne(ctx, c, scanDiscrepancy, `SELECT `+discrepancyColumns+` FROM recon_discrepancies WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("discrepancy %s: %w", id, err)
	}
	return d, nil
}

func (q txQueries) DiscrepancyClose(ctx context.Context, d *store.Discrepancy) error {
	res, err := q.c.exec(ctx, `UPDATE recon_discrepancies SET status = ?, action = ?, note = ?, resolved_by = ?, resolved_at = ?, updated_at = ?
		WHERE id = ? AND status = ?`, d.Status, d.Action, cleanText(d.Note), cleanText(d.ResolvedBy), nullMicros(d.ResolvedAt),
		micros(d.UpdatedAt), d.ID, store.DiscrepancyOpen)
	if err != nil {
		return fmt.Errorf("close discrepancy %s: %w", d.ID, err)
	}
	if n, err := affected(res); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("close discrepancy %s: %w", d.ID, store.ErrStale)
	}
	return nil
}

// DiscrepancyGet returns a discrepancy.
func (s *Store) DiscrepancyGet(ctx context.Context, id string) (*store.Discrepancy, error) {
	return discrepancyGet(ctx, s.reader(), id)
}

// DiscrepancyList pages through discrepancies, newest first.
func (s *Store) DiscrepancyList(ctx context.Context, f store.DiscrepancyFilter) ([]*store.Discrepancy, bool, error) {
	var w filter
	for _, c := range []struct{ col, v string }{
		{"run_id", f.RunID}, {"channel_account_id", f.ChannelAccountID}, {"bill_date", f.BillDate},
		{"class", f.Class}, {"status", f.Status}, {"merchant_id", f.MerchantID},
	} {
		if c.v != "" {
			w.and(c.col+" = ?", c.v)
		}
	}
	return listPage(ctx, s.reader(), `SELECT `+discrepancyColumns+` FROM recon_discrepancies`, w, f.ListParams, scanDiscrepancy)
}

// DiscrepanciesOpen lists a run's open discrepancies of the classes, oldest first.
func (s *Store) DiscrepanciesOpen(ctx context.Context, runID string, classes ...string) ([]*store.Discrepancy, error) {
	if len(classes) == 0 {
		return nil, nil
	}
	args := []any{runID, store.DiscrepancyOpen}
	for _, c := range classes {
		args = append(args, c)
	}
	ds, err := queryAll(ctx, s.reader(), scanDiscrepancy, `SELECT `+discrepancyColumns+` FROM recon_discrepancies
		WHERE run_id = ? AND status = ? AND class IN (`+placeholders(len(classes))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("open discrepancies of %s: %w", runID, err)
	}
	return ds, nil
}

// ReconUnbilled streams an account's succeeded, unreconciled transactions
// of a window that no discrepancy names.
func (s *Store) ReconUnbilled(ctx context.Context, accountID string, livemode bool, from, to time.Time, fn func(*store.ReconTxn) error) error {
	c := s.reader()
	queries := []struct {
		kind, query string
	}{
		{"payment", `SELECT o.id, o.id, o.merchant_id, o.channel_account_id, o.livemode, o.status, o.amount, o.currency,
			o.channel_trade_no, '', o.paid_at FROM orders o
			WHERE o.status = ` + sqlSucceeded + ` AND o.channel_account_id = ? AND o.livemode = ? AND o.paid_at >= ? AND o.paid_at < ?
			AND NOT EXISTS (SELECT 1 FROM reconciled r WHERE r.ref_id = o.id)
			AND NOT EXISTS (SELECT 1 FROM recon_discrepancies d WHERE d.ref_id = o.id)
			ORDER BY o.paid_at, o.id`},
		{"refund", `SELECT f.id, f.order_id, f.merchant_id, o.channel_account_id, f.livemode, f.status, f.amount, f.currency,
			o.channel_trade_no, f.channel_refund_no, f.succeeded_at FROM refunds f JOIN orders o ON o.id = f.order_id
			WHERE f.status = ` + sqlSucceeded + ` AND o.channel_account_id = ? AND f.livemode = ? AND f.succeeded_at >= ? AND f.succeeded_at < ?
			AND NOT EXISTS (SELECT 1 FROM reconciled r WHERE r.ref_id = f.id)
			AND NOT EXISTS (SELECT 1 FROM recon_discrepancies d WHERE d.ref_id = f.id)
			ORDER BY f.succeeded_at, f.id`},
	}
	for _, qq := range queries {
		rows, err := c.query(ctx, qq.query, accountID, livemode, micros(from), micros(to))
		if err != nil {
			return fmt.Errorf("unbilled %ss of %s: %w", qq.kind, accountID, err)
		}
		for rows.Next() {
			t := &store.ReconTxn{Kind: qq.kind}
			var at sql.NullInt64
			if err := rows.Scan(&t.ID, &t.OrderID, &t.MerchantID, &t.ChannelAccountID, &t.Livemode, &t.Status, &t.Amount, &t.Currency,
				&t.ChannelTradeNo, &t.ChannelRefundNo, &at); err != nil {
				rows.Close()
				return err
			}
			t.At = fromNullMicros(at)
			if err := fn(t); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("unbilled %ss of %s: %w", qq.kind, accountID, err)
		}
	}
	return nil
}

// ReconLatePayment returns a merchant's late-payment setting, "" when none.
func (s *Store) ReconLatePayment(ctx context.Context, merchantID string) (string, error) {
	var v string
	err := s.reader().queryRow(ctx, `SELECT late_payment FROM recon_settings WHERE merchant_id = ?`, merchantID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("late-payment setting of %s: %w", merchantID, err)
	}
	return v, nil
}

// ReconLatePaymentPut stores a merchant's late-payment setting.
func (s *Store) ReconLatePaymentPut(ctx context.Context, merchantID, value string, at time.Time) error {
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO recon_settings (merchant_id, late_payment, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (merchant_id) DO UPDATE SET late_payment = excluded.late_payment, updated_at = excluded.updated_at`,
			merchantID, value, micros(at)); err != nil {
			return fmt.Errorf("late-payment setting of %s: %w", merchantID, err)
		}
		return nil
	})
}

// DiscrepancySummary sums a run's discrepancies by class and status.
func (s *Store) DiscrepancySummary(ctx context.Context, runID string) ([]store.DiscrepancySum, error) {
	out, err := queryAll(ctx, s.reader(), func(r rowScanner) (store.DiscrepancySum, error) {
		var d store.DiscrepancySum
		err := r.Scan(&d.Class, &d.Status, &d.Count, &d.BillAmount, &d.BillFee, &d.GatewayAmount)
		return d, err
	}, `SELECT class, status, COUNT(*), CAST(COALESCE(SUM(bill_amount), 0) AS BIGINT), CAST(COALESCE(SUM(bill_fee), 0) AS BIGINT),
		CAST(COALESCE(SUM(gateway_amount), 0) AS BIGINT) FROM recon_discrepancies WHERE run_id = ? GROUP BY class, status ORDER BY class, status`, runID)
	if err != nil {
		return nil, fmt.Errorf("discrepancies of %s: %w", runID, err)
	}
	return out, nil
}

// DiscrepanciesGatewayOnly returns the open gateway_only discrepancies of
// a channel account, by the transaction they name.
func (s *Store) DiscrepanciesGatewayOnly(ctx context.Context, accountID string) (map[string]string, error) {
	out := map[string]string{}
	rows, err := s.reader().query(ctx, `SELECT ref_id, id FROM recon_discrepancies WHERE channel_account_id = ? AND class = 'gateway_only' AND status = ?`,
		accountID, store.DiscrepancyOpen)
	if err != nil {
		return nil, fmt.Errorf("gateway_only discrepancies of %s: %w", accountID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref, id string
		if err := rows.Scan(&ref, &id); err != nil {
			return nil, err
		}
		out[ref] = id
	}
	return out, rows.Err()
}
