package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// verifySettlements checks settlement batches against their lines and the
// ledger: every batch's totals are what its lines sum to; its settlement
// entry put its net into the merchant's available account (nothing, when
// carried forward); it has one payout entry of its net once its payout
// started and one payout_paid entry once paid, and none before (of its
// converted net, fx_net, when it was converted at settlement); and every
// entry of those kinds belongs to a batch.
func verifySettlements(ctx context.Context, c conn, rep *store.VerifyReport) error {
	totals, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id string
		var v [14]int64
		if err := r.Scan(&id, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13]); err != nil {
			return "", err
		}
		var diffs []string
		for i, name := range []string{"net", "gross", "refunds", "fees", "adjustments", "reserve_held", "reserve_released"} {
			if v[2*i] != v[2*i+1] {
				diffs = append(diffs, fmt.Sprintf("%s %d, lines sum to %d", name, v[2*i], v[2*i+1]))
			}
		}
		return id + ": " + strings.Join(diffs, "; "), nil
	}, `SELECT s.id, s.net, COALESCE(x.net, 0), s.gross, COALESCE(x.gross, 0), s.refunds, COALESCE(x.refunds, 0),
			s.fees, COALESCE(x.fees, 0), s.adjustments, COALESCE(x.adj, 0), s.reserve_held, COALESCE(x.held, 0),
			s.reserve_released, COALESCE(x.released, 0)
		FROM settlements s LEFT JOIN (
			SELECT settlement_id,
				CAST(SUM(net) AS BIGINT) AS net,
				CAST(SUM(CASE WHEN kind = `+sqlLinePayment+` THEN amount ELSE 0 END) AS BIGINT) AS gross,
				CAST(-SUM(CASE WHEN kind = `+sqlLineRefund+` THEN amount ELSE 0 END) AS BIGINT) AS refunds,
				CAST(SUM(fee) AS BIGINT) AS fees,
				CAST(SUM(CASE WHEN kind = '`+store.LineCarryForward+`' THEN net ELSE 0 END) AS BIGINT) AS adj,
				CAST(-SUM(CASE WHEN kind = '`+store.LineReserveHold+`' THEN net ELSE 0 END) AS BIGINT) AS held,
				CAST(SUM(CASE WHEN kind = '`+store.LineReserveRelease+`' THEN net ELSE 0 END) AS BIGINT) AS released
			FROM settlement_lines GROUP BY settlement_id
		) x ON x.settlement_id = s.id
		WHERE s.net <> COALESCE(x.net, 0) OR s.gross <> COALESCE(x.gross, 0) OR s.refunds <> COALESCE(x.refunds, 0)
			OR s.fees <> COALESCE(x.fees, 0) OR s.adjustments <> COALESCE(x.adj, 0)
			OR s.reserve_held <> COALESCE(x.held, 0) OR s.reserve_released <> COALESCE(x.released, 0)
		ORDER BY s.id`)
	if err != nil {
		return fmt.Errorf("compare settlements with their lines: %w", err)
	}
	rep.SettlementMismatches = append(rep.SettlementMismatches, totals...)

	// The merchant's available account of a batch: its merchant id and the
	// mode's suffix, as ledger names it.
	available, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id, status string
		var net, got int64
		err := r.Scan(&id, &status, &net, &got)
		return fmt.Sprintf("%s (%s, net %d): its settlement entry puts %d into available", id, status, net, got), err
	}, `SELECT s.id, s.status, s.net, CAST(COALESCE(SUM(l.amount), 0) AS BIGINT)
		FROM settlements s
		LEFT JOIN ledger_entries e ON e.kind = '`+ledger.KindSettlement+`' AND e.ref_id = s.id
		LEFT JOIN ledger_lines l ON l.entry_id = e.id
			AND l.account = s.merchant_id || CASE WHEN s.livemode THEN CAST(? AS TEXT) ELSE CAST(? AS TEXT) END
		GROUP BY s.id, s.status, s.net
		HAVING COALESCE(SUM(l.amount), 0) <> CASE WHEN s.status = `+sqlCarriedForward+` THEN 0 ELSE s.net END
		ORDER BY s.id`, ledger.MerchantAvailable("", true), ledger.MerchantAvailable("", false))
	if err != nil {
		return fmt.Errorf("compare settlements with their entries: %w", err)
	}
	rep.SettlementMismatches = append(rep.SettlementMismatches, available...)

	for _, p := range []struct {
		kind     string
		statuses []string
	}{
		{ledger.KindPayout, []string{store.SettlementInTransit, store.SettlementPaid}},
		{ledger.KindPayoutPaid, []string{store.SettlementPaid}},
	} {
		in := `'` + strings.Join(p.statuses, `', '`) + `'`
		found, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
			var id, status string
			var net, entries, amount int64
			err := r.Scan(&id, &status, &net, &entries, &amount)
			return fmt.Sprintf("%s (%s, net %d): %d %s entries moving %d", id, status, net, entries, p.kind, amount), err
		}, `SELECT s.id, s.status, COALESCE(s.fx_net, s.net), COUNT(l.entry_id), CAST(COALESCE(SUM(l.amount), 0) AS BIGINT)
			FROM settlements s
			LEFT JOIN ledger_entries e ON e.kind = ? AND e.ref_id = s.id
			LEFT JOIN ledger_lines l ON l.entry_id = e.id AND l.amount > 0
			GROUP BY s.id, s.status, s.net, s.fx_net
			HAVING (s.status IN (`+in+`) AND (COUNT(l.entry_id) <> 1 OR COALESCE(SUM(l.amount), 0) <> COALESCE(s.fx_net, s.net)))
				OR (s.status NOT IN (`+in+`) AND COUNT(l.entry_id) > 0)
			ORDER BY s.id`, p.kind)
		if err != nil {
			return fmt.Errorf("compare settlements with their %s entries: %w", p.kind, err)
		}
		rep.SettlementMismatches = append(rep.SettlementMismatches, found...)
	}

	strays, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id, kind, ref string
		err := r.Scan(&id, &kind, &ref)
		return fmt.Sprintf("%s entry %s: settlement %s does not exist", kind, id, ref), err
	}, `SELECT e.id, e.kind, e.ref_id FROM ledger_entries e LEFT JOIN settlements s ON s.id = e.ref_id
		WHERE e.kind IN (?, ?, ?) AND s.id IS NULL ORDER BY e.id`,
		ledger.KindSettlement, ledger.KindPayout, ledger.KindPayoutPaid)
	if err != nil {
		return fmt.Errorf("find settlement entries without a settlement: %w", err)
	}
	rep.SettlementMismatches = append(rep.SettlementMismatches, strays...)
	return nil
}
