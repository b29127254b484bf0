package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// LedgerVerify checks the whole ledger in one read snapshot: every entry
// has at least two lines and balances per currency; every account's shard
// rows sum to the sum of its lines; every succeeded order has exactly one
// payment entry and every payment entry a succeeded order; and likewise
// for refunds and refund entries; and settlement batches agree with their
// lines and entries (verifySettlements). It reads every line, so it is a job for
// an operator or a nightly run, not for a request.
func (s *Store) LedgerVerify(ctx context.Context) (*store.VerifyReport, error) {
	t, err := s.read.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("verify ledger: begin: %w", err)
	}
	defer t.Rollback()
	c := conn{q: t, d: s.dialect}
	var rep store.VerifyReport
	for _, check := range []func(context.Context, conn, *store.VerifyReport) error{
		verifyCounts,
		verifyEntriesBalance,
		verifyBalances,
		verifyObjectEntries(ledger.KindPayment, "orders", "order", string(store.OrderSucceeded)),
		verifyObjectEntries(ledger.KindRefund, "refunds", "refund", string(store.RefundSucceeded)),
		verifySettlements,
		verifyTransfers,
		verifyProfitSharing,
		verifyProfitSharingEntries,
	} {
		if err := check(ctx, c, &rep); err != nil {
			return nil, fmt.Errorf("verify ledger: %w", err)
		}
	}
	return &rep, nil
}

func verifyCounts(ctx context.Context, c conn, rep *store.VerifyReport) error {
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM ledger_entries`).Scan(&rep.Entries); err != nil {
		return fmt.Errorf("count entries: %w", err)
	}
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM ledger_lines`).Scan(&rep.Lines); err != nil {
		return fmt.Errorf("count lines: %w", err)
	}
	return nil
}

// verifyEntriesBalance finds entries with fewer than two lines and entries
// whose lines do not sum to zero in some currency.
func verifyEntriesBalance(ctx context.Context, c conn, rep *store.VerifyReport) error {
	short, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id string
		var n int
		err := r.Scan(&id, &n)
		return fmt.Sprintf("%s: has %d lines", id, n), err
	}, `SELECT e.id, COUNT(l.entry_id) FROM ledger_entries e LEFT JOIN ledger_lines l ON l.entry_id = e.id
		GROUP BY e.id HAVING COUNT(l.entry_id) < 2 ORDER BY e.id`)
	if err != nil {
		return fmt.Errorf("find short entries: %w", err)
	}
	unbalanced, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id, currency string
		var sum int64
		err := r.Scan(&id, &currency, &sum)
		return fmt.Sprintf("%s: %s sums to %d", id, currency, sum), err
	}, `SELECT entry_id, currency, CAST(SUM(amount) AS BIGINT) FROM ledger_lines
		GROUP BY entry_id, currency HAVING SUM(amount) <> 0 ORDER BY entry_id, currency`)
	if err != nil {
		return fmt.Errorf("find unbalanced entries: %w", err)
	}
	rep.UnbalancedEntries = append(short, unbalanced...)
	return nil
}

// verifyBalances finds accounts whose shard rows differ from their lines.
func verifyBalances(ctx context.Context, c conn, rep *store.VerifyReport) error {
	mismatches, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var account, currency string
		var balance, lines int64
		err := r.Scan(&account, &currency, &balance, &lines)
		return fmt.Sprintf("%s %s: balance %d, lines sum to %d", account, currency, balance, lines), err
	}, `SELECT account, currency, CAST(SUM(b) AS BIGINT), CAST(SUM(l) AS BIGINT) FROM (
			SELECT account, currency, amount AS b, 0 AS l FROM account_balances
			UNION ALL
			SELECT account, currency, 0, amount FROM ledger_lines
		) AS x GROUP BY account, currency HAVING SUM(b) <> SUM(l) ORDER BY account, currency`)
	if err != nil {
		return fmt.Errorf("compare balances with lines: %w", err)
	}
	rep.BalanceMismatches = mismatches
	return nil
}

// verifyObjectEntries returns the check that every object of table in
// status succeeded has exactly one entry of kind, and every entry of kind
// references such an object.
func verifyObjectEntries(kind, table, noun, succeeded string) func(context.Context, conn, *store.VerifyReport) error {
	return func(ctx context.Context, c conn, rep *store.VerifyReport) error {
		missing, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
			var id string
			var n int
			err := r.Scan(&id, &n)
			return fmt.Sprintf("%s %s: succeeded with %d %s entries", noun, id, n, kind), err
		}, `SELECT o.id, COUNT(e.id) FROM `+table+` o LEFT JOIN ledger_entries e ON e.kind = ? AND e.ref_id = o.id
			WHERE o.status = ? GROUP BY o.id HAVING COUNT(e.id) <> 1 ORDER BY o.id`, kind, succeeded)
		if err != nil {
			return fmt.Errorf("find %ss without a %s entry: %w", noun, kind, err)
		}
		orphans, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
			var id, ref string
			var status sql.NullString
			if err := r.Scan(&id, &ref, &status); err != nil {
				return "", err
			}
			if !status.Valid {
				return fmt.Sprintf("%s entry %s: %s %s does not exist", kind, id, noun, ref), nil
			}
			return fmt.Sprintf("%s entry %s: %s %s is %s", kind, id, noun, ref, status.String), nil
		}, `SELECT e.id, e.ref_id, o.status FROM ledger_entries e LEFT JOIN `+table+` o ON o.id = e.ref_id
			WHERE e.kind = ? AND (o.status IS NULL OR o.status <> ?) ORDER BY e.id`, kind, succeeded)
		if err != nil {
			return fmt.Errorf("find %s entries without a succeeded %s: %w", kind, noun, err)
		}
		rep.MissingEntries = append(rep.MissingEntries, missing...)
		rep.MissingEntries = append(rep.MissingEntries, orphans...)
		return nil
	}
}
