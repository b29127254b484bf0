package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store"
)

const refundColumns = `id, order_id, merchant_id, app_id, livemode, out_refund_no, amount, currency, status, channel,
	channel_refund_no, failure_code, failure_message, reason, notify_url, metadata, request_hash, created_at, updated_at,
	succeeded_at, settle_currency, settle_amount, payer_amount, payer_currency`

// RefundCreate reserves r.Amount on its order and inserts r in one
// transaction. The reservation is a guarded UPDATE, so concurrent refunds
// of one order can never reserve more than its amount: SQLite runs writers
// one at a time, and PostgreSQL makes the second UPDATE wait for the first's
// row lock and then re-check the guard.
//
// Errors, in order of precedence: ErrNotFound when the order does not
// exist; ErrConflict when (AppID, OutRefundNo) exists (also when the refund
// would be refused anyway, so a repeated request finds its refund);
// ErrStale when the order is not succeeded; ErrRefundExceeds when
// AmountRefunded+r.Amount would pass the order's amount.
func (s *Store) RefundCreate(ctx context.Context, r *store.Refund) error {
	if r.Amount <= 0 {
		return fmt.Errorf("create refund %s: amount %d is not positive", r.ID, r.Amount)
	}
	// The metadata is encoded before the turn, outside the serial section;
	// an error encoding it is reported where it always was, after the
	// reservation's.
	meta, metaErr := metadataJSON(r.Metadata)
	return s.inTx(ctx, func(tx *tx) error {
		if err := reserveRefund(ctx, tx.conn, r); err != nil {
			return err
		}
		if metaErr != nil {
			return fmt.Errorf("create refund %s: %w", r.ID, metaErr)
		}
		return insertRefund(ctx, tx.conn, r, meta)
	})
}

// reserveRefund adds r.Amount to its order's AmountRefunded if the order is
// succeeded and the sum stays within its amount, and says why not otherwise.
func reserveRefund(ctx context.Context, c conn, r *store.Refund) error {
	res, err := c.exec(ctx, `UPDATE orders SET amount_refunded = amount_refunded + ?, updated_at = ?
		WHERE id = ? AND status = ? AND amount_refunded + ? <= amount`,
		r.Amount, micros(r.CreatedAt), r.OrderID, string(store.OrderSucceeded), r.Amount)
	if err != nil {
		return fmt.Errorf("reserve refund on order %s: %w", r.OrderID, err)
	}
	if n, err := affected(res); err != nil || n == 1 {
		return err
	}
	o, err := orderGet(ctx, c, r.OrderID)
	if err != nil {
		return err
	}
	if _, err := refundGetByOutRefundNo(ctx, c, r.AppID, r.OutRefundNo); err == nil {
		return fmt.Errorf("refund %q of app %s exists: %w", r.OutRefundNo, r.AppID, store.ErrConflict)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if o.Status != store.OrderSucceeded {
		return fmt.Errorf("refund of order %s, which is %s: %w", o.ID, o.Status, store.ErrStale)
	}
	return fmt.Errorf("refund of %d on order %s (amount %d, refunded %d): %w",
		r.Amount, o.ID, o.Amount, o.AmountRefunded, store.ErrRefundExceeds)
}

// insertRefund inserts r with its metadata column, encoded.
func insertRefund(ctx context.Context, c conn, r *store.Refund, meta string) error {
	if _, err := c.exec(ctx, `INSERT INTO refunds (`+refundColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrderID, r.MerchantID, r.AppID, r.Livemode, r.OutRefundNo, r.Amount, r.Currency, string(r.Status),
		r.Channel, r.ChannelRefundNo, r.FailureCode, r.FailureMessage, r.Reason, r.NotifyURL, meta, r.RequestHash,
		micros(r.CreatedAt), micros(r.UpdatedAt), nullMicros(r.SucceededAt),
		nullString(r.SettleCurrency), nullInt(r.SettleAmount, r.SettleCurrency != ""),
		r.PayerAmount, r.PayerCurrency); err != nil {
		return fmt.Errorf("create refund %s: %w", r.ID, err)
	}
	return nil
}

// RefundGet returns the refund with id.
func (s *Store) RefundGet(ctx context.Context, id string) (*store.Refund, error) {
	return refundGet(ctx, s.reader(), id)
}

func refundGet(ctx context.Context, c conn, id string) (*store.Refund, error) {
	r, err := queryOne(ctx, c, scanRefund, `SELECT `+refundColumns+` FROM refunds WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("refund %s: %w", id, err)
	}
	return r, nil
}

// RefundGetInScope returns the refund with id if it is the scope's.
func (s *Store) RefundGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Refund, error) {
	r, err := queryOne(ctx, s.reader(), scanRefund, `SELECT `+refundColumns+` FROM refunds
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("refund %s of %s: %w", id, sc.MerchantID, err)
	}
	return r, nil
}

// RefundGetByOutRefundNo returns the app's refund with the merchant's number.
func (s *Store) RefundGetByOutRefundNo(ctx context.Context, appID, outRefundNo string) (*store.Refund, error) {
	return refundGetByOutRefundNo(ctx, s.reader(), appID, outRefundNo)
}

func refundGetByOutRefundNo(ctx context.Context, c conn, appID, outRefundNo string) (*store.Refund, error) {
	r, err := queryOne(ctx, c, scanRefund, `SELECT `+refundColumns+` FROM refunds WHERE app_id = ? AND out_refund_no = ?`, appID, outRefundNo)
	if err != nil {
		return nil, fmt.Errorf("refund %q of app %s: %w", outRefundNo, appID, err)
	}
	return r, nil
}

// RefundList pages through a merchant's refunds in one mode, newest first.
func (s *Store) RefundList(ctx context.Context, f store.RefundFilter) ([]*store.Refund, bool, error) {
	var w filter
	w.and("merchant_id = ?", f.MerchantID)
	w.and("livemode = ?", f.Livemode)
	if f.OrderID != "" {
		w.and("order_id = ?", f.OrderID)
	}
	if f.Status != "" {
		w.and("status = ?", string(f.Status))
	}
	rs, more, err := listPage(ctx, s.reader(), `SELECT `+refundColumns+` FROM refunds`, w, f.ListParams, scanRefund)
	if err != nil {
		return nil, false, fmt.Errorf("list refunds of %s: %w", f.MerchantID, err)
	}
	return rs, more, nil
}

// RefundTransition applies t in one transaction: the compare-and-set
// update; when To is failed, giving the amount back to the order; then
// t.Effects with the refund and its order as they are after; then the
// entries and events it returns. A refund already failed is never failed
// again (its amount was given back once), whatever t.From says.
func (s *Store) RefundTransition(ctx context.Context, t store.RefundTransition) (*store.Refund, error) {
	if len(t.From) == 0 {
		return nil, fmt.Errorf("refund %s transition to %s: no From status", t.RefundID, t.To)
	}
	u := refundStatusUpdate(t)
	var out *store.Refund
	err := s.inTx(ctx, func(tx *tx) error {
		r, err := refundTransition(ctx, tx.conn, t, u)
		out = r
		return err
	})
	return out, err
}

// refundTransition runs the compare-and-set u of t; when t.To is failed,
// gives the amount back to the order; then runs t.Effects with the refund
// and its order after and writes what it returns, all on c (a transaction).
func refundTransition(ctx context.Context, c conn, t store.RefundTransition, u refundUpdate) (*store.Refund, error) {
	r, err := updateRefundStatus(ctx, c, t, u)
	if err != nil {
		return nil, err
	}
	var o *store.Order
	if t.To == store.RefundFailed {
		o, err = releaseRefund(ctx, c, r, t.At)
	} else {
		o, err = orderGet(ctx, c, r.OrderID)
	}
	if err != nil {
		return nil, err
	}
	if t.Effects != nil {
		eff, err := t.Effects(r, o)
		if err != nil {
			return nil, err
		}
		if err := writeEffects(ctx, c, eff, t.At); err != nil {
			return nil, fmt.Errorf("refund %s to %s: %w", t.RefundID, t.To, err)
		}
	}
	return r, nil
}

// refundUpdate is the compare-and-set of RefundTransition, built outside
// its transaction: the statuses it moves from, and the UPDATE (none when
// there are no such statuses).
type refundUpdate struct {
	from  []store.RefundStatus
	query string
	args  []any
}

// refundStatusUpdate builds the compare-and-set of RefundTransition.
func refundStatusUpdate(t store.RefundTransition) refundUpdate {
	from := t.From
	if t.To == store.RefundFailed {
		from = slices.DeleteFunc(slices.Clone(from), func(s store.RefundStatus) bool { return s == store.RefundFailed })
	}
	u := refundUpdate{from: from}
	if len(from) > 0 {
		set := []string{"status = ?", "updated_at = ?"}
		args := []any{string(t.To), micros(t.At)}
		for _, f := range []struct {
			col string
			val string
		}{
			{"channel_refund_no", t.ChannelRefundNo},
			{"failure_code", t.FailureCode},
			{"failure_message", t.FailureMessage},
		} {
			if f.val != "" {
				set = append(set, f.col+" = ?")
				args = append(args, f.val)
			}
		}
		if t.PayerCurrency != "" {
			set = append(set, "payer_amount = ?", "payer_currency = ?")
			args = append(args, t.PayerAmount, t.PayerCurrency)
		}
		if t.To == store.RefundSucceeded {
			set = append(set, "succeeded_at = ?")
			args = append(args, micros(t.At))
		}
		args = append(args, t.RefundID)
		for _, st := range from {
			args = append(args, string(st))
		}
		u.query = `UPDATE refunds SET ` + strings.Join(set, ", ") + `
			WHERE id = ? AND status IN (` + placeholders(len(from)) + `) RETURNING ` + refundColumns
		u.args = args
	}
	return u
}

// updateRefundStatus runs the compare-and-set u of RefundTransition t and
// returns the refund as it is after; ErrNotFound or ErrStale when no row
// changed.
func updateRefundStatus(ctx context.Context, c conn, t store.RefundTransition, u refundUpdate) (*store.Refund, error) {
	if len(u.from) > 0 {
		r, err := queryOne(ctx, c, scanRefund, u.query, u.args...)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("refund %s to %s: %w", t.RefundID, t.To, err)
		}
	}
	// No row changed: tell a missing refund from one in another status.
	cur, err := refundGet(ctx, c, t.RefundID)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("refund %s is %s, not %v: %w", t.RefundID, cur.Status, u.from, store.ErrStale)
}

// releaseRefund gives a failed refund's amount back to its order and
// returns the order after.
func releaseRefund(ctx context.Context, c conn, r *store.Refund, at time.Time) (*store.Order, error) {
	o, err := queryOne(ctx, c, scanOrder, `UPDATE orders SET amount_refunded = amount_refunded - ?, updated_at = ?
		WHERE id = ? RETURNING `+orderColumns, r.Amount, micros(at), r.OrderID)
	if err != nil {
		return nil, fmt.Errorf("give refund %s back to order %s: %w", r.ID, r.OrderID, err)
	}
	return o, nil
}

// RefundsPending lists up to limit pending refunds last updated before
// updatedBefore, least recently updated first. A limit of 0 or less means 100.
func (s *Store) RefundsPending(ctx context.Context, updatedBefore time.Time, limit int) ([]*store.Refund, error) {
	rs, err := queryAll(ctx, s.reader(), scanRefund, `SELECT `+refundColumns+` FROM refunds
		WHERE status = ? AND updated_at < ? ORDER BY updated_at, id LIMIT ?`,
		string(store.RefundPending), micros(updatedBefore), batchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list pending refunds: %w", err)
	}
	return rs, nil
}

func scanRefund(r rowScanner) (*store.Refund, error) {
	var x store.Refund
	var meta string
	var created, updated int64
	var succeeded, settleAmount sql.NullInt64
	var settleCurrency sql.NullString
	if err := r.Scan(&x.ID, &x.OrderID, &x.MerchantID, &x.AppID, &x.Livemode, &x.OutRefundNo, &x.Amount, &x.Currency,
		&x.Status, &x.Channel, &x.ChannelRefundNo, &x.FailureCode, &x.FailureMessage, &x.Reason, &x.NotifyURL, &meta,
		&x.RequestHash, &created, &updated, &succeeded, &settleCurrency, &settleAmount,
		&x.PayerAmount, &x.PayerCurrency); err != nil {
		return nil, err
	}
	var err error
	if x.Metadata, err = fromMetadataJSON(meta); err != nil {
		return nil, fmt.Errorf("refund %s: %w", x.ID, err)
	}
	x.CreatedAt = fromMicros(created)
	x.UpdatedAt = fromMicros(updated)
	x.SucceededAt = fromNullMicros(succeeded)
	x.SettleCurrency, x.SettleAmount = settleCurrency.String, settleAmount.Int64
	return &x, nil
}
