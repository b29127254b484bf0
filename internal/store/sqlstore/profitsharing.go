package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Profit sharing (分账, internal/profitsharing): receivers, sharings,
// returns and the sharing state of each order paid with profit sharing.

const receiverColumns = `id, merchant_id, livemode, type, account, name, description, created_at`

func scanReceiver(r rowScanner) (*store.ProfitSharingReceiver, error) {
	var v store.ProfitSharingReceiver
	var created int64
	if err := r.Scan(&v.ID, &v.MerchantID, &v.Livemode, &v.Type, &v.Account, &v.Name, &v.Description, &created); err != nil {
		return nil, err
	}
	v.CreatedAt = fromMicros(created)
	return &v, nil
}

// ProfitSharingReceiverCreate inserts r; ErrConflict when the merchant has
// that receiver in that mode.
func (s *Store) ProfitSharingReceiverCreate(ctx context.Context, r *store.ProfitSharingReceiver) error {
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO profit_sharing_receivers (`+receiverColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.MerchantID, r.Livemode, r.Type, r.Account, r.Name, r.Description, micros(r.CreatedAt)); err != nil {
			return fmt.Errorf("create receiver %s: %w", r.ID, err)
		}
		return nil
	})
}

// ProfitSharingReceiverGet returns the merchant's receiver in a mode.
func (s *Store) ProfitSharingReceiverGet(ctx context.Context, merchantID string, livemode bool, id string) (*store.ProfitSharingReceiver, error) {
	r, err := queryOne(ctx, s.reader(), scanReceiver, `SELECT `+receiverColumns+` FROM profit_sharing_receivers
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, merchantID, livemode)
	if err != nil {
		return nil, fmt.Errorf("receiver %s: %w", id, err)
	}
	return r, nil
}

// ProfitSharingReceiverFind returns the merchant's receiver of a type and account.
func (s *Store) ProfitSharingReceiverFind(ctx context.Context, merchantID string, livemode bool, typ, account string) (*store.ProfitSharingReceiver, error) {
	r, err := queryOne(ctx, s.reader(), scanReceiver, `SELECT `+receiverColumns+` FROM profit_sharing_receivers
		WHERE merchant_id = ? AND livemode = ? AND type = ? AND account = ?`, merchantID, livemode, typ, account)
	if err != nil {
		return nil, fmt.Errorf("receiver %s %s: %w", typ, account, err)
	}
	return r, nil
}

// ProfitSharingReceiverList pages through a merchant's receivers, newest first.
func (s *Store) ProfitSharingReceiverList(ctx context.Context, merchantID string, livemode bool, p store.ListParams) ([]*store.ProfitSharingReceiver, bool, error) {
	var w filter
	w.and("merchant_id = ?", merchantID)
	w.and("livemode = ?", livemode)
	return listPage(ctx, s.reader(), `SELECT `+receiverColumns+` FROM profit_sharing_receivers`, w, p, scanReceiver)
}

const sharingColumns = `id, merchant_id, app_id, livemode, order_id, out_order_no, amount, currency, receivers, finish,
	status, channel, channel_account_id, channel_sharing_no, failure_code, failure_message, request_hash,
	query_attempts, next_query_at, created_at, updated_at, finished_at`

func scanSharing(r rowScanner) (*store.ProfitSharing, error) {
	var p store.ProfitSharing
	var receivers string
	var next, created, updated int64
	var finished sql.NullInt64
	if err := r.Scan(&p.ID, &p.MerchantID, &p.AppID, &p.Livemode, &p.OrderID, &p.OutOrderNo, &p.Amount, &p.Currency, &receivers, &p.Finish,
		&p.Status, &p.Channel, &p.ChannelAccountID, &p.ChannelSharingNo, &p.FailureCode, &p.FailureMessage, &p.RequestHash,
		&p.QueryAttempts, &next, &created, &updated, &finished); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(receivers), &p.Receivers); err != nil {
		return nil, fmt.Errorf("profit sharing %s: decode receivers: %w", p.ID, err)
	}
	p.NextQueryAt, p.CreatedAt, p.UpdatedAt, p.FinishedAt = fromMicros(next), fromMicros(created), fromMicros(updated), fromNullMicros(finished)
	return &p, nil
}

func (q txQueries) ProfitSharingCreate(ctx context.Context, p *store.ProfitSharing) error {
	receivers, err := json.Marshal(p.Receivers)
	if err != nil {
		return fmt.Errorf("create profit sharing %s: %w", p.ID, err)
	}
	if _, err := q.c.exec(ctx, `INSERT INTO profit_sharings (`+sharingColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.MerchantID, p.AppID, p.Livemode, p.OrderID, p.OutOrderNo, p.Amount, p.Currency, string(receivers), p.Finish,
		p.Status, p.Channel, p.ChannelAccountID, p.ChannelSharingNo, p.FailureCode, p.FailureMessage, p.RequestHash,
		p.QueryAttempts, micros(p.NextQueryAt), micros(p.CreatedAt), micros(p.UpdatedAt), nullMicros(p.FinishedAt)); err != nil {
		return fmt.Errorf("create profit sharing %s: %w", p.ID, err)
	}
	return nil
}

func sharingGet(ctx context.Context, c conn, id string) (*store.ProfitSharing, error) {
	p, err := queryOne(ctx, c, scanSharing, `SELECT `+sharingColumns+` FROM profit_sharings WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("profit sharing %s: %w", id, err)
	}
	return p, nil
}

func (q txQueries) ProfitSharingGet(ctx context.Context, id string) (*store.ProfitSharing, error) {
	return sharingGet(ctx, q.c, id)
}

// ProfitSharingGet returns a sharing.
func (s *Store) ProfitSharingGet(ctx context.Context, id string) (*store.ProfitSharing, error) {
	return sharingGet(ctx, s.reader(), id)
}

// ProfitSharingGetInScope returns the sharing if it is the scope's merchant's.
func (s *Store) ProfitSharingGetInScope(ctx context.Context, sc store.Scope, id string) (*store.ProfitSharing, error) {
	p, err := queryOne(ctx, s.reader(), scanSharing, `SELECT `+sharingColumns+` FROM profit_sharings
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("profit sharing %s of %s: %w", id, sc.MerchantID, err)
	}
	return p, nil
}

// ProfitSharingGetByOutOrderNo returns the app's sharing with the merchant's number.
func (s *Store) ProfitSharingGetByOutOrderNo(ctx context.Context, appID, outOrderNo string) (*store.ProfitSharing, error) {
	p, err := queryOne(ctx, s.reader(), scanSharing, `SELECT `+sharingColumns+` FROM profit_sharings
		WHERE app_id = ? AND out_order_no = ?`, appID, outOrderNo)
	if err != nil {
		return nil, fmt.Errorf("profit sharing %s of %s: %w", outOrderNo, appID, err)
	}
	return p, nil
}

// ProfitSharingList pages through an order's sharings, newest first.
func (s *Store) ProfitSharingList(ctx context.Context, sc store.Scope, orderID string, p store.ListParams) ([]*store.ProfitSharing, bool, error) {
	var w filter
	w.and("merchant_id = ?", sc.MerchantID)
	w.and("livemode = ?", sc.Livemode)
	w.and("order_id = ?", orderID)
	return listPage(ctx, s.reader(), `SELECT `+sharingColumns+` FROM profit_sharings`, w, p, scanSharing)
}

// ProfitSharingsDue lists processing sharings whose next query is due.
func (s *Store) ProfitSharingsDue(ctx context.Context, now time.Time, limit int) ([]*store.ProfitSharing, error) {
	ps, err := queryAll(ctx, s.reader(), scanSharing, `SELECT `+sharingColumns+` FROM profit_sharings
		WHERE status = '`+store.ProfitSharingProcessing+`' AND next_query_at <= ? ORDER BY next_query_at, id LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("profit sharings due: %w", err)
	}
	return ps, nil
}

func (q txQueries) ProfitSharingTransition(ctx context.Context, t store.ProfitSharingTransition) (*store.ProfitSharing, error) {
	args := []any{t.To, micros(t.At), t.ChannelSharingNo, t.FailureCode, t.FailureMessage, t.QueryAttempts, micros(t.NextQueryAt)}
	finished := "finished_at"
	if t.To != store.ProfitSharingProcessing {
		finished = "?"
		args = append(args, micros(t.At))
	}
	args = append(args, t.ID, store.ProfitSharingProcessing)
	out, err := queryOne(ctx, q.c, scanSharing, `UPDATE profit_sharings SET status = ?, updated_at = ?,
		channel_sharing_no = COALESCE(NULLIF(?, ''), channel_sharing_no), failure_code = ?, failure_message = ?,
		query_attempts = ?, next_query_at = ?, finished_at = `+finished+`
		WHERE id = ? AND status = ? RETURNING `+sharingColumns, args...)
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("profit sharing %s to %s: %w", t.ID, t.To, err)
	}
	cur, err := sharingGet(ctx, q.c, t.ID)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("profit sharing %s is %s, not processing: %w", t.ID, cur.Status, store.ErrStale)
}

func (q txQueries) ProfitSharingProcessing(ctx context.Context, orderID string) (bool, error) {
	var n int
	if err := q.c.queryRow(ctx, `SELECT COUNT(*) FROM profit_sharings WHERE order_id = ? AND status = ?`,
		orderID, store.ProfitSharingProcessing).Scan(&n); err != nil {
		return false, fmt.Errorf("processing sharings of %s: %w", orderID, err)
	}
	return n > 0, nil
}

const sharingOrderColumns = `order_id, merchant_id, livemode, currency, net, held, reserved, shared, released,
	finish_requested, finished_at, created_at, updated_at, unfreeze_pending`

func scanSharingOrder(r rowScanner) (*store.ProfitSharingOrder, error) {
	var o store.ProfitSharingOrder
	var created, updated int64
	var finished sql.NullInt64
	if err := r.Scan(&o.OrderID, &o.MerchantID, &o.Livemode, &o.Currency, &o.Net, &o.Held, &o.Reserved, &o.Shared, &o.Released,
		&o.FinishRequested, &finished, &created, &updated, &o.UnfreezePending); err != nil {
		return nil, err
	}
	o.FinishedAt, o.CreatedAt, o.UpdatedAt = fromNullMicros(finished), fromMicros(created), fromMicros(updated)
	return &o, nil
}

func sharingOrderGet(ctx context.Context, c conn, orderID string) (*store.ProfitSharingOrder, error) {
	o, err := queryOne(ctx, c, scanSharingOrder, `SELECT `+sharingOrderColumns+` FROM profit_sharing_orders WHERE order_id = ?`, orderID)
	if err != nil {
		return nil, fmt.Errorf("sharing state of order %s: %w", orderID, err)
	}
	return o, nil
}

// ProfitSharingOrderGet returns the order's sharing state as it would be
// made (without keeping it) when nothing has touched it yet.
func (s *Store) ProfitSharingOrderGet(ctx context.Context, orderID string) (*store.ProfitSharingOrder, error) {
	o, err := sharingOrderGet(ctx, s.reader(), orderID)
	if !errors.Is(err, store.ErrNotFound) {
		return o, err
	}
	return sharingOrderFromPayment(ctx, s.reader(), orderID)
}

// sharingOrderFromPayment is the state of an order nothing has touched:
// all of its payment into the profit_sharing account is held.
func sharingOrderFromPayment(ctx context.Context, c conn, orderID string) (*store.ProfitSharingOrder, error) {
	o, err := queryOne(ctx, c, func(r rowScanner) (*store.ProfitSharingOrder, error) {
		var o store.ProfitSharingOrder
		var at int64
		err := r.Scan(&o.OrderID, &o.MerchantID, &o.Livemode, &o.Currency, &o.Net, &at)
		o.Held, o.CreatedAt, o.UpdatedAt = o.Net, fromMicros(at), fromMicros(at)
		return &o, err
	}, `SELECT o.id, o.merchant_id, o.livemode, o.currency, l.amount, e.created_at
		FROM orders o
		JOIN ledger_entries e ON e.kind = ? AND e.ref_id = o.id
		JOIN ledger_lines l ON l.entry_id = e.id AND l.account LIKE '%:profit_sharing'
		WHERE o.id = ? AND o.profit_sharing = ?`, ledger.KindPayment, orderID, true)
	if err != nil {
		return nil, fmt.Errorf("sharing state of order %s: %w", orderID, err)
	}
	return o, nil
}

func (q txQueries) ProfitSharingOrderLock(ctx context.Context, orderID string) (*store.ProfitSharingOrder, error) {
	// lockKeys takes the dialect's transaction lock (none on SQLite, whose
	// write transactions are serial): sharings, refunds, returns and the
	// release of one order run one at a time.
	if err := lockKeys(ctx, q.c, []string{"profit_sharing:" + orderID}); err != nil {
		return nil, fmt.Errorf("lock the sharing of order %s: %w", orderID, err)
	}
	o, err := sharingOrderGet(ctx, q.c, orderID)
	if !errors.Is(err, store.ErrNotFound) {
		return o, err
	}
	if o, err = sharingOrderFromPayment(ctx, q.c, orderID); err != nil {
		return nil, err
	}
	if _, err := q.c.exec(ctx, `INSERT INTO profit_sharing_orders (`+sharingOrderColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.OrderID, o.MerchantID, o.Livemode, o.Currency, o.Net, o.Held, o.Reserved, o.Shared, o.Released,
		o.FinishRequested, nullMicros(o.FinishedAt), micros(o.CreatedAt), micros(o.UpdatedAt), o.UnfreezePending); err != nil {
		return nil, fmt.Errorf("sharing state of order %s: %w", orderID, err)
	}
	return o, nil
}

func (q txQueries) ProfitSharingOrderPut(ctx context.Context, o *store.ProfitSharingOrder) error {
	res, err := q.c.exec(ctx, `UPDATE profit_sharing_orders SET held = ?, reserved = ?, shared = ?, released = ?,
		finish_requested = ?, finished_at = ?, updated_at = ?, unfreeze_pending = ? WHERE order_id = ?`,
		o.Held, o.Reserved, o.Shared, o.Released, o.FinishRequested, nullMicros(o.FinishedAt), micros(o.UpdatedAt), o.UnfreezePending, o.OrderID)
	if err != nil {
		return fmt.Errorf("update sharing state of order %s: %w", o.OrderID, err)
	}
	return oneRow(res, "sharing state of order "+o.OrderID, store.ErrNotFound)
}

// ProfitSharingOrdersToRelease lists unfinished sharing orders paid at or before paidBefore.
func (s *Store) ProfitSharingOrdersToRelease(ctx context.Context, paidBefore time.Time, limit int) ([]string, error) {
	ids, err := queryAll(ctx, s.reader(), func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT o.id FROM orders o LEFT JOIN profit_sharing_orders p ON p.order_id = o.id
		WHERE o.profit_sharing = ? AND o.status = `+sqlSucceeded+` AND o.paid_at <= ?
			AND (p.order_id IS NULL OR (p.finished_at IS NULL AND NOT p.finish_requested))
		ORDER BY o.paid_at, o.id LIMIT ?`, true, micros(paidBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("sharing orders to release: %w", err)
	}
	return ids, nil
}

// ProfitSharingOrdersToUnfreeze lists released orders whose channel has not been told.
func (s *Store) ProfitSharingOrdersToUnfreeze(ctx context.Context, limit int) ([]string, error) {
	ids, err := queryAll(ctx, s.reader(), func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT order_id FROM profit_sharing_orders WHERE unfreeze_pending = ? ORDER BY order_id LIMIT ?`, true, limit)
	if err != nil {
		return nil, fmt.Errorf("sharing orders to unfreeze: %w", err)
	}
	return ids, nil
}

const sharingReturnColumns = `id, merchant_id, app_id, livemode, profit_sharing_id, order_id, out_return_no, receiver_id,
	amount, currency, description, request_hash, created_at, refund_id, status, channel_account_id, channel_return_no,
	failure_code, failure_message`

func scanSharingReturn(r rowScanner) (*store.ProfitSharingReturn, error) {
	var v store.ProfitSharingReturn
	var created int64
	if err := r.Scan(&v.ID, &v.MerchantID, &v.AppID, &v.Livemode, &v.ProfitSharingID, &v.OrderID, &v.OutReturnNo, &v.ReceiverID,
		&v.Amount, &v.Currency, &v.Description, &v.RequestHash, &created, &v.RefundID, &v.Status, &v.ChannelAccountID, &v.ChannelReturnNo,
		&v.FailureCode, &v.FailureMessage); err != nil {
		return nil, err
	}
	v.CreatedAt = fromMicros(created)
	return &v, nil
}

func (q txQueries) ProfitSharingReturnCreate(ctx context.Context, r *store.ProfitSharingReturn) error {
	status := r.Status
	if status == "" {
		status = store.ProfitSharingSucceeded
	}
	if _, err := q.c.exec(ctx, `INSERT INTO profit_sharing_returns (`+sharingReturnColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.MerchantID, r.AppID, r.Livemode, r.ProfitSharingID, r.OrderID, r.OutReturnNo, r.ReceiverID,
		r.Amount, r.Currency, r.Description, r.RequestHash, micros(r.CreatedAt), r.RefundID, status, r.ChannelAccountID, r.ChannelReturnNo,
		r.FailureCode, r.FailureMessage); err != nil {
		return fmt.Errorf("create profit sharing return %s: %w", r.ID, err)
	}
	return nil
}

func (q txQueries) ProfitSharingReturned(ctx context.Context, sharingID, receiverID string) (int64, error) {
	var n int64
	if err := q.c.queryRow(ctx, `SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM profit_sharing_returns
		WHERE profit_sharing_id = ? AND receiver_id = ? AND status <> ?`, sharingID, receiverID, store.ProfitSharingFailed).Scan(&n); err != nil {
		return 0, fmt.Errorf("returns of %s by %s: %w", sharingID, receiverID, err)
	}
	return n, nil
}

// ProfitSharingsSucceeded lists an order's succeeded sharings, oldest
// first.
func (q txQueries) ProfitSharingsSucceeded(ctx context.Context, orderID string) ([]*store.ProfitSharing, error) {
	ps, err := queryAll(ctx, q.c, scanSharing, `SELECT `+sharingColumns+` FROM profit_sharings
		WHERE order_id = ? AND status = ? ORDER BY id`, orderID, store.ProfitSharingSucceeded)
	if err != nil {
		return nil, fmt.Errorf("succeeded sharings of order %s: %w", orderID, err)
	}
	return ps, nil
}

// ProfitSharingReturnsOfRefund lists the returns a refund took, oldest
// first.
func (s *Store) ProfitSharingReturnsOfRefund(ctx context.Context, refundID string) ([]*store.ProfitSharingReturn, error) {
	rs, err := queryAll(ctx, s.reader(), scanSharingReturn, `SELECT `+sharingReturnColumns+` FROM profit_sharing_returns
		WHERE refund_id = ? ORDER BY id`, refundID)
	if err != nil {
		return nil, fmt.Errorf("profit sharing returns of refund %s: %w", refundID, err)
	}
	return rs, nil
}

// ProfitSharingReturnGetByOutReturnNo returns the app's return with the merchant's number.
func (s *Store) ProfitSharingReturnGetByOutReturnNo(ctx context.Context, appID, outReturnNo string) (*store.ProfitSharingReturn, error) {
	r, err := queryOne(ctx, s.reader(), scanSharingReturn, `SELECT `+sharingReturnColumns+` FROM profit_sharing_returns
		WHERE app_id = ? AND out_return_no = ?`, appID, outReturnNo)
	if err != nil {
		return nil, fmt.Errorf("profit sharing return %s of %s: %w", outReturnNo, appID, err)
	}
	return r, nil
}

func (q txQueries) ProfitSharingRefundHold(ctx context.Context, refundID, orderID string, amount int64) error {
	if _, err := q.c.exec(ctx, `INSERT INTO profit_sharing_refunds (refund_id, order_id, amount, done) VALUES (?, ?, ?, ?)`,
		refundID, orderID, amount, false); err != nil {
		return fmt.Errorf("hold refund %s on order %s: %w", refundID, orderID, err)
	}
	return nil
}

func (q txQueries) ProfitSharingReturnTransition(ctx context.Context, id, to, channelReturnNo, failureCode, failureMessage string) (*store.ProfitSharingReturn, error) {
	res, err := q.c.exec(ctx, `UPDATE profit_sharing_returns SET status = ?, channel_return_no = ?, failure_code = ?, failure_message = ?
		WHERE id = ? AND status = ?`, to, channelReturnNo, failureCode, failureMessage, id, store.ProfitSharingProcessing)
	if err != nil {
		return nil, fmt.Errorf("profit sharing return %s to %s: %w", id, to, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, fmt.Errorf("profit sharing return %s is not processing: %w", id, store.ErrStale)
	}
	r, err := queryOne(ctx, q.c, scanSharingReturn, `SELECT `+sharingReturnColumns+` FROM profit_sharing_returns WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("profit sharing return %s: %w", id, err)
	}
	return r, nil
}

func (q txQueries) ProfitSharingRefundHoldAdd(ctx context.Context, refundID string, amount int64) error {
	res, err := q.c.exec(ctx, `UPDATE profit_sharing_refunds SET amount = amount + ? WHERE refund_id = ? AND done = ?`, amount, refundID, false)
	if err != nil {
		return fmt.Errorf("add to the hold of refund %s: %w", refundID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("hold of refund %s: %w", refundID, store.ErrStale)
	}
	return nil
}

func (q txQueries) ProfitSharingRefundRelease(ctx context.Context, refundID string) (int64, error) {
	var amount int64
	var done bool
	if err := q.c.queryRow(ctx, `SELECT amount, done FROM profit_sharing_refunds WHERE refund_id = ?`, refundID).Scan(&amount, &done); err != nil {
		return 0, fmt.Errorf("hold of refund %s: %w", refundID, q.c.d.interpret(err))
	}
	if done {
		return 0, fmt.Errorf("hold of refund %s: %w", refundID, store.ErrStale)
	}
	if _, err := q.c.exec(ctx, `UPDATE profit_sharing_refunds SET done = ? WHERE refund_id = ?`, true, refundID); err != nil {
		return 0, fmt.Errorf("release hold of refund %s: %w", refundID, err)
	}
	return amount, nil
}

func (q txQueries) RefundCreateInTx(ctx context.Context, r *store.Refund) error {
	if r.Amount <= 0 {
		return fmt.Errorf("create refund %s: amount %d is not positive", r.ID, r.Amount)
	}
	meta, err := metadataJSON(r.Metadata)
	if err != nil {
		return fmt.Errorf("create refund %s: %w", r.ID, err)
	}
	if err := reserveRefund(ctx, q.c, r); err != nil {
		return err
	}
	return insertRefund(ctx, q.c, r, meta)
}

// verifyProfitSharing checks that each merchant's profit_sharing account
// holds, per currency, what its sharing orders say they hold (the held of
// each order touched, the payment of each order not touched yet).
func verifyProfitSharing(ctx context.Context, c conn, rep *store.VerifyReport) error {
	bad, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var account, currency string
		var balance, want int64
		err := r.Scan(&account, &currency, &balance, &want)
		return fmt.Sprintf("profit sharing account %s holds %d %s, its orders %d", account, balance, currency, want), err
	}, `SELECT a.account, a.currency, a.balance, COALESCE(w.held, 0) FROM
			(SELECT account, currency, CAST(SUM(amount) AS BIGINT) AS balance FROM ledger_lines
				WHERE account LIKE '%:profit_sharing' GROUP BY account, currency) a
		LEFT JOIN
			(SELECT l.account, l.currency, CAST(SUM(COALESCE(p.held, l.amount)) AS BIGINT) AS held
				FROM orders o
				JOIN ledger_entries e ON e.kind = ? AND e.ref_id = o.id
				JOIN ledger_lines l ON l.entry_id = e.id AND l.account LIKE '%:profit_sharing'
				LEFT JOIN profit_sharing_orders p ON p.order_id = o.id
				WHERE o.profit_sharing = ?
				GROUP BY l.account, l.currency) w
		ON w.account = a.account AND w.currency = a.currency
		WHERE a.balance <> COALESCE(w.held, 0)
		ORDER BY a.account, a.currency`, ledger.KindPayment, true)
	if err != nil {
		return fmt.Errorf("check profit sharing accounts: %w", err)
	}
	rep.BalanceMismatches = append(rep.BalanceMismatches, bad...)
	return nil
}

// verifyProfitSharingEntries checks every sharing against its entries: a
// sharing with an amount has one profit_sharing entry; one made at a
// channel has a profit_sharing_paid entry when succeeded and a
// profit_sharing_failed one when failed (one made inside the platform
// neither); and no such entry references a sharing that does not exist.
func verifyProfitSharingEntries(ctx context.Context, c conn, rep *store.VerifyReport) error {
	bad, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id, status string
		var started, paid, failed int
		err := r.Scan(&id, &status, &started, &paid, &failed)
		return fmt.Sprintf("profit sharing %s: %s with %d profit_sharing, %d profit_sharing_paid and %d profit_sharing_failed entries", id, status, started, paid, failed), err
	}, `SELECT p.id, p.status,
			COUNT(CASE WHEN e.kind = ? THEN 1 END), COUNT(CASE WHEN e.kind = ? THEN 1 END), COUNT(CASE WHEN e.kind = ? THEN 1 END)
		FROM profit_sharings p LEFT JOIN ledger_entries e ON e.ref_id = p.id
		GROUP BY p.id, p.status, p.amount, p.channel
		HAVING COUNT(CASE WHEN e.kind = ? THEN 1 END) <> CASE WHEN p.amount > 0 THEN 1 ELSE 0 END
			OR COUNT(CASE WHEN e.kind = ? THEN 1 END) <> CASE WHEN p.status = ? AND p.channel <> '' THEN 1 ELSE 0 END
			OR COUNT(CASE WHEN e.kind = ? THEN 1 END) <> CASE WHEN p.status = ? THEN 1 ELSE 0 END
		ORDER BY p.id`,
		ledger.KindProfitSharing, ledger.KindProfitSharingPaid, ledger.KindProfitSharingFailed,
		ledger.KindProfitSharing, ledger.KindProfitSharingPaid, store.ProfitSharingSucceeded, ledger.KindProfitSharingFailed, store.ProfitSharingFailed)
	if err != nil {
		return fmt.Errorf("check profit sharings against their entries: %w", err)
	}
	orphans, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id, kind, ref string
		err := r.Scan(&id, &kind, &ref)
		return fmt.Sprintf("%s entry %s: profit sharing %s does not exist", kind, id, ref), err
	}, `SELECT e.id, e.kind, e.ref_id FROM ledger_entries e LEFT JOIN profit_sharings p ON p.id = e.ref_id
		WHERE e.kind IN (?, ?, ?) AND p.id IS NULL ORDER BY e.id`,
		ledger.KindProfitSharing, ledger.KindProfitSharingPaid, ledger.KindProfitSharingFailed)
	if err != nil {
		return fmt.Errorf("find profit sharing entries without a sharing: %w", err)
	}
	rep.MissingEntries = append(rep.MissingEntries, bad...)
	rep.MissingEntries = append(rep.MissingEntries, orphans...)
	return nil
}
