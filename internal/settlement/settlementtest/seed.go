// Package settlementtest fills a store with a day of settled-ready business
// for tests and benchmarks of settlement: merchants, their payments and
// refunds with the ledger entries the payment service writes, and the rows
// reconciliation writes, in a few set-based statements (not through the
// API: a million transactions take seconds, not hours).
package settlementtest

import (
	"context"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
)

// Execer runs raw SQL with ? placeholders (sqlstore.Store.ExecRaw).
type Execer interface {
	ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
}

// Day is what Seed writes: Transactions transactions over Merchants
// merchants (each with one live app), all of one day in Timezone, in CNY,
// live mode, at a fee of FeeBps. Transactions come in groups of ten of one
// merchant: nine payments, and a refund of half the group's last payment.
// Every UnreconciledEvery-th transaction (0: none) is left without its
// reconciled row, so it waits.
type Day struct {
	Merchants         int
	Transactions      int
	Day               string // YYYY-MM-DD
	Timezone          string // IANA; default Asia/Shanghai
	FeeBps            int
	UnreconciledEvery int
	// ChannelAccount serves every order; default "cha_seed".
	ChannelAccount string
	// NoReconciled leaves out every reconciled row (for reconciliation's
	// own tests and benchmarks, which write them).
	NoReconciled bool
}

// Expected is what settling the day must give: per merchant, the net of its
// reconciled transactions (what its settlement nets and its available
// balance holds), and how many transactions wait in all.
type Expected struct {
	Net     map[string]int64
	Waiting int
}

// MerchantID is the id of the seeded merchant m.
func MerchantID(m int) string { return fmt.Sprintf("mch_seed%05d", m) }

// amount is transaction i's payment amount, in fen.
func amount(i int64) int64 { return 100 + (i*7919)%99900 }

// Seed writes d into the store behind x and returns what settling it must
// give. The store must be migrated and hold no seeded data yet.
func Seed(ctx context.Context, x Execer, d Day) (*Expected, error) {
	if d.Timezone == "" {
		d.Timezone = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		return nil, err
	}
	day, err := time.ParseInLocation(time.DateOnly, d.Day, loc)
	if err != nil {
		return nil, err
	}
	from := day.UTC().UnixMicro()
	span := day.AddDate(0, 0, 1).UTC().UnixMicro() - from
	n, m := int64(d.Transactions), int64(d.Merchants)
	receivable := "cha_seed"
	if d.ChannelAccount != "" {
		receivable = d.ChannelAccount
	}
	live := true
	// seq numbers 0..n-1 (as BIGINT on both databases); transaction i is
	// merchant (i/10)%m's, at from + i*span/n.
	seq := `WITH RECURSIVE seq(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < CAST(? AS BIGINT)) `
	merchant := `'mch_seed' || SUBSTR(CAST(100000 + (i / 10) % CAST(? AS BIGINT) AS TEXT), 2)`
	at := `(CAST(? AS BIGINT) + i * CAST(? AS BIGINT) / CAST(? AS BIGINT))`
	amt := `(100 + (i * 7919) % 99900)`
	payment := `i % 10 <> 9`
	steps := []struct {
		what  string
		query string
		args  []any
	}{
		{"merchants", `WITH RECURSIVE seq(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < CAST(? AS BIGINT))
			INSERT INTO merchants (id, name, timezone, settlement_currency, fee_rate_bps, created_at)
			SELECT 'mch_seed' || SUBSTR(CAST(100000 + i AS TEXT), 2), 'Seeded merchant', CAST(? AS TEXT), 'CNY', CAST(? AS INTEGER), CAST(? AS BIGINT) FROM seq`,
			[]any{m, d.Timezone, d.FeeBps, from}},
		{"apps", `INSERT INTO apps (id, merchant_id, name, livemode, require_signature, webhook_secret_sealed, created_at)
			SELECT 'app_' || SUBSTR(id, 5), id, 'Seeded app', TRUE, FALSE, '', created_at FROM merchants WHERE id LIKE 'mch_seed%'`, nil},
		{"orders", seq + `INSERT INTO orders (id, merchant_id, app_id, livemode, out_trade_no, amount, currency, subject, description, method,
				status, channel, channel_trade_no, amount_refunded, failure_code, failure_message, metadata, payer, notify_url,
				return_url, request_hash, created_at, updated_at, expires_at, paid_at, channel_account_id)
			SELECT 'ord_seed' || i, ` + merchant + `, 'app_' || SUBSTR(` + merchant + `, 5), TRUE, 'T' || i, ` + amt + `, 'CNY', 'Seeded', '',
				'wechat.native', 'succeeded', 'wechatpay', 'W' || i, CASE WHEN i % 10 = 8 THEN ` + amt + ` / 2 ELSE 0 END, '', '', '{}', '{}', '',
				'', '', ` + at + `, ` + at + `, ` + at + `, ` + at + `, CAST(? AS TEXT)
			FROM seq WHERE ` + payment,
			[]any{n, m, m, from, span, n, from, span, n, from, span, n, from, span, n, receivable}},
		{"refunds", seq + `INSERT INTO refunds (id, order_id, merchant_id, app_id, livemode, out_refund_no, amount, currency, status, channel,
				channel_refund_no, failure_code, failure_message, reason, notify_url, metadata, request_hash, created_at, updated_at, succeeded_at)
			SELECT 'rfd_seed' || i, 'ord_seed' || (i - 1), ` + merchant + `, 'app_' || SUBSTR(` + merchant + `, 5), TRUE, 'R' || i,
				(100 + ((i - 1) * 7919) % 99900) / 2, 'CNY', 'succeeded', 'wechatpay', 'WR' || i, '', '', '', '', '{}', '', ` + at + `, ` + at + `, ` + at + `
			FROM seq WHERE i % 10 = 9`,
			[]any{n, m, m, from, span, n, from, span, n, from, span, n}},
		{"payment entries", `INSERT INTO ledger_entries (id, kind, ref_id, created_at)
			SELECT 'jnl_seed' || SUBSTR(id, 9), '` + ledger.KindPayment + `', id, paid_at FROM orders WHERE id LIKE 'ord_seed%'`, nil},
		{"refund entries", `INSERT INTO ledger_entries (id, kind, ref_id, created_at)
			SELECT 'jnl_seedr' || SUBSTR(id, 9), '` + ledger.KindRefund + `', id, succeeded_at FROM refunds WHERE id LIKE 'rfd_seed%'`, nil},
		{"payment lines", `INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount)
			SELECT 'jnl_seed' || SUBSTR(o.id, 9), x.n,
				CASE x.n WHEN 0 THEN CAST(? AS TEXT) WHEN 1 THEN o.merchant_id || CAST(? AS TEXT) ELSE CAST(? AS TEXT) END, 'CNY',
				CASE x.n WHEN 0 THEN -o.amount WHEN 1 THEN o.amount - (o.amount * CAST(? AS BIGINT) + 5000) / 10000
					ELSE (o.amount * CAST(? AS BIGINT) + 5000) / 10000 END
			FROM orders o CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2) AS x
			WHERE o.id LIKE 'ord_seed%' AND (x.n < 2 OR (o.amount * CAST(? AS BIGINT) + 5000) / 10000 > 0)`,
			[]any{ledger.ChannelReceivable(receivable, live), ledger.MerchantPending("", live), ledger.PlatformFees(live), d.FeeBps, d.FeeBps, d.FeeBps}},
		{"refund lines", `INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount)
			SELECT 'jnl_seedr' || SUBSTR(f.id, 9), x.n,
				CASE x.n WHEN 0 THEN f.merchant_id || CAST(? AS TEXT) ELSE CAST(? AS TEXT) END, 'CNY',
				CASE x.n WHEN 0 THEN -f.amount ELSE f.amount END
			FROM refunds f CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1) AS x WHERE f.id LIKE 'rfd_seed%'`,
			[]any{ledger.MerchantPending("", live), ledger.ChannelReceivable(receivable, live)}},
		{"balances", `INSERT INTO account_balances (account, currency, shard, amount)
			SELECT l.account, l.currency, 0, CAST(SUM(l.amount) AS BIGINT) FROM ledger_lines l WHERE l.entry_id LIKE 'jnl_seed%'
			GROUP BY l.account, l.currency
			ON CONFLICT (account, currency, shard) DO UPDATE SET amount = account_balances.amount + excluded.amount`, nil},
		{"reconciled payments", `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
			SELECT id, 'payment', channel_account_id, CAST(? AS TEXT), (amount * 30 + 5000) / 10000, 'CNY', 'matched', 'rcn_seed', paid_at
			FROM orders WHERE id LIKE 'ord_seed%' AND (CAST(? AS BIGINT) = 0 OR CAST(SUBSTR(id, 9) AS BIGINT) % CAST(? AS BIGINT) <> 7)`,
			[]any{d.Day, d.UnreconciledEvery, d.UnreconciledEvery}},
		{"reconciled refunds", `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
			SELECT id, 'refund', CAST(? AS TEXT), CAST(? AS TEXT), 0, 'CNY', 'matched', 'rcn_seed', succeeded_at
			FROM refunds WHERE id LIKE 'rfd_seed%' AND (CAST(? AS BIGINT) = 0 OR CAST(SUBSTR(id, 9) AS BIGINT) % CAST(? AS BIGINT) <> 7)`,
			[]any{receivable, d.Day, d.UnreconciledEvery, d.UnreconciledEvery}},
	}
	if d.NoReconciled {
		steps = steps[:len(steps)-2]
	}
	// The planner statistics a database that holds this history would
	// have. One table at a time: SQLite's ANALYZE takes one name, and a bare
	// ANALYZE on PostgreSQL would analyze every schema of the database.
	for _, table := range []string{"merchants", "apps", "orders", "refunds", "ledger_entries", "ledger_lines", "account_balances", "reconciled"} {
		steps = append(steps, struct {
			what  string
			query string
			args  []any
		}{"statistics of " + table, `ANALYZE ` + table, nil})
	}
	for _, s := range steps {
		if _, err := x.ExecRaw(ctx, s.query, s.args...); err != nil {
			return nil, fmt.Errorf("seed %s: %w", s.what, err)
		}
	}

	exp := &Expected{Net: map[string]int64{}}
	for i := range n {
		if d.UnreconciledEvery > 0 && i%int64(d.UnreconciledEvery) == 7 {
			exp.Waiting++
			continue
		}
		id := MerchantID(int((i / 10) % m))
		if i%10 == 9 {
			exp.Net[id] -= amount(i-1) / 2
			continue
		}
		f, _ := money.Fee(amount(i), d.FeeBps)
		exp.Net[id] += amount(i) - f
	}
	return exp, nil
}
