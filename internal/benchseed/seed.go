// Package benchseed fills a gateway's database with realistic history for
// measurements at scale (`paygate bench seed`, `paygate bench scale`):
// orders of many merchants over many days in every final status, partial
// refunds, the events, webhook deliveries and attempts they caused, and the
// ledger entries and balances the payment service would have written.
//
// It writes with set-based SQL, in chunks of Chunk orders (one statement
// per table and chunk, each chunk one transaction), not through the API: ten
// million orders take minutes, not days. The same statements run on SQLite
// and PostgreSQL.
//
// Seeded ids have the shape of the gateway's own (internal/id): the
// object's prefix, the ten characters of a ULID's time (when the object was
// made), then 15 digits of the order's number and a digit telling an
// order's objects from its refund's where a real id has random bits. So
// seeded history sorts and filters by time as real history does, before
// anything the gateway creates today.
package benchseed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Execer runs raw SQL with ? placeholders, each statement in a transaction
// of its own, on the database it names ("sqlite" or "postgres"):
// sqlstore.Store is one.
type Execer interface {
	ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
	DatabaseName() string
}

// History is what Seed writes. Orders are spread evenly over Days days that
// end at End (exclusive); every tenth order is the Demo merchant's (through
// its app, in its mode, so its keys see a busy history), the rest belong to
// Merchants seeded merchants (live mode, one app each) in groups of ten.
//
// Of every twenty orders of each merchant, seventeen succeeded, two were
// closed unpaid and one failed, and one of the seventeen was refunded by
// half (see Kind). Every order has its event, and each event a delivered webhook with
// one attempt.
type History struct {
	Orders    int
	Merchants int
	Days      int
	End       time.Time
	FeeBps    int
	Chunk     int // orders per chunk; default 100,000

	// Demo is the merchant whose app gets every tenth order.
	DemoMerchant, DemoApp string
	DemoLive              bool
	// ChannelAccount is the account the orders were paid through.
	ChannelAccount string
}

// Progress is told how many orders are written, after each chunk.
type Progress func(done, total int)

// Stats is what Seed wrote.
type Stats struct {
	Orders, Refunds, Events, Entries int64
	DemoOrders                       int64
	// BusiestDemoDay is a day (YYYY-MM-DD) with the most demo orders in
	// any time zone.
	BusiestDemoDay string
	// DeepOrder is a demo order half-way through its history: a cursor deep
	// in the list.
	DeepOrder string
}

// Kind is what happened to seeded order i: below 17 it succeeded (and at 3
// it was refunded by half), 17 and 18 it was closed, 19 it failed.
func Kind(i int64) int64 { return (i/10 + i) % 20 }

// Seed writes h. The store must be migrated, hold the demo merchant and app
// and no seeded history yet.
func Seed(ctx context.Context, x Execer, h History, progress Progress) (*Stats, error) {
	if h.Orders < 0 || h.Merchants < 1 || h.Days < 1 || h.DemoMerchant == "" || h.DemoApp == "" || h.ChannelAccount == "" {
		return nil, fmt.Errorf("benchseed: incomplete history %+v", h)
	}
	if h.Chunk <= 0 {
		h.Chunk = 100_000
	}
	if h.End.IsZero() {
		h.End = time.Now().UTC().Truncate(24 * time.Hour)
	}
	from := h.End.AddDate(0, 0, -h.Days).UnixMicro()
	span := h.End.UnixMicro() - from
	n := int64(h.Orders)
	p := params{h: h, from: from, span: span, n: n, postgres: x.DatabaseName() == "postgres"}
	if !p.postgres {
		// Every chunk inserts into the indexes of tables that grow to
		// gigabytes; with SQLite's default page cache (2 MB a connection)
		// each insert into a random place of an index (out_trade_no, the
		// ledger's accounts) read its pages from the file again, and the
		// seed slowed from 12,000 to 6,000 orders a second by 7M. The
		// write connection gets a 1 GiB cache for the seed, and its
		// default back after.
		if _, err := x.ExecRaw(ctx, `PRAGMA cache_size = -1048576`); err != nil {
			return nil, fmt.Errorf("benchseed: cache size: %w", err)
		}
		defer x.ExecRaw(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`)
	}
	if err := p.exec(ctx, x, "merchants", p.merchants()); err != nil {
		return nil, err
	}
	for lo := int64(0); lo < n; lo += int64(h.Chunk) {
		hi := min(lo+int64(h.Chunk), n)
		for _, s := range p.chunk(lo, hi) {
			if err := p.exec(ctx, x, s.what, s); err != nil {
				return nil, err
			}
		}
		if progress != nil {
			progress(int(hi), int(n))
		}
	}
	for _, table := range []string{"merchants", "apps", "orders", "refunds", "events", "deliveries", "delivery_attempts",
		"ledger_entries", "ledger_lines", "account_balances"} {
		if _, err := x.ExecRaw(ctx, `ANALYZE `+table); err != nil {
			return nil, fmt.Errorf("benchseed: statistics of %s: %w", table, err)
		}
	}
	return p.stats(), nil
}

// statement is one step of the seed.
type statement struct {
	what  string
	query string
	args  []any
}

type params struct {
	h             History
	from, span, n int64
	postgres      bool
}

func (p *params) exec(ctx context.Context, x Execer, what string, s statement) error {
	if _, err := x.ExecRaw(ctx, s.query, s.args...); err != nil {
		return fmt.Errorf("benchseed: %s: %w", what, err)
	}
	return nil
}

// The SQL pieces every chunk's statements share; i is the order's number
// and t its creation time in microseconds (rows takes lo, hi, from, step).
const (
	rows = `WITH RECURSIVE seq(i) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < CAST(? AS BIGINT)),
		r AS (SELECT i, CAST(? AS BIGINT) + i * CAST(? AS BIGINT) AS t FROM seq) `
	isDemo = `(i % 10 = 0)`
	amt    = `(100 + (i * 7919) % 99900)`
	// kind spreads the statuses over every merchant, the demo's included.
	kind     = `((i / 10 + i) % 20)`
	statusOf = `CASE WHEN ` + kind + ` < 17 THEN 'succeeded' WHEN ` + kind + ` < 19 THEN 'closed' ELSE 'failed' END`
	refunded = `(` + kind + ` = 3)`
	hist     = `SUBSTR(CAST(100000 + (i / 10) % CAST(? AS BIGINT) AS TEXT), 2)` // the seeded merchant's number
	// The times of an order's payment, close, refund and events after its creation.
	paidAfter   = 5_000_000
	closedAfter = 1_800_000_000
	refundAfter = 3_600_000_000
)

// ulidTime is the SQL of the ten lower-case Crockford base32 characters of a
// ULID's time for the milliseconds ms (an SQL expression): the head of an
// id made at that time, so that seeded ids sort and filter by time as the
// gateway's own do (internal/id).
func ulidTime(ms string) string {
	var b strings.Builder
	for k := range 10 {
		if k > 0 {
			b.WriteString(" || ")
		}
		fmt.Fprintf(&b, "SUBSTR('0123456789abcdefghjkmnpqrstvwxyz', CAST(((%s) / %d) %% 32 AS INTEGER) + 1, 1)", ms, int64(1)<<(5*(9-k)))
	}
	return b.String()
}

// seededID is the SQL of a seeded id: prefix, the ULID time of t + after
// microseconds, 15 digits of i and a last digit telling an order's objects
// (0) from its refund's (1).
func seededID(prefix string, after int64, last string) string {
	return `'` + prefix + `' || ` + ulidTime(fmt.Sprintf("(t + %d) / 1000", after)) +
		` || SUBSTR(CAST(1000000000000000 + i AS TEXT), 2) || '` + last + `'`
}

// OrderID is the id of seeded order i of h.
func (h History) OrderID(i int64) string { return h.id("ord_", i, 0, "0") }

// RefundID is the id of the refund of seeded order i of h (when it has one).
func (h History) RefundID(i int64) string { return h.id("rfd_", i, refundAfter, "1") }

func (h History) id(prefix string, i, after int64, last string) string {
	var u ulid.ULID
	u.SetTime(uint64((h.CreatedAt(i).UnixMicro() + after) / 1000))
	return prefix + strings.ToLower(u.String()[:10]) + fmt.Sprintf("%015d", i) + last
}

// step is the time between two orders, in microseconds (i × span would
// overflow a BIGINT).
func (h History) step() int64 {
	if h.Orders <= 0 {
		return 0
	}
	return h.End.Sub(h.start()).Microseconds() / int64(h.Orders)
}

func (h History) start() time.Time { return h.End.AddDate(0, 0, -h.Days) }

// CreatedAt is when seeded order i of h was created.
func (h History) CreatedAt(i int64) time.Time {
	return time.UnixMicro(h.start().UnixMicro() + i*h.step()).UTC()
}

// merchant and app take (demo id, merchants).
const (
	merchantOf = `CASE WHEN ` + isDemo + ` THEN CAST(? AS TEXT) ELSE 'mch_hist' || ` + hist + ` END`
	appOf      = `CASE WHEN ` + isDemo + ` THEN CAST(? AS TEXT) ELSE 'app_hist' || ` + hist + ` END`
	// liveOf takes the demo's mode.
	liveOf = `CASE WHEN ` + isDemo + ` THEN CAST(? AS BOOLEAN) ELSE TRUE END`
)

func (p *params) merchants() statement {
	return statement{"merchants", `WITH RECURSIVE seq(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < CAST(? AS BIGINT))
		INSERT INTO merchants (id, name, timezone, settlement_currency, fee_rate_bps, created_at)
		SELECT 'mch_hist' || SUBSTR(CAST(100000 + i AS TEXT), 2), 'Seeded merchant', 'Asia/Shanghai', 'CNY', CAST(? AS INTEGER), CAST(? AS BIGINT) FROM seq`,
		[]any{p.h.Merchants, p.h.FeeBps, p.from}}
}

func (p *params) chunk(lo, hi int64) []statement {
	live, demo := true, p.h.DemoLive
	who := func() []any { return []any{p.h.DemoMerchant, p.h.Merchants} }
	app := func() []any { return []any{p.h.DemoApp, p.h.Merchants} }
	cat := func(parts ...[]any) []any {
		var out []any
		for _, x := range parts {
			out = append(out, x...)
		}
		return out
	}
	r := []any{lo, hi, p.from, p.h.step()}
	h := p.h
	var steps []statement
	if lo == 0 {
		steps = append(steps, statement{"apps", `INSERT INTO apps (id, merchant_id, name, livemode, require_signature, webhook_secret_sealed, created_at)
			SELECT 'app_' || SUBSTR(id, 5), id, 'Seeded app', TRUE, FALSE, '', created_at FROM merchants WHERE id LIKE 'mch_hist%'`, nil})
	}
	orderID, refundID := seededID("ord_", 0, "0"), seededID("rfd_", refundAfter, "1")
	// The chunk's objects, by id range: ids grow with i.
	orders := []any{h.OrderID(lo), h.OrderID(hi)}
	refunds := []any{h.RefundID(lo), h.RefundID(hi)}
	events := `SELECT id FROM events WHERE object_id >= CAST(? AS TEXT) AND object_id < CAST(? AS TEXT)
		OR object_id >= CAST(? AS TEXT) AND object_id < CAST(? AS TEXT)`
	steps = append(steps,
		statement{"orders", rows + `INSERT INTO orders (id, merchant_id, app_id, livemode, out_trade_no, amount, currency, subject, description, method,
				status, channel, channel_trade_no, amount_refunded, failure_code, failure_message, metadata, payer, notify_url,
				return_url, request_hash, created_at, updated_at, expires_at, paid_at, closed_at, channel_account_id)
			SELECT ` + orderID + `, ` + merchantOf + `, ` + appOf + `, ` + liveOf + `, 'H' || i, ` + amt + `, 'CNY',
				'Seeded order', '', 'sandbox', ` + statusOf + `, 'sandbox', 'SB' || i,
				CASE WHEN ` + refunded + ` THEN ` + amt + ` / 2 ELSE 0 END,
				CASE WHEN ` + kind + ` = 19 THEN 'card_declined' ELSE '' END, CASE WHEN ` + kind + ` = 19 THEN 'The card was declined.' ELSE '' END,
				'{}', '{}', '', '', '', t, t, t + 1800000000,
				CASE WHEN ` + kind + ` < 17 THEN t + ` + fmt.Sprint(paidAfter) + ` END,
				CASE WHEN ` + kind + ` IN (17, 18) THEN t + ` + fmt.Sprint(closedAfter) + ` END, CAST(? AS TEXT)
			FROM r`,
			cat(r, who(), app(), []any{demo}, []any{h.ChannelAccount})},
		statement{"refunds", rows + `INSERT INTO refunds (id, order_id, merchant_id, app_id, livemode, out_refund_no, amount, currency, status, channel,
				channel_refund_no, failure_code, failure_message, reason, notify_url, metadata, request_hash, created_at, updated_at, succeeded_at)
			SELECT ` + refundID + `, ` + orderID + `, ` + merchantOf + `, ` + appOf + `, ` + liveOf + `,
				'HR' || i, ` + amt + ` / 2, 'CNY', 'succeeded', 'sandbox', 'SBR' || i, '', '', '', '', '{}', '',
				t + ` + fmt.Sprint(refundAfter) + `, t + ` + fmt.Sprint(refundAfter) + `, t + ` + fmt.Sprint(refundAfter) + `
			FROM r WHERE ` + refunded,
			cat(r, who(), app(), []any{demo})},
		// One event per order (its final status) and per refund.
		statement{"order events", rows + `INSERT INTO events (id, type, merchant_id, app_id, livemode, object_type, object_id, data, notify_url, created_at)
			SELECT ` + seededID("evt_", paidAfter, "0") + `, 'order.' || ` + statusOf + `, ` + merchantOf + `, ` + appOf + `, ` + liveOf + `,
				'order', ` + orderID + `, '{}', '', t + ` + fmt.Sprint(paidAfter) + `
			FROM r`,
			cat(r, who(), app(), []any{demo})},
		statement{"refund events", rows + `INSERT INTO events (id, type, merchant_id, app_id, livemode, object_type, object_id, data, notify_url, created_at)
			SELECT ` + seededID("evt_", refundAfter, "1") + `, 'refund.succeeded', ` + merchantOf + `, ` + appOf + `, ` + liveOf + `,
				'refund', ` + refundID + `, '{}', '', t + ` + fmt.Sprint(refundAfter) + `
			FROM r WHERE ` + refunded,
			cat(r, who(), app(), []any{demo})},
		statement{"deliveries", `INSERT INTO deliveries (id, event_id, merchant_id, app_id, livemode, endpoint_id, url, status, attempts,
				next_attempt_at, lease_token, lease_until, last_error, created_at, updated_at)
			SELECT 'dlv_' || SUBSTR(id, 5), id, merchant_id, app_id, livemode, NULL, 'https://merchant.example/notify', 'succeeded', 1,
				created_at, NULL, NULL, '', created_at, created_at + 20000
			FROM events WHERE id IN (` + events + `)`,
			cat(orders, refunds)},
		statement{"delivery attempts", `INSERT INTO delivery_attempts (id, delivery_id, event_id, endpoint_id, url, attempted_at, status_code,
				latency_us, error, response_body)
			SELECT 'att_' || SUBSTR(id, 5), id, event_id, NULL, url, created_at + 10000, 200, 12000, '', CAST('ok' AS ` + p.blob() + `)
			FROM deliveries WHERE event_id IN (` + events + `)`,
			cat(orders, refunds)},
		statement{"payment entries", `INSERT INTO ledger_entries (id, kind, ref_id, created_at)
			SELECT 'jnl_' || SUBSTR(id, 5), '` + ledger.KindPayment + `', id, paid_at FROM orders
			WHERE id >= CAST(? AS TEXT) AND id < CAST(? AS TEXT) AND status = 'succeeded'`,
			orders},
		statement{"refund entries", `INSERT INTO ledger_entries (id, kind, ref_id, created_at)
			SELECT 'jnl_' || SUBSTR(id, 5), '` + ledger.KindRefund + `', id, succeeded_at FROM refunds
			WHERE id >= CAST(? AS TEXT) AND id < CAST(? AS TEXT)`,
			refunds},
		// A payment's lines: the channel's receivable pays the merchant's
		// pending account the amount less the fee, and the platform the fee.
		statement{"payment lines", `INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount)
			SELECT 'jnl_' || SUBSTR(o.id, 5), x.n,
				CASE x.n WHEN 0 THEN CASE WHEN o.livemode THEN CAST(? AS TEXT) ELSE CAST(? AS TEXT) END
					WHEN 1 THEN o.merchant_id || CASE WHEN o.livemode THEN CAST(? AS TEXT) ELSE CAST(? AS TEXT) END
					ELSE CASE WHEN o.livemode THEN CAST(? AS TEXT) ELSE CAST(? AS TEXT) END END, 'CNY',
				CASE x.n WHEN 0 THEN -o.amount WHEN 1 THEN o.amount - (o.amount * CAST(? AS BIGINT) + 5000) / 10000
					ELSE (o.amount * CAST(? AS BIGINT) + 5000) / 10000 END
			FROM orders o CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2) AS x
			WHERE o.id >= CAST(? AS TEXT) AND o.id < CAST(? AS TEXT) AND o.status = 'succeeded'
				AND (x.n < 2 OR (o.amount * CAST(? AS BIGINT) + 5000) / 10000 > 0)`,
			cat([]any{ledger.ChannelReceivable(h.ChannelAccount, live), ledger.ChannelReceivable(h.ChannelAccount, false),
				ledger.MerchantPending("", live), ledger.MerchantPending("", false),
				ledger.PlatformFees(live), ledger.PlatformFees(false), h.FeeBps, h.FeeBps}, orders, []any{h.FeeBps})},
		// A refund's lines: the merchant's pending account pays it back to
		// the channel's receivable (the platform keeps its fee).
		statement{"refund lines", `INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount)
			SELECT 'jnl_' || SUBSTR(f.id, 5), x.n,
				CASE x.n WHEN 0 THEN f.merchant_id || CASE WHEN f.livemode THEN CAST(? AS TEXT) ELSE CAST(? AS TEXT) END
					ELSE CASE WHEN f.livemode THEN CAST(? AS TEXT) ELSE CAST(? AS TEXT) END END, 'CNY',
				CASE x.n WHEN 0 THEN -f.amount ELSE f.amount END
			FROM refunds f CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1) AS x
			WHERE f.id >= CAST(? AS TEXT) AND f.id < CAST(? AS TEXT)`,
			cat([]any{ledger.MerchantPending("", live), ledger.MerchantPending("", false),
				ledger.ChannelReceivable(h.ChannelAccount, live), ledger.ChannelReceivable(h.ChannelAccount, false)}, refunds)},
		// The chunk's lines added to the accounts' balances (shard 0).
		statement{"balances", `INSERT INTO account_balances (account, currency, shard, amount)
			SELECT l.account, l.currency, 0, CAST(SUM(l.amount) AS BIGINT) FROM ledger_lines l
			JOIN ledger_entries e ON e.id = l.entry_id
			WHERE e.ref_id >= CAST(? AS TEXT) AND e.ref_id < CAST(? AS TEXT) OR e.ref_id >= CAST(? AS TEXT) AND e.ref_id < CAST(? AS TEXT)
			GROUP BY l.account, l.currency
			ON CONFLICT (account, currency, shard) DO UPDATE SET amount = account_balances.amount + excluded.amount`,
			cat(orders, refunds)},
	)
	return steps
}

// blob is the name of a byte column's type in a CAST: BLOB in SQLite,
// BYTEA in PostgreSQL.
func (p *params) blob() string {
	if p.postgres {
		return "BYTEA"
	}
	return "BLOB"
}

func (p *params) stats() *Stats {
	s := &Stats{}
	for i := range p.n {
		s.Orders++
		s.Events++
		if Kind(i) < 17 {
			s.Entries++
		}
		if Kind(i) == 3 {
			s.Refunds++
			s.Events++
			s.Entries++
		}
		if i%10 == 0 {
			s.DemoOrders++
		}
	}
	if p.n > 0 {
		// Orders are spread evenly, so every day holds as many. The day
		// before the last is whole in every merchant's time zone.
		s.BusiestDemoDay = p.h.End.AddDate(0, 0, -2).Format(time.DateOnly)
		mid := (p.n / 2) / 10 * 10 // a demo order half-way
		s.DeepOrder = p.h.OrderID(mid)
	}
	return s
}

// The statuses the seed writes, checked against the store's names at
// compile time.
var _ = [...]store.OrderStatus{store.OrderSucceeded, store.OrderClosed, store.OrderFailed}
