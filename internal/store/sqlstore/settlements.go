package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Settlement batches, their lines, merchants' settlement settings and the
// runs' cursors. The batch's heavy lifting is set-based SQL: a batch's lines
// are inserted by INSERT … SELECT from the succeeded payments and refunds
// that reconciliation proved (the reconciled table), with the fee and net
// of each transaction read from its ledger entry, so a batch of any size
// never passes through Go's memory. Statement reads stream from a cursor.

const settlementColumns = `id, merchant_id, livemode, currency, day, settle_date, timezone, cutoff, status,
	gross, refunds, fees, adjustments, reserve_held, reserve_released, net, channel_fees, payment_count, refund_count,
	waiting_payment_count, waiting_payment_amount, waiting_refund_count, waiting_refund_amount,
	reserve_release_date, reserve_released_by, carried_to, bank_reference, payout_started_at, paid_at, created_at, updated_at,
	fx_currency, fx_net, fx_rate, fx_rate_id, fx_markup`

const settlementLineColumns = `kind, ref_id, settlement_id, currency, amount, fee, net, channel_fee, occurred_at`

// The kinds and statuses the queries below spell as literals, so that the
// partial indexes on succeeded orders and refunds apply.
const (
	sqlSucceeded      = `'` + string(store.OrderSucceeded) + `'`
	sqlKindPayment    = `'` + ledger.KindPayment + `'`
	sqlKindRefund     = `'` + ledger.KindRefund + `'`
	sqlLinePayment    = `'` + store.LinePayment + `'`
	sqlLineRefund     = `'` + store.LineRefund + `'`
	sqlCarriedForward = `'` + store.SettlementCarriedForward + `'`
	sqlLineKinds      = `'` + store.LinePayment + `', '` + store.LineRefund + `', '` + store.LineCarryForward + `', '` +
		store.LineReserveHold + `', '` + store.LineReserveRelease + `'`
)

// SettlementSettingsGet returns a merchant's settlement settings.
func (s *Store) SettlementSettingsGet(ctx context.Context, merchantID string) (*store.SettlementSettings, error) {
	st, err := queryOne(ctx, s.reader(), func(r rowScanner) (*store.SettlementSettings, error) {
		var st store.SettlementSettings
		var fees string
		var created, updated int64
		if err := r.Scan(&st.MerchantID, &st.SettleDays, &st.ReserveBps, &st.ReserveDays, &st.FixedFee, &fees, &created, &updated); err != nil {
			return nil, err
		}
		st.CreatedAt, st.UpdatedAt = fromMicros(created), fromMicros(updated)
		if err := json.Unmarshal([]byte(fees), &st.MethodFees); err != nil {
			return nil, fmt.Errorf("decode method fees: %w", err)
		}
		return &st, nil
	}, `SELECT merchant_id, settle_days, reserve_bps, reserve_days, fixed_fee, method_fees, created_at, updated_at
		FROM settlement_settings WHERE merchant_id = ?`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("settlement settings of %s: %w", merchantID, err)
	}
	return st, nil
}

// SettlementSettingsPut creates or replaces a merchant's settlement settings
// (its CreatedAt is kept when it had some).
func (s *Store) SettlementSettingsPut(ctx context.Context, st *store.SettlementSettings) error {
	fees := st.MethodFees
	if fees == nil {
		fees = []store.MethodFee{}
	}
	b, err := json.Marshal(fees)
	if err != nil {
		return fmt.Errorf("settlement settings of %s: encode method fees: %w", st.MerchantID, err)
	}
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO settlement_settings
			(merchant_id, settle_days, reserve_bps, reserve_days, fixed_fee, method_fees, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (merchant_id) DO UPDATE SET settle_days = excluded.settle_days, reserve_bps = excluded.reserve_bps,
				reserve_days = excluded.reserve_days, fixed_fee = excluded.fixed_fee, method_fees = excluded.method_fees,
				updated_at = excluded.updated_at`,
			st.MerchantID, st.SettleDays, st.ReserveBps, st.ReserveDays, st.FixedFee, string(b),
			micros(st.CreatedAt), micros(st.UpdatedAt)); err != nil {
			return fmt.Errorf("put settlement settings of %s: %w", st.MerchantID, err)
		}
		return nil
	})
}

// SettlementGet returns the settlement with id.
func (s *Store) SettlementGet(ctx context.Context, id string) (*store.Settlement, error) {
	return settlementGet(ctx, s.reader(), id)
}

func settlementGet(ctx context.Context, c conn, id string) (*store.Settlement, error) {
	st, err := queryOne(ctx, c, scanSettlement, `SELECT `+settlementColumns+` FROM settlements WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("settlement %s: %w", id, err)
	}
	return st, nil
}

// SettlementGetInScope returns the settlement with id if it is the scope's.
func (s *Store) SettlementGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Settlement, error) {
	st, err := queryOne(ctx, s.reader(), scanSettlement, `SELECT `+settlementColumns+` FROM settlements
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("settlement %s of %s: %w", id, sc.MerchantID, err)
	}
	return st, nil
}

// SettlementList pages through settlements, newest first.
func (s *Store) SettlementList(ctx context.Context, f store.SettlementFilter) ([]*store.Settlement, bool, error) {
	var w filter
	if f.MerchantID != "" {
		w.and("merchant_id = ?", f.MerchantID)
	}
	if f.Livemode != nil {
		w.and("livemode = ?", *f.Livemode)
	}
	if f.Status != "" {
		w.and("status = ?", f.Status)
	}
	if f.Currency != "" {
		w.and("currency = ?", f.Currency)
	}
	if f.Day != "" {
		w.and("day = ?", f.Day)
	}
	out, more, err := listPage(ctx, s.reader(), `SELECT `+settlementColumns+` FROM settlements`, w, f.ListParams, scanSettlement)
	if err != nil {
		return nil, false, fmt.Errorf("list settlements: %w", err)
	}
	return out, more, nil
}

// lineOrder is the order of a batch's lines: by time, then kind and reference.
const lineOrder = ` ORDER BY l.occurred_at, l.kind, l.ref_id`

// SettlementLines pages through a batch's lines.
func (s *Store) SettlementLines(ctx context.Context, settlementID, afterRef string, limit int) ([]*store.SettlementLine, bool, error) {
	limit = pageLimit(limit)
	var w filter
	w.and("l.settlement_id = ?", settlementID)
	if afterRef != "" {
		after, err := queryOne(ctx, s.reader(), scanSettlementLine, `SELECT `+settlementLineColumns+`, '' FROM settlement_lines
			WHERE kind IN (`+sqlLineKinds+`) AND ref_id = ? AND settlement_id = ? ORDER BY kind LIMIT 1`, afterRef, settlementID)
		if err != nil {
			return nil, false, fmt.Errorf("lines of settlement %s after %s: %w", settlementID, afterRef, err)
		}
		w.and("(l.occurred_at, l.kind, l.ref_id) > (?, ?, ?)", micros(after.OccurredAt), after.Kind, after.RefID)
	}
	lines, err := queryAll(ctx, s.reader(), scanSettlementLine, `SELECT `+prefixed("l.", settlementLineColumns)+`, ''
		FROM settlement_lines l`+w.where()+lineOrder+` LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("lines of settlement %s: %w", settlementID, err)
	}
	more := len(lines) > limit
	if more {
		lines = lines[:limit]
	}
	return lines, more, nil
}

// SettlementLinesEach streams a batch's lines with the merchant's numbers
// of their payments and refunds.
func (s *Store) SettlementLinesEach(ctx context.Context, settlementID string, fn func(*store.SettlementLine) error) error {
	rows, err := s.reader().query(ctx, `SELECT `+prefixed("l.", settlementLineColumns)+`, COALESCE(o.out_trade_no, f.out_refund_no, '')
		FROM settlement_lines l
		LEFT JOIN orders o ON l.kind = `+sqlLinePayment+` AND o.id = l.ref_id
		LEFT JOIN refunds f ON l.kind = `+sqlLineRefund+` AND f.id = l.ref_id
		WHERE l.settlement_id = ?`+lineOrder, settlementID)
	if err != nil {
		return fmt.Errorf("stream lines of settlement %s: %w", settlementID, err)
	}
	return each(rows, scanSettlementLine, fn)
}

// each scans every row of rows and calls fn with it, stopping at the first
// error; the rows are closed when it returns.
func each[T any](rows *sql.Rows, scan func(rowScanner) (T, error), fn func(T) error) error {
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// prefixed qualifies each of a comma-separated list of columns with p.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// The windows of a merchant's transactions in one mode. Each is spelled so
// that the partial indexes orders_settle and refunds_settle apply.

// paymentsIn is the WHERE clause of orders o in w (and its currency when set).
func paymentsIn(w store.SettlementWindow) (string, []any) {
	// An order paid with profit sharing is not settled: its money is
	// shared and released by internal/profitsharing.
	q := `o.merchant_id = ? AND o.livemode = ? AND o.status = ` + sqlSucceeded + ` AND o.paid_at >= ? AND o.paid_at < ? AND o.profit_sharing = ?`
	args := []any{w.MerchantID, w.Livemode, micros(w.From), micros(w.Until), false}
	if w.Currency != "" {
		q += ` AND ` + orderSettleCurrency + ` = ?`
		args = append(args, w.Currency)
	}
	return q, args
}

// refundsIn is the WHERE clause of refunds f in w (and its currency when set).
func refundsIn(w store.SettlementWindow) (string, []any) {
	// A refund of an order paid with profit sharing takes its money from
	// the order's held money, not pending: it is not settled either.
	q := `f.merchant_id = ? AND f.livemode = ? AND f.status = ` + sqlSucceeded + ` AND f.succeeded_at >= ? AND f.succeeded_at < ?
		AND 0 = (SELECT COUNT(*) FROM profit_sharing_refunds x WHERE x.refund_id = f.id)`
	args := []any{w.MerchantID, w.Livemode, micros(w.From), micros(w.Until)}
	if w.Currency != "" {
		q += ` AND ` + refundSettleCurrency + ` = ?`
		args = append(args, w.Currency)
	}
	return q, args
}

// What an order o or a refund f credits or debits the merchant, in which
// currency: its settle_amount of settle_currency when it was paid at an FX
// quote (migration 0020), its own amount and currency otherwise. A
// transaction settles in the batch of that currency.
const (
	orderSettleCurrency  = `COALESCE(o.settle_currency, o.currency)`
	orderSettleAmount    = `COALESCE(o.settle_amount, o.amount)`
	refundSettleCurrency = `COALESCE(f.settle_currency, f.currency)`
	refundSettleAmount   = `COALESCE(f.settle_amount, f.amount)`
)

// Whether a transaction is settled, or reconciled, is asked per row with a
// scalar subquery on the other table's primary key rather than NOT EXISTS:
// PostgreSQL turns NOT EXISTS into an anti-join planned from the tables'
// statistics, and settlement_lines grows by a whole day's transactions
// within one run, long before autovacuum analyzes it: planned as tiny, the
// anti-join scanned every line of the kind for each transaction (a run
// quadratic in its size). A scalar subquery stays a lookup of one key.
const (
	paymentUnsettled    = ` AND 0 = (SELECT COUNT(*) FROM settlement_lines x WHERE x.kind = ` + sqlLinePayment + ` AND x.ref_id = o.id)`
	refundUnsettled     = ` AND 0 = (SELECT COUNT(*) FROM settlement_lines x WHERE x.kind = ` + sqlLineRefund + ` AND x.ref_id = f.id)`
	paymentUnreconciled = ` AND 0 = (SELECT COUNT(*) FROM reconciled r WHERE r.ref_id = o.id)`
	refundUnreconciled  = ` AND 0 = (SELECT COUNT(*) FROM reconciled r WHERE r.ref_id = f.id)`
)

// SettlementCurrencies lists the currencies with something to settle.
func (s *Store) SettlementCurrencies(ctx context.Context, w store.SettlementWindow, settleDate string) ([]string, error) {
	w.Currency = ""
	pw, pargs := paymentsIn(w)
	rw, rargs := refundsIn(w)
	args := append(append(pargs, rargs...), w.MerchantID, w.Livemode, settleDate)
	cs, err := queryAll(ctx, s.reader(), func(r rowScanner) (string, error) {
		var c string
		return c, r.Scan(&c)
	}, `SELECT `+orderSettleCurrency+` FROM orders o WHERE `+pw+paymentUnsettled+`
		UNION SELECT `+refundSettleCurrency+` FROM refunds f WHERE `+rw+refundUnsettled+`
		UNION SELECT s.currency FROM settlements s WHERE s.merchant_id = ? AND s.livemode = ? AND `+openSettlement+`
		ORDER BY 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("currencies to settle of %s: %w", w.MerchantID, err)
	}
	return cs, nil
}

// openSettlement is the condition on settlements s of a batch with a
// negative net not yet carried forward, or a reserve due for release by
// the date given as its one argument and not yet released.
const openSettlement = `((s.status = ` + sqlCarriedForward + ` AND s.net < 0 AND s.carried_to = '')
	OR (s.reserve_held > 0 AND s.reserve_released_by = '' AND s.reserve_release_date <= ?))`

// SettlementUnsettledSince returns when the oldest unsettled transaction
// of the window happened.
func (s *Store) SettlementUnsettledSince(ctx context.Context, w store.SettlementWindow) (time.Time, error) {
	pw, pargs := paymentsIn(w)
	rw, rargs := refundsIn(w)
	t, err := queryOne(ctx, s.reader(), func(r rowScanner) (sql.NullInt64, error) {
		var v sql.NullInt64
		return v, r.Scan(&v)
	}, `SELECT MIN(t) FROM (
			SELECT MIN(o.paid_at) AS t FROM orders o WHERE `+pw+paymentUnsettled+`
			UNION ALL SELECT MIN(f.succeeded_at) AS t FROM refunds f WHERE `+rw+refundUnsettled+`
		) AS x`, append(pargs, rargs...)...)
	if err != nil {
		return time.Time{}, fmt.Errorf("unsettled transactions of %s: %w", w.MerchantID, err)
	}
	if !t.Valid {
		return time.Time{}, fmt.Errorf("unsettled transactions of %s: %w", w.MerchantID, store.ErrNotFound)
	}
	return fromMicros(t.Int64), nil
}

// SettlementCursorGet returns a merchant's settlement cursor in one mode.
func (s *Store) SettlementCursorGet(ctx context.Context, merchantID string, livemode bool) (*store.SettlementCursor, error) {
	c, err := queryOne(ctx, s.reader(), func(r rowScanner) (*store.SettlementCursor, error) {
		var c store.SettlementCursor
		var scan, updated int64
		if err := r.Scan(&c.MerchantID, &c.Livemode, &c.LastDay, &scan, &updated); err != nil {
			return nil, err
		}
		c.ScanFrom, c.UpdatedAt = fromMicros(scan), fromMicros(updated)
		return &c, nil
	}, `SELECT merchant_id, livemode, last_day, scan_from, updated_at FROM settlement_cursors
		WHERE merchant_id = ? AND livemode = ?`, merchantID, livemode)
	if err != nil {
		return nil, fmt.Errorf("settlement cursor of %s: %w", merchantID, err)
	}
	return c, nil
}

// SettlementCursorPut creates or replaces a settlement cursor.
func (s *Store) SettlementCursorPut(ctx context.Context, c *store.SettlementCursor) error {
	return s.inStmt(ctx, func(cn conn) error {
		if _, err := cn.exec(ctx, `INSERT INTO settlement_cursors (merchant_id, livemode, last_day, scan_from, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (merchant_id, livemode) DO UPDATE SET last_day = excluded.last_day,
			scan_from = excluded.scan_from, updated_at = excluded.updated_at`,
			c.MerchantID, c.Livemode, c.LastDay, micros(c.ScanFrom), micros(c.UpdatedAt)); err != nil {
			return fmt.Errorf("put settlement cursor of %s: %w", c.MerchantID, err)
		}
		return nil
	})
}

// StatementTrades streams the succeeded payments of q's window.
func (s *Store) StatementTrades(ctx context.Context, q store.StatementQuery, fn func(*store.StatementTrade) error) error {
	rows, err := s.reader().query(ctx, `SELECT o.id, o.out_trade_no, o.app_id, o.method, o.channel, `+orderSettleCurrency+`, `+orderSettleAmount+`,
			l.amount, o.amount_refunded, o.paid_at, COALESCE(sl.settlement_id, ''),
			CASE WHEN o.fx_quote_id IS NULL THEN '' ELSE o.currency END,
			CASE WHEN o.fx_quote_id IS NULL THEN 0 ELSE o.amount END, COALESCE(o.fx_quote_id, ''), COALESCE(q.rate, '')
		FROM orders o
		JOIN ledger_entries e ON e.kind = `+sqlKindPayment+` AND e.ref_id = o.id
		JOIN ledger_lines l ON l.entry_id = e.id AND l.account = ?
		LEFT JOIN settlement_lines sl ON sl.kind = `+sqlLinePayment+` AND sl.ref_id = o.id
		LEFT JOIN fx_quotes q ON q.id = o.fx_quote_id
		WHERE o.merchant_id = ? AND o.livemode = ? AND o.status = `+sqlSucceeded+` AND o.paid_at >= ? AND o.paid_at < ?
		ORDER BY o.paid_at, o.id`, q.PendingAccount, q.MerchantID, q.Livemode, micros(q.From), micros(q.Until))
	if err != nil {
		return fmt.Errorf("statement trades of %s: %w", q.MerchantID, err)
	}
	return each(rows, func(r rowScanner) (*store.StatementTrade, error) {
		var t store.StatementTrade
		var paid int64
		err := r.Scan(&t.OrderID, &t.OutTradeNo, &t.AppID, &t.Method, &t.Channel, &t.Currency, &t.Amount, &t.Net,
			&t.AmountRefunded, &paid, &t.SettlementID, &t.PresentmentCurrency, &t.PresentmentAmount, &t.FXQuote, &t.FXRate)
		t.PaidAt = fromMicros(paid)
		return &t, err
	}, fn)
}

// StatementRefunds streams the succeeded refunds of q's window.
func (s *Store) StatementRefunds(ctx context.Context, q store.StatementQuery, fn func(*store.StatementRefund) error) error {
	rows, err := s.reader().query(ctx, `SELECT f.id, f.out_refund_no, f.order_id, f.app_id, `+refundSettleCurrency+`, `+refundSettleAmount+`,
			l.amount, f.succeeded_at, COALESCE(sl.settlement_id, '')
		FROM refunds f
		JOIN ledger_entries e ON e.kind = `+sqlKindRefund+` AND e.ref_id = f.id
		JOIN ledger_lines l ON l.entry_id = e.id AND l.account = ?
		LEFT JOIN settlement_lines sl ON sl.kind = `+sqlLineRefund+` AND sl.ref_id = f.id
		WHERE f.merchant_id = ? AND f.livemode = ? AND f.status = `+sqlSucceeded+` AND f.succeeded_at >= ? AND f.succeeded_at < ?
		ORDER BY f.succeeded_at, f.id`, q.PendingAccount, q.MerchantID, q.Livemode, micros(q.From), micros(q.Until))
	if err != nil {
		return fmt.Errorf("statement refunds of %s: %w", q.MerchantID, err)
	}
	return each(rows, func(r rowScanner) (*store.StatementRefund, error) {
		var f store.StatementRefund
		var at int64
		err := r.Scan(&f.RefundID, &f.OutRefundNo, &f.OrderID, &f.AppID, &f.Currency, &f.Amount, &f.Net, &at, &f.SettlementID)
		f.SucceededAt = fromMicros(at)
		return &f, err
	}, fn)
}

// The transaction's side: what a batch writes, as small helpers on one
// transaction's conn (see txQueries).

func insertSettlement(ctx context.Context, c conn, s *store.Settlement) error {
	if _, err := c.exec(ctx, `INSERT INTO settlements (`+settlementColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.MerchantID, s.Livemode, s.Currency, s.Day, s.SettleDate, s.Timezone, micros(s.Cutoff), s.Status,
		s.Gross, s.Refunds, s.Fees, s.Adjustments, s.ReserveHeld, s.ReserveReleased, s.Net, s.ChannelFees,
		s.PaymentCount, s.RefundCount, s.Waiting.Payments.Count, s.Waiting.Payments.Amount,
		s.Waiting.Refunds.Count, s.Waiting.Refunds.Amount, s.ReserveReleaseDate, s.ReserveReleasedBy, s.CarriedTo,
		s.BankReference, nullMicros(s.PayoutStartedAt), nullMicros(s.PaidAt), micros(s.CreatedAt), micros(s.UpdatedAt),
		nil, nil, nil, nil, nil); err != nil {
		return fmt.Errorf("create settlement %s of %s %s %s: %w", s.ID, s.MerchantID, s.Currency, s.Day, err)
	}
	return nil
}

// collectSettlement inserts the lines of the reconciled, unsettled payments
// and refunds of w into the batch. A transaction's net is its entry's line
// on the merchant's pending account; its fee is what the amount lost on
// the way (a refund's: the fee returned, negated). The channel's fee is
// reconciliation's; a payment a person resolved with no fee known (0) is
// charged the fee_bps of its channel account as an estimate. A transaction
// settled already (the window starts at the oldest one still waiting, so
// it holds settled ones too) conflicts on the lines' primary key and is
// passed over: ON CONFLICT DO NOTHING makes a repeat harmless by
// construction, with one key lookup per row.
func collectSettlement(ctx context.Context, c conn, settlementID string, w store.SettlementWindow) (int, error) {
	if w.Currency == "" {
		return 0, errors.New("collect settlement lines: the window has no currency")
	}
	pw, pargs := paymentsIn(w)
	res, err := c.exec(ctx, `INSERT INTO settlement_lines (`+settlementLineColumns+`)
		SELECT `+sqlLinePayment+`, o.id, ?, `+orderSettleCurrency+`, `+orderSettleAmount+`, `+orderSettleAmount+` - l.amount, l.amount,
			CASE WHEN r.how = 'resolved' AND r.channel_fee = 0
				THEN (`+orderSettleAmount+` * COALESCE(ca.fee_bps, 0) + 5000) / 10000 ELSE r.channel_fee END,
			o.paid_at
		FROM orders o
		JOIN reconciled r ON r.ref_id = o.id
		JOIN ledger_entries e ON e.kind = `+sqlKindPayment+` AND e.ref_id = o.id
		JOIN ledger_lines l ON l.entry_id = e.id AND l.account = ?
		LEFT JOIN channel_accounts ca ON ca.id = r.channel_account_id
		WHERE `+pw+`
		ON CONFLICT (kind, ref_id) DO NOTHING`, append([]any{settlementID, w.PendingAccount}, pargs...)...)
	if err != nil {
		return 0, fmt.Errorf("collect payments into settlement %s: %w", settlementID, err)
	}
	payments, err := affected(res)
	if err != nil {
		return 0, err
	}
	rw, rargs := refundsIn(w)
	res, err = c.exec(ctx, `INSERT INTO settlement_lines (`+settlementLineColumns+`)
		SELECT `+sqlLineRefund+`, f.id, ?, `+refundSettleCurrency+`, -`+refundSettleAmount+`, -`+refundSettleAmount+` - l.amount, l.amount, r.channel_fee, f.succeeded_at
		FROM refunds f
		JOIN reconciled r ON r.ref_id = f.id
		JOIN ledger_entries e ON e.kind = `+sqlKindRefund+` AND e.ref_id = f.id
		JOIN ledger_lines l ON l.entry_id = e.id AND l.account = ?
		WHERE `+rw+`
		ON CONFLICT (kind, ref_id) DO NOTHING`, append([]any{settlementID, w.PendingAccount}, rargs...)...)
	if err != nil {
		return 0, fmt.Errorf("collect refunds into settlement %s: %w", settlementID, err)
	}
	refunds, err := affected(res)
	if err != nil {
		return 0, err
	}
	return int(payments + refunds), nil
}

// settlementWaiting tallies the unreconciled payments and refunds of w
// (which cannot be settled: only reconciled transactions are).
func settlementWaiting(ctx context.Context, c conn, w store.SettlementWindow) (store.SettlementWaiting, error) {
	var out store.SettlementWaiting
	var since []int64
	pw, pargs := paymentsIn(w)
	rw, rargs := refundsIn(w)
	for _, q := range []struct {
		tally *store.Tally
		query string
		args  []any
	}{
		{&out.Payments, `SELECT COUNT(*), CAST(COALESCE(SUM(` + orderSettleAmount + `), 0) AS BIGINT), MIN(o.paid_at),
				CAST(COALESCE(SUM(CASE WHEN o.paid_at >= ? THEN 1 ELSE 0 END), 0) AS BIGINT)
			FROM orders o WHERE ` + pw + paymentUnreconciled,
			append([]any{micros(w.Recent)}, pargs...)},
		{&out.Refunds, `SELECT COUNT(*), CAST(COALESCE(SUM(` + refundSettleAmount + `), 0) AS BIGINT), MIN(f.succeeded_at),
				CAST(COALESCE(SUM(CASE WHEN f.succeeded_at >= ? THEN 1 ELSE 0 END), 0) AS BIGINT)
			FROM refunds f WHERE ` + rw + refundUnreconciled,
			append([]any{micros(w.Recent)}, rargs...)},
	} {
		var min sql.NullInt64
		var recent int
		if err := c.queryRow(ctx, q.query, q.args...).Scan(&q.tally.Count, &q.tally.Amount, &min, &recent); err != nil {
			return out, fmt.Errorf("waiting transactions of %s: %w", w.MerchantID, c.d.interpret(err))
		}
		out.Recent += recent
		if min.Valid {
			since = append(since, min.Int64)
		}
	}
	for _, t := range since {
		if out.Since.IsZero() || fromMicros(t).Before(out.Since) {
			out.Since = fromMicros(t)
		}
	}
	return out, nil
}

// settlementsOpen lists earlier batches with something left to carry or release.
func settlementsOpen(ctx context.Context, c conn, merchantID string, livemode bool, currency, settleDate string) ([]*store.Settlement, error) {
	out, err := queryAll(ctx, c, scanSettlement, `SELECT `+settlementColumns+` FROM settlements s
		WHERE s.merchant_id = ? AND s.livemode = ? AND s.currency = ? AND `+openSettlement+` ORDER BY s.id`,
		merchantID, livemode, currency, settleDate)
	if err != nil {
		return nil, fmt.Errorf("open settlements of %s %s: %w", merchantID, currency, err)
	}
	return out, nil
}

// insertSettlementLines inserts lines in statements of up to 500 rows.
func insertSettlementLines(ctx context.Context, c conn, lines []*store.SettlementLine) error {
	const chunk = 500
	for len(lines) > 0 {
		n := min(chunk, len(lines))
		args := make([]any, 0, 9*n)
		for _, l := range lines[:n] {
			args = append(args, l.Kind, l.RefID, l.SettlementID, l.Currency, l.Amount, l.Fee, l.Net, l.ChannelFee, micros(l.OccurredAt))
		}
		if _, err := c.exec(ctx, `INSERT INTO settlement_lines (`+settlementLineColumns+`) VALUES `+valueRows(n, 9), args...); err != nil {
			return fmt.Errorf("add %d settlement lines: %w", n, err)
		}
		lines = lines[n:]
	}
	return nil
}

func settlementSums(ctx context.Context, c conn, settlementID string) ([]store.SettlementSum, error) {
	sums, err := queryAll(ctx, c, func(r rowScanner) (store.SettlementSum, error) {
		var s store.SettlementSum
		return s, r.Scan(&s.Kind, &s.Count, &s.Amount, &s.Fee, &s.Net, &s.ChannelFee)
	}, `SELECT kind, COUNT(*), CAST(SUM(amount) AS BIGINT), CAST(SUM(fee) AS BIGINT), CAST(SUM(net) AS BIGINT),
			CAST(SUM(channel_fee) AS BIGINT)
		FROM settlement_lines WHERE settlement_id = ? GROUP BY kind ORDER BY kind`, settlementID)
	if err != nil {
		return nil, fmt.Errorf("sum the lines of settlement %s: %w", settlementID, err)
	}
	return sums, nil
}

func finalizeSettlement(ctx context.Context, c conn, s *store.Settlement) error {
	var fxCurrency, fxNet, fxRate, fxRateID, fxMarkup any
	if f := s.FX; f != nil {
		fxCurrency, fxNet, fxRate, fxRateID, fxMarkup = f.Currency, f.Net, f.Rate, f.RateID, f.Markup
	}
	res, err := c.exec(ctx, `UPDATE settlements SET status = ?, gross = ?, refunds = ?, fees = ?, adjustments = ?,
			reserve_held = ?, reserve_released = ?, net = ?, channel_fees = ?, payment_count = ?, refund_count = ?,
			waiting_payment_count = ?, waiting_payment_amount = ?, waiting_refund_count = ?, waiting_refund_amount = ?,
			reserve_release_date = ?, updated_at = ?, fx_currency = ?, fx_net = ?, fx_rate = ?, fx_rate_id = ?, fx_markup = ?
		WHERE id = ?`,
		s.Status, s.Gross, s.Refunds, s.Fees, s.Adjustments, s.ReserveHeld, s.ReserveReleased, s.Net, s.ChannelFees,
		s.PaymentCount, s.RefundCount, s.Waiting.Payments.Count, s.Waiting.Payments.Amount,
		s.Waiting.Refunds.Count, s.Waiting.Refunds.Amount, s.ReserveReleaseDate, micros(s.UpdatedAt),
		fxCurrency, fxNet, fxRate, fxRateID, fxMarkup, s.ID)
	if err != nil {
		return fmt.Errorf("finalize settlement %s: %w", s.ID, err)
	}
	return oneRow(res, "finalize settlement "+s.ID, store.ErrNotFound)
}

// linkSettlement sets column (carried_to or reserve_released_by) of id to
// other unless it is set: ErrStale when it is.
func linkSettlement(ctx context.Context, c conn, column, id, other string, at time.Time) error {
	res, err := c.exec(ctx, `UPDATE settlements SET `+column+` = ?, updated_at = ? WHERE id = ? AND `+column+` = ''`, other, micros(at), id)
	if err != nil {
		return fmt.Errorf("settlement %s: set %s: %w", id, column, err)
	}
	return oneRow(res, "settlement "+id+": set "+column, store.ErrStale)
}

// oneRow returns notChanged (wrapped with what) when res changed no row.
func oneRow(res sql.Result, what string, notChanged error) error {
	n, err := affected(res)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, notChanged)
	}
	return nil
}

// transitionSettlement is the compare-and-set of SettlementTransition.
func transitionSettlement(ctx context.Context, c conn, t store.SettlementTransition) (*store.Settlement, error) {
	if len(t.From) == 0 {
		return nil, fmt.Errorf("settlement %s to %s: no From status", t.SettlementID, t.To)
	}
	set := []string{"status = ?", "updated_at = ?"}
	args := []any{t.To, micros(t.At)}
	switch t.To {
	case store.SettlementInTransit:
		set = append(set, "payout_started_at = ?")
		args = append(args, micros(t.At))
	case store.SettlementPaid:
		set = append(set, "payout_started_at = COALESCE(payout_started_at, ?)", "paid_at = ?")
		args = append(args, micros(t.At), micros(t.At))
	}
	if t.BankReference != "" {
		set = append(set, "bank_reference = ?")
		args = append(args, t.BankReference)
	}
	args = append(args, t.SettlementID)
	for _, f := range t.From {
		args = append(args, f)
	}
	st, err := queryOne(ctx, c, scanSettlement, `UPDATE settlements SET `+strings.Join(set, ", ")+`
		WHERE id = ? AND status IN (`+placeholders(len(t.From))+`) RETURNING `+settlementColumns, args...)
	if err == nil {
		return st, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("settlement %s to %s: %w", t.SettlementID, t.To, err)
	}
	cur, err := settlementGet(ctx, c, t.SettlementID)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("settlement %s is %s, not %v: %w", t.SettlementID, cur.Status, t.From, store.ErrStale)
}

func scanSettlement(r rowScanner) (*store.Settlement, error) {
	var s store.Settlement
	var cutoff, created, updated int64
	var payout, paid, fxNet, fxMarkup sql.NullInt64
	var fxCurrency, fxRate, fxRateID sql.NullString
	if err := r.Scan(&s.ID, &s.MerchantID, &s.Livemode, &s.Currency, &s.Day, &s.SettleDate, &s.Timezone, &cutoff, &s.Status,
		&s.Gross, &s.Refunds, &s.Fees, &s.Adjustments, &s.ReserveHeld, &s.ReserveReleased, &s.Net, &s.ChannelFees,
		&s.PaymentCount, &s.RefundCount, &s.Waiting.Payments.Count, &s.Waiting.Payments.Amount,
		&s.Waiting.Refunds.Count, &s.Waiting.Refunds.Amount, &s.ReserveReleaseDate, &s.ReserveReleasedBy, &s.CarriedTo,
		&s.BankReference, &payout, &paid, &created, &updated, &fxCurrency, &fxNet, &fxRate, &fxRateID, &fxMarkup); err != nil {
		return nil, err
	}
	if fxCurrency.Valid {
		s.FX = &store.SettlementFX{Currency: fxCurrency.String, Net: fxNet.Int64, Rate: fxRate.String, RateID: fxRateID.String, Markup: fxMarkup.Int64}
	}
	s.Cutoff, s.CreatedAt, s.UpdatedAt = fromMicros(cutoff), fromMicros(created), fromMicros(updated)
	s.PayoutStartedAt, s.PaidAt = fromNullMicros(payout), fromNullMicros(paid)
	return &s, nil
}

// scanSettlementLine scans settlementLineColumns and the line's OutNo.
func scanSettlementLine(r rowScanner) (*store.SettlementLine, error) {
	var l store.SettlementLine
	var at int64
	if err := r.Scan(&l.Kind, &l.RefID, &l.SettlementID, &l.Currency, &l.Amount, &l.Fee, &l.Net, &l.ChannelFee, &at, &l.OutNo); err != nil {
		return nil, err
	}
	l.OccurredAt = fromMicros(at)
	return &l, nil
}
