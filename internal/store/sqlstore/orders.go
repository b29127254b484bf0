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

const orderColumns = `id, merchant_id, app_id, livemode, out_trade_no, amount, currency, subject, description, method,
	status, channel, channel_trade_no, amount_refunded, next_action, failure_code, failure_message, risk, metadata,
	payer, notify_url, return_url, request_hash, created_at, updated_at, expires_at, paid_at, closed_at,
	channel_account_id, route, sync_attempts, next_sync_at, customer_id,
	fx_quote_id, settle_currency, settle_amount, installments, profit_sharing,
	payer_amount, payer_currency, exchange_rate`

// OrderCreate inserts o; ErrConflict when (AppID, OutTradeNo) or the id exists.
func (s *Store) OrderCreate(ctx context.Context, o *store.Order) error {
	// The JSON columns are encoded before the turn, outside the serial section.
	meta, err := metadataJSON(o.Metadata)
	if err != nil {
		return fmt.Errorf("create order %s: %w", o.ID, err)
	}
	payer, err := json.Marshal(o.Payer)
	if err != nil {
		return fmt.Errorf("create order %s: encode payer: %w", o.ID, err)
	}
	if o.FXQuoteID != "" { // two statements: the order and its quote
		return s.inTx(ctx, func(t *tx) error { return insertOrder(ctx, t.conn, o, meta, string(payer)) })
	}
	if s.orders != nil {
		return s.orders.insert(ctx, &orderInsert{o: o, meta: meta, payer: string(payer)})
	}
	return s.inStmt(ctx, func(c conn) error { return insertOrder(ctx, c, o, meta, string(payer)) })
}

// insertOrder inserts o with its metadata and payer columns, encoded.
func insertOrder(ctx context.Context, c conn, o *store.Order, meta, payer string) error {
	if err := c.later(ctx, "create order "+o.ID, `INSERT INTO orders (`+orderColumns+`) VALUES `+valueRows(1, orderColumnCount), orderValues(o, meta, payer)...); err != nil {
		return err
	}
	if o.FXQuoteID != "" {
		return useQuote(ctx, c, o.FXQuoteID, o.ID, o.CreatedAt)
	}
	return nil
}

// orderValues are o's values in the order of orderColumns.
func orderValues(o *store.Order, meta, payer string) []any {
	return []any{o.ID, o.MerchantID, o.AppID, o.Livemode, o.OutTradeNo, o.Amount, o.Currency, o.Subject, o.Description, o.Method,
		string(o.Status), o.Channel, o.ChannelTradeNo, o.AmountRefunded, rawJSON(o.NextAction), o.FailureCode, o.FailureMessage,
		rawJSON(o.Risk), meta, payer, o.NotifyURL, o.ReturnURL, o.RequestHash,
		micros(o.CreatedAt), micros(o.UpdatedAt), micros(o.ExpiresAt), nullMicros(o.PaidAt), nullMicros(o.ClosedAt),
		o.ChannelAccountID, rawJSON(o.Route), o.SyncAttempts, nullMicros(o.NextSyncAt), o.CustomerID,
		nullString(o.FXQuoteID), nullString(o.SettleCurrency), nullInt(o.SettleAmount, o.SettleCurrency != ""), installmentsJSON(o.Installments), o.ProfitSharing,
		o.PayerAmount, o.PayerCurrency, o.ExchangeRate}
}

// OrderGet returns the order with id.
func (s *Store) OrderGet(ctx context.Context, id string) (*store.Order, error) {
	return orderGet(ctx, s.reader(), id)
}

func orderGet(ctx context.Context, c conn, id string) (*store.Order, error) {
	o, err := queryOne(ctx, c, scanOrder, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	return o, nil
}

// OrderGetInScope returns the order with id if it is the scope's.
func (s *Store) OrderGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Order, error) {
	o, err := queryOne(ctx, s.reader(), scanOrder, `SELECT `+orderColumns+` FROM orders
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("order %s of %s: %w", id, sc.MerchantID, err)
	}
	return o, nil
}

// OrderGetByOutTradeNo returns the app's order with the merchant's number.
func (s *Store) OrderGetByOutTradeNo(ctx context.Context, appID, outTradeNo string) (*store.Order, error) {
	o, err := queryOne(ctx, s.reader(), scanOrder, `SELECT `+orderColumns+` FROM orders WHERE app_id = ? AND out_trade_no = ?`, appID, outTradeNo)
	if err != nil {
		return nil, fmt.Errorf("order %q of app %s: %w", outTradeNo, appID, err)
	}
	return o, nil
}

// OrderList pages through a merchant's orders in one mode, newest first.
func (s *Store) OrderList(ctx context.Context, f store.OrderFilter) ([]*store.Order, bool, error) {
	var w filter
	w.and("merchant_id = ?", f.MerchantID)
	w.and("livemode = ?", f.Livemode)
	if f.AppID != "" {
		w.and("app_id = ?", f.AppID)
	}
	if f.Status != "" {
		w.and("status = ?", string(f.Status))
	}
	os, more, err := listPage(ctx, s.reader(), `SELECT `+orderColumns+` FROM orders`, w, f.ListParams, scanOrder)
	if err != nil {
		return nil, false, fmt.Errorf("list orders of %s: %w", f.MerchantID, err)
	}
	return os, more, nil
}

// OrderTransition applies t in one transaction: the compare-and-set update,
// then t.Effects with the updated order, then the entries and events it
// returns. ErrNotFound for no such order, ErrStale when its status is not
// in t.From; an error from Effects, or an entry that does not validate,
// rolls everything back and is returned.
func (s *Store) OrderTransition(ctx context.Context, t store.OrderTransition) (*store.Order, error) {
	if len(t.From) == 0 {
		return nil, fmt.Errorf("order %s transition to %s: no From status", t.OrderID, t.To)
	}
	query, args := orderStatusUpdate(t)
	var out *store.Order
	err := s.inTx(ctx, func(tx *tx) error {
		o, err := orderTransition(ctx, tx.conn, t, query, args)
		out = o
		return err
	})
	return out, err
}

// orderTransition runs the compare-and-set of t (query and args, built by
// orderStatusUpdate) and then t.Effects with the order after, writing what
// it returns, all on c (a transaction).
func orderTransition(ctx context.Context, c conn, t store.OrderTransition, query string, args []any) (*store.Order, error) {
	o, err := updateOrderStatus(ctx, c, t, query, args)
	if err != nil {
		return nil, err
	}
	if t.Effects != nil {
		eff, err := t.Effects(o)
		if err != nil {
			return nil, err
		}
		if err := writeEffects(ctx, c, eff, t.At); err != nil {
			return nil, fmt.Errorf("order %s to %s: %w", t.OrderID, t.To, err)
		}
	}
	return o, nil
}

// orderStatusUpdate builds the compare-and-set of OrderTransition, outside
// its transaction: an UPDATE of the status and the non-zero fields of t
// where the status is in t.From, returning the order as it is after.
func orderStatusUpdate(t store.OrderTransition) (query string, args []any) {
	set := []string{"status = ?", "updated_at = ?"}
	args = []any{string(t.To), micros(t.At)}
	for _, f := range []struct {
		col string
		val string
	}{
		{"method", t.Method},
		{"channel", t.Channel},
		{"channel_trade_no", t.ChannelTradeNo},
		{"failure_code", t.FailureCode},
		{"failure_message", t.FailureMessage},
	} {
		if f.val != "" {
			set = append(set, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	if t.PayerCurrency != "" {
		// What the payer paid in the channel's currency, and at what rate,
		// are stored together.
		set = append(set, "payer_amount = ?", "payer_currency = ?", "exchange_rate = ?")
		args = append(args, t.PayerAmount, t.PayerCurrency, t.ExchangeRate)
	}
	if t.Channel != "" {
		// Routing picks the channel, the account and the decision together:
		// they are stored together, "" and nil included.
		set = append(set, "channel_account_id = ?", "route = ?")
		args = append(args, t.ChannelAccountID, rawJSON(t.Route))
	}
	if len(t.NextAction) > 0 {
		set = append(set, "next_action = ?")
		args = append(args, string(t.NextAction))
	}
	switch t.To {
	case store.OrderSucceeded:
		set = append(set, "paid_at = ?")
		args = append(args, micros(t.At))
	case store.OrderClosed:
		set = append(set, "closed_at = ?")
		args = append(args, micros(t.At))
	}
	args = append(args, t.OrderID)
	for _, st := range t.From {
		args = append(args, string(st))
	}
	return `UPDATE orders SET ` + strings.Join(set, ", ") + `
		WHERE id = ? AND status IN (` + placeholders(len(t.From)) + `) RETURNING ` + orderColumns, args
}

// updateOrderStatus runs the compare-and-set of OrderTransition built by
// orderStatusUpdate, and returns the order as it is after; ErrNotFound or
// ErrStale when no row changed.
func updateOrderStatus(ctx context.Context, c conn, t store.OrderTransition, query string, args []any) (*store.Order, error) {
	o, err := queryOne(ctx, c, scanOrder, query, args...)
	if err == nil {
		return o, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("order %s to %s: %w", t.OrderID, t.To, err)
	}
	// No row changed: tell a missing order from one in another status.
	cur, err := orderGet(ctx, c, t.OrderID)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("order %s is %s, not %v: %w", t.OrderID, cur.Status, t.From, store.ErrStale)
}

// OrdersExpired lists up to limit orders in pending, processing or requires_review whose
// ExpiresAt is at or before now, soonest expired first. A limit of 0 or
// less means 100.
func (s *Store) OrdersExpired(ctx context.Context, now time.Time, limit int) ([]*store.Order, error) {
	os, err := queryAll(ctx, s.reader(), scanOrder, `SELECT `+orderColumns+` FROM orders
		WHERE status IN (?, ?, ?) AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
		string(store.OrderPending), string(store.OrderProcessing), string(store.OrderRequiresReview), micros(now), batchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list expired orders: %w", err)
	}
	return os, nil
}

// OrdersProcessing lists up to limit orders in processing last updated
// before updatedBefore whose next sync is due at now (NextSyncAt unset or
// at or before now), least recently updated first. A limit of 0 or less
// means 100. The (status, updated_at) index bounds the scan and gives the
// order; orders backing off are filtered as the scan meets them, and there
// are few: an order is processing only while its payer confirms or its
// channel's answer is unknown.
func (s *Store) OrdersProcessing(ctx context.Context, updatedBefore, now time.Time, limit int) ([]*store.Order, error) {
	os, err := queryAll(ctx, s.reader(), scanOrder, `SELECT `+orderColumns+` FROM orders
		WHERE status = ? AND updated_at < ? AND (next_sync_at IS NULL OR next_sync_at <= ?)
		ORDER BY updated_at, id LIMIT ?`,
		string(store.OrderProcessing), micros(updatedBefore), micros(now), batchLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list processing orders: %w", err)
	}
	return os, nil
}

// OrderSyncLater sets the order's SyncAttempts and NextSyncAt, whatever its
// status, and leaves UpdatedAt alone (a sync that learnt nothing changed
// nothing the merchant sees). ErrNotFound when there is no such order.
func (s *Store) OrderSyncLater(ctx context.Context, orderID string, attempts int, next time.Time) error {
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `UPDATE orders SET sync_attempts = ?, next_sync_at = ? WHERE id = ?`, attempts, micros(next), orderID)
		if err != nil {
			return fmt.Errorf("order %s: sync later: %w", orderID, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("order %s: sync later: %w", orderID, err)
		} else if n == 0 {
			return fmt.Errorf("order %s: sync later: %w", orderID, store.ErrNotFound)
		}
		return nil
	})
}

// batchLimit is the size of a worker's batch: limit, or 100 when it is not positive.
func batchLimit(limit int) int {
	if limit <= 0 {
		return 100
	}
	return limit
}

func scanOrder(r rowScanner) (*store.Order, error) {
	var o store.Order
	var nextAction, risk, route sql.NullString
	var meta, payer string
	var created, updated, expires int64
	var paid, closed, nextSync, settleAmount sql.NullInt64
	var quote, settleCurrency, installments sql.NullString
	if err := r.Scan(&o.ID, &o.MerchantID, &o.AppID, &o.Livemode, &o.OutTradeNo, &o.Amount, &o.Currency, &o.Subject,
		&o.Description, &o.Method, &o.Status, &o.Channel, &o.ChannelTradeNo, &o.AmountRefunded, &nextAction,
		&o.FailureCode, &o.FailureMessage, &risk, &meta, &payer, &o.NotifyURL, &o.ReturnURL, &o.RequestHash,
		&created, &updated, &expires, &paid, &closed, &o.ChannelAccountID, &route, &o.SyncAttempts, &nextSync, &o.CustomerID,
		&quote, &settleCurrency, &settleAmount, &installments, &o.ProfitSharing,
		&o.PayerAmount, &o.PayerCurrency, &o.ExchangeRate); err != nil {
		return nil, err
	}
	var err error
	if o.Metadata, err = fromMetadataJSON(meta); err != nil {
		return nil, fmt.Errorf("order %s: %w", o.ID, err)
	}
	if err := json.Unmarshal([]byte(payer), &o.Payer); err != nil {
		return nil, fmt.Errorf("order %s: decode payer: %w", o.ID, err)
	}
	o.NextAction = fromRawJSON(nextAction)
	o.Risk = fromRawJSON(risk)
	o.CreatedAt = fromMicros(created)
	o.UpdatedAt = fromMicros(updated)
	o.ExpiresAt = fromMicros(expires)
	o.PaidAt = fromNullMicros(paid)
	o.ClosedAt = fromNullMicros(closed)
	o.Route = fromRawJSON(route)
	o.NextSyncAt = fromNullMicros(nextSync)
	o.FXQuoteID, o.SettleCurrency, o.SettleAmount = quote.String, settleCurrency.String, settleAmount.Int64
	if installments.Valid && installments.String != "" {
		o.Installments = new(store.Installments)
		if err := json.Unmarshal([]byte(installments.String), o.Installments); err != nil {
			return nil, fmt.Errorf("order %s: decode installments: %w", o.ID, err)
		}
	}
	return &o, nil
}
