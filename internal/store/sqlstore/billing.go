package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// The recurring payments' tables (migration 13). Each object type has an
// insert, a get (by id, and in a scope), a list and, for those that change,
// a compare-and-set update on version (updateVersioned).

// scopeFilter is the WHERE of a merchant-facing list: merchant and mode.
func scopeFilter(sc store.Scope) filter {
	var w filter
	w.and("merchant_id = ?", sc.MerchantID)
	w.and("livemode = ?", sc.Livemode)
	return w
}

// getInScope runs a get by id narrowed to the scope's merchant and mode.
func getInScope[T any](ctx context.Context, c conn, scan func(rowScanner) (T, error), selectFrom, what string, sc store.Scope, id string) (T, error) {
	v, err := queryOne(ctx, c, scan, selectFrom+` WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return v, fmt.Errorf("%s %s of %s: %w", what, id, sc.MerchantID, err)
	}
	return v, nil
}

// getByID runs a get by id.
func getByID[T any](ctx context.Context, c conn, scan func(rowScanner) (T, error), selectFrom, what, id string) (T, error) {
	v, err := queryOne(ctx, c, scan, selectFrom+` WHERE id = ?`, id)
	if err != nil {
		return v, fmt.Errorf("%s %s: %w", what, id, err)
	}
	return v, nil
}

// updateVersioned runs an UPDATE whose WHERE ends "id = ? AND version = ?"
// (the last two args), and tells a missing row (ErrNotFound) from one that
// changed since it was read (ErrStale).
func updateVersioned(ctx context.Context, c conn, table, id string, query string, args ...any) error {
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update %s %s: %w", table, id, err)
	}
	n, err := affected(res)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var one int
	if err := c.queryRow(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one); err != nil {
		return fmt.Errorf("update %s %s: %w", table, id, c.d.interpret(err))
	}
	return fmt.Errorf("update %s %s: %w", table, id, store.ErrStale)
}

// jsonText encodes v as JSON text.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ---- test clocks

const testClockColumns = `id, merchant_id, livemode, name, frozen_time, status, created_at, updated_at, version`

func scanTestClock(r rowScanner) (*store.TestClock, error) {
	var c store.TestClock
	var frozen, created, updated int64
	if err := r.Scan(&c.ID, &c.MerchantID, &c.Livemode, &c.Name, &frozen, &c.Status, &created, &updated, &c.Version); err != nil {
		return nil, err
	}
	c.FrozenTime, c.CreatedAt, c.UpdatedAt = fromMicros(frozen), fromMicros(created), fromMicros(updated)
	return &c, nil
}

// TestClockCreate inserts c.
func (s *Store) TestClockCreate(ctx context.Context, c *store.TestClock) error {
	return s.inStmt(ctx, func(cn conn) error {
		if _, err := cn.exec(ctx, `INSERT INTO test_clocks (`+testClockColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.MerchantID, c.Livemode, cleanText(c.Name), micros(c.FrozenTime), c.Status, micros(c.CreatedAt), micros(c.UpdatedAt), c.Version); err != nil {
			return fmt.Errorf("create test clock %s: %w", c.ID, err)
		}
		return nil
	})
}

// TestClockGet returns the clock with id.
func (s *Store) TestClockGet(ctx context.Context, id string) (*store.TestClock, error) {
	return getByID(ctx, s.reader(), scanTestClock, `SELECT `+testClockColumns+` FROM test_clocks`, "test clock", id)
}

// TestClockGetInScope returns the scope's clock with id.
func (s *Store) TestClockGetInScope(ctx context.Context, sc store.Scope, id string) (*store.TestClock, error) {
	return getInScope(ctx, s.reader(), scanTestClock, `SELECT `+testClockColumns+` FROM test_clocks`, "test clock", sc, id)
}

// TestClockList pages through the scope's clocks.
func (s *Store) TestClockList(ctx context.Context, sc store.Scope, p store.ListParams) ([]*store.TestClock, bool, error) {
	return listPage(ctx, s.reader(), `SELECT `+testClockColumns+` FROM test_clocks`, scopeFilter(sc), p, scanTestClock)
}

// TestClocksAdvancing lists clocks whose last advance did not finish.
func (s *Store) TestClocksAdvancing(ctx context.Context, limit int) ([]*store.TestClock, error) {
	return queryAll(ctx, s.reader(), scanTestClock, `SELECT `+testClockColumns+` FROM test_clocks WHERE status = ? ORDER BY id LIMIT ?`, "advancing", batchLimit(limit))
}

func testClockUpdate(ctx context.Context, c conn, k *store.TestClock) error {
	if err := updateVersioned(ctx, c, "test_clocks", k.ID, `UPDATE test_clocks SET name = ?, frozen_time = ?, status = ?, updated_at = ?, version = version + 1
		WHERE id = ? AND version = ?`, cleanText(k.Name), micros(k.FrozenTime), k.Status, micros(k.UpdatedAt), k.ID, k.Version); err != nil {
		return err
	}
	k.Version++
	return nil
}

// ---- customers

const customerColumns = `id, merchant_id, livemode, name, email, description, metadata, test_clock_id, created_at`

func scanCustomer(r rowScanner) (*store.Customer, error) {
	var c store.Customer
	var meta string
	var created int64
	if err := r.Scan(&c.ID, &c.MerchantID, &c.Livemode, &c.Name, &c.Email, &c.Description, &meta, &c.TestClockID, &created); err != nil {
		return nil, err
	}
	var err error
	if c.Metadata, err = fromMetadataJSON(meta); err != nil {
		return nil, fmt.Errorf("customer %s: %w", c.ID, err)
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

// CustomerCreate inserts c.
func (s *Store) CustomerCreate(ctx context.Context, c *store.Customer) error {
	meta, err := metadataJSON(c.Metadata)
	if err != nil {
		return fmt.Errorf("create customer %s: %w", c.ID, err)
	}
	return s.inStmt(ctx, func(cn conn) error {
		if _, err := cn.exec(ctx, `INSERT INTO customers (`+customerColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.MerchantID, c.Livemode, cleanText(c.Name), cleanText(c.Email), cleanText(c.Description), meta, c.TestClockID, micros(c.CreatedAt)); err != nil {
			return fmt.Errorf("create customer %s: %w", c.ID, err)
		}
		return nil
	})
}

// CustomerGet returns the customer with id.
func (s *Store) CustomerGet(ctx context.Context, id string) (*store.Customer, error) {
	return getByID(ctx, s.reader(), scanCustomer, `SELECT `+customerColumns+` FROM customers`, "customer", id)
}

// CustomerGetInScope returns the scope's customer with id.
func (s *Store) CustomerGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Customer, error) {
	return getInScope(ctx, s.reader(), scanCustomer, `SELECT `+customerColumns+` FROM customers`, "customer", sc, id)
}

// CustomerList pages through the scope's customers.
func (s *Store) CustomerList(ctx context.Context, sc store.Scope, p store.ListParams) ([]*store.Customer, bool, error) {
	return listPage(ctx, s.reader(), `SELECT `+customerColumns+` FROM customers`, scopeFilter(sc), p, scanCustomer)
}

// ---- payment methods

const paymentMethodColumns = `id, merchant_id, livemode, customer_id, type, channel_account_id, token, brand, last4,
	exp_month, exp_year, fingerprint, status, created_at, detached_at`

func scanPaymentMethod(r rowScanner) (*store.PaymentMethod, error) {
	var pm store.PaymentMethod
	var created int64
	var detached sql.NullInt64
	if err := r.Scan(&pm.ID, &pm.MerchantID, &pm.Livemode, &pm.CustomerID, &pm.Type, &pm.ChannelAccountID, &pm.Token, &pm.Brand,
		&pm.Last4, &pm.ExpMonth, &pm.ExpYear, &pm.Fingerprint, &pm.Status, &created, &detached); err != nil {
		return nil, err
	}
	pm.CreatedAt, pm.DetachedAt = fromMicros(created), fromNullMicros(detached)
	return &pm, nil
}

// PaymentMethodCreate inserts pm.
func (s *Store) PaymentMethodCreate(ctx context.Context, pm *store.PaymentMethod) error {
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO payment_methods (`+paymentMethodColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			pm.ID, pm.MerchantID, pm.Livemode, pm.CustomerID, pm.Type, pm.ChannelAccountID, pm.Token, pm.Brand, pm.Last4,
			pm.ExpMonth, pm.ExpYear, pm.Fingerprint, pm.Status, micros(pm.CreatedAt), nullMicros(pm.DetachedAt)); err != nil {
			return fmt.Errorf("create payment method %s: %w", pm.ID, err)
		}
		return nil
	})
}

// PaymentMethodGet returns the payment method with id.
func (s *Store) PaymentMethodGet(ctx context.Context, id string) (*store.PaymentMethod, error) {
	return getByID(ctx, s.reader(), scanPaymentMethod, `SELECT `+paymentMethodColumns+` FROM payment_methods`, "payment method", id)
}

// PaymentMethodGetInScope returns the scope's payment method with id.
func (s *Store) PaymentMethodGetInScope(ctx context.Context, sc store.Scope, id string) (*store.PaymentMethod, error) {
	return getInScope(ctx, s.reader(), scanPaymentMethod, `SELECT `+paymentMethodColumns+` FROM payment_methods`, "payment method", sc, id)
}

// PaymentMethodList pages through the scope's payment methods.
func (s *Store) PaymentMethodList(ctx context.Context, sc store.Scope, customerID string, p store.ListParams) ([]*store.PaymentMethod, bool, error) {
	w := scopeFilter(sc)
	if customerID != "" {
		w.and("customer_id = ?", customerID)
	}
	return listPage(ctx, s.reader(), `SELECT `+paymentMethodColumns+` FROM payment_methods`, w, p, scanPaymentMethod)
}

// PaymentMethodDetach marks the scope's payment method detached.
func (s *Store) PaymentMethodDetach(ctx context.Context, sc store.Scope, id string, at time.Time) (*store.PaymentMethod, error) {
	var out *store.PaymentMethod
	err := s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `UPDATE payment_methods SET status = 'detached', detached_at = ?
			WHERE id = ? AND merchant_id = ? AND livemode = ? AND status = 'active'`, micros(at), id, sc.MerchantID, sc.Livemode); err != nil {
			return fmt.Errorf("detach payment method %s: %w", id, err)
		}
		var err error
		out, err = getInScope(ctx, tx.conn, scanPaymentMethod, `SELECT `+paymentMethodColumns+` FROM payment_methods`, "payment method", sc, id)
		return err
	})
	return out, err
}

// ---- agreements

const agreementColumns = `id, merchant_id, app_id, livemode, customer_id, method, channel, channel_account_id, channel_agreement_no,
	status, description, max_amount_per_charge, currency, period, payer, channel_payer_id, return_url, notify_url, next_action,
	terminated_by, failure_code, metadata, created_at, updated_at, activated_at, terminated_at, version`

func scanAgreement(r rowScanner) (*store.Agreement, error) {
	var a store.Agreement
	var payer, meta string
	var next sql.NullString
	var created, updated int64
	var activated, terminated sql.NullInt64
	if err := r.Scan(&a.ID, &a.MerchantID, &a.AppID, &a.Livemode, &a.CustomerID, &a.Method, &a.Channel, &a.ChannelAccountID,
		&a.ChannelAgreementNo, &a.Status, &a.Description, &a.MaxAmountPerCharge, &a.Currency, &a.Period, &payer, &a.ChannelPayerID,
		&a.ReturnURL, &a.NotifyURL, &next, &a.TerminatedBy, &a.FailureCode, &meta, &created, &updated, &activated, &terminated, &a.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(payer), &a.Payer); err != nil {
		return nil, fmt.Errorf("agreement %s: decode payer: %w", a.ID, err)
	}
	var err error
	if a.Metadata, err = fromMetadataJSON(meta); err != nil {
		return nil, fmt.Errorf("agreement %s: %w", a.ID, err)
	}
	a.NextAction = fromRawJSON(next)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	a.ActivatedAt, a.TerminatedAt = fromNullMicros(activated), fromNullMicros(terminated)
	return &a, nil
}

// agreementArgs are a's mutable columns, in agreementUpdate's order.
func agreementMutable(a *store.Agreement) ([]any, error) {
	meta, err := metadataJSON(a.Metadata)
	if err != nil {
		return nil, err
	}
	return []any{a.ChannelAgreementNo, string(a.Status), rawJSON(a.NextAction), a.ChannelPayerID, a.TerminatedBy, a.FailureCode, meta,
		micros(a.UpdatedAt), nullMicros(a.ActivatedAt), nullMicros(a.TerminatedAt)}, nil
}

// AgreementCreate inserts a.
func (s *Store) AgreementCreate(ctx context.Context, a *store.Agreement) error {
	payer, err := json.Marshal(a.Payer)
	if err != nil {
		return fmt.Errorf("create agreement %s: encode payer: %w", a.ID, err)
	}
	meta, err := metadataJSON(a.Metadata)
	if err != nil {
		return fmt.Errorf("create agreement %s: %w", a.ID, err)
	}
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO agreements (`+agreementColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.MerchantID, a.AppID, a.Livemode, a.CustomerID, a.Method, a.Channel, a.ChannelAccountID, a.ChannelAgreementNo,
			string(a.Status), cleanText(a.Description), a.MaxAmountPerCharge, a.Currency, a.Period, string(payer), a.ChannelPayerID,
			a.ReturnURL, a.NotifyURL, rawJSON(a.NextAction), a.TerminatedBy, a.FailureCode, meta, micros(a.CreatedAt), micros(a.UpdatedAt),
			nullMicros(a.ActivatedAt), nullMicros(a.TerminatedAt), a.Version); err != nil {
			return fmt.Errorf("create agreement %s: %w", a.ID, err)
		}
		return nil
	})
}

// AgreementGet returns the agreement with id.
func (s *Store) AgreementGet(ctx context.Context, id string) (*store.Agreement, error) {
	return agreementGet(ctx, s.reader(), id)
}

func agreementGet(ctx context.Context, c conn, id string) (*store.Agreement, error) {
	return getByID(ctx, c, scanAgreement, `SELECT `+agreementColumns+` FROM agreements`, "agreement", id)
}

// AgreementGetInScope returns the scope's agreement with id.
func (s *Store) AgreementGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Agreement, error) {
	return getInScope(ctx, s.reader(), scanAgreement, `SELECT `+agreementColumns+` FROM agreements`, "agreement", sc, id)
}

// AgreementList pages through the scope's agreements.
func (s *Store) AgreementList(ctx context.Context, sc store.Scope, p store.ListParams) ([]*store.Agreement, bool, error) {
	return listPage(ctx, s.reader(), `SELECT `+agreementColumns+` FROM agreements`, scopeFilter(sc), p, scanAgreement)
}

// AgreementsPending lists pending agreements last updated in [after, before), oldest first.
func (s *Store) AgreementsPending(ctx context.Context, updatedAfter, updatedBefore time.Time, limit int) ([]*store.Agreement, error) {
	return queryAll(ctx, s.reader(), scanAgreement, `SELECT `+agreementColumns+` FROM agreements
		WHERE status = ? AND updated_at >= ? AND updated_at < ? ORDER BY updated_at, id LIMIT ?`,
		string(store.AgreementPending), micros(updatedAfter), micros(updatedBefore), batchLimit(limit))
}

func agreementUpdate(ctx context.Context, c conn, a *store.Agreement) error {
	args, err := agreementMutable(a)
	if err != nil {
		return fmt.Errorf("update agreement %s: %w", a.ID, err)
	}
	if err := updateVersioned(ctx, c, "agreements", a.ID, `UPDATE agreements SET channel_agreement_no = ?, status = ?, next_action = ?,
		channel_payer_id = ?, terminated_by = ?, failure_code = ?, metadata = ?, updated_at = ?, activated_at = ?, terminated_at = ?,
		version = version + 1 WHERE id = ? AND version = ?`, append(args, a.ID, a.Version)...); err != nil {
		return err
	}
	a.Version++
	return nil
}

// ---- products and prices

const productColumns = `id, merchant_id, livemode, name, description, active, metadata, created_at`

func scanProduct(r rowScanner) (*store.Product, error) {
	var p store.Product
	var meta string
	var created int64
	if err := r.Scan(&p.ID, &p.MerchantID, &p.Livemode, &p.Name, &p.Description, &p.Active, &meta, &created); err != nil {
		return nil, err
	}
	var err error
	if p.Metadata, err = fromMetadataJSON(meta); err != nil {
		return nil, fmt.Errorf("product %s: %w", p.ID, err)
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// ProductCreate inserts p.
func (s *Store) ProductCreate(ctx context.Context, p *store.Product) error {
	meta, err := metadataJSON(p.Metadata)
	if err != nil {
		return fmt.Errorf("create product %s: %w", p.ID, err)
	}
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO products (`+productColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.MerchantID, p.Livemode, cleanText(p.Name), cleanText(p.Description), p.Active, meta, micros(p.CreatedAt)); err != nil {
			return fmt.Errorf("create product %s: %w", p.ID, err)
		}
		return nil
	})
}

// ProductGetInScope returns the scope's product with id.
func (s *Store) ProductGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Product, error) {
	return getInScope(ctx, s.reader(), scanProduct, `SELECT `+productColumns+` FROM products`, "product", sc, id)
}

// ProductList pages through the scope's products.
func (s *Store) ProductList(ctx context.Context, sc store.Scope, p store.ListParams) ([]*store.Product, bool, error) {
	return listPage(ctx, s.reader(), `SELECT `+productColumns+` FROM products`, scopeFilter(sc), p, scanProduct)
}

const priceColumns = `id, merchant_id, livemode, product_id, amount, currency, interval_unit, interval_count, trial_days, active, metadata, created_at`

func scanPrice(r rowScanner) (*store.Price, error) {
	var p store.Price
	var meta string
	var created int64
	if err := r.Scan(&p.ID, &p.MerchantID, &p.Livemode, &p.ProductID, &p.Amount, &p.Currency, &p.Interval, &p.IntervalCount,
		&p.TrialDays, &p.Active, &meta, &created); err != nil {
		return nil, err
	}
	var err error
	if p.Metadata, err = fromMetadataJSON(meta); err != nil {
		return nil, fmt.Errorf("price %s: %w", p.ID, err)
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// PriceCreate inserts p.
func (s *Store) PriceCreate(ctx context.Context, p *store.Price) error {
	meta, err := metadataJSON(p.Metadata)
	if err != nil {
		return fmt.Errorf("create price %s: %w", p.ID, err)
	}
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO prices (`+priceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.MerchantID, p.Livemode, p.ProductID, p.Amount, p.Currency, p.Interval, p.IntervalCount, p.TrialDays, p.Active,
			meta, micros(p.CreatedAt)); err != nil {
			return fmt.Errorf("create price %s: %w", p.ID, err)
		}
		return nil
	})
}

// PriceGet returns the price with id.
func (s *Store) PriceGet(ctx context.Context, id string) (*store.Price, error) {
	return getByID(ctx, s.reader(), scanPrice, `SELECT `+priceColumns+` FROM prices`, "price", id)
}

// PriceGetInScope returns the scope's price with id.
func (s *Store) PriceGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Price, error) {
	return getInScope(ctx, s.reader(), scanPrice, `SELECT `+priceColumns+` FROM prices`, "price", sc, id)
}

// PriceList pages through the scope's prices.
func (s *Store) PriceList(ctx context.Context, sc store.Scope, productID string, p store.ListParams) ([]*store.Price, bool, error) {
	w := scopeFilter(sc)
	if productID != "" {
		w.and("product_id = ?", productID)
	}
	return listPage(ctx, s.reader(), `SELECT `+priceColumns+` FROM prices`, w, p, scanPrice)
}

// ---- subscriptions

const subscriptionColumns = `id, merchant_id, app_id, livemode, customer_id, price_id, quantity, status, agreement_id,
	payment_method_id, test_clock_id, billing_cycle_anchor, period_index, current_period_start, current_period_end, trial_end,
	renews_at, cancel_at_period_end, canceled_at, ended_at, after_dunning, pending_items, notify_url, metadata, created_at,
	updated_at, version`

func scanSubscription(r rowScanner) (*store.Subscription, error) {
	var s store.Subscription
	var anchor, start, end, created, updated int64
	var trial, renews, canceled, ended sql.NullInt64
	var pending, meta string
	if err := r.Scan(&s.ID, &s.MerchantID, &s.AppID, &s.Livemode, &s.CustomerID, &s.PriceID, &s.Quantity, &s.Status, &s.AgreementID,
		&s.PaymentMethodID, &s.TestClockID, &anchor, &s.PeriodIndex, &start, &end, &trial, &renews, &s.CancelAtPeriodEnd,
		&canceled, &ended, &s.AfterDunning, &pending, &s.NotifyURL, &meta, &created, &updated, &s.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(pending), &s.PendingItems); err != nil {
		return nil, fmt.Errorf("subscription %s: decode pending items: %w", s.ID, err)
	}
	var err error
	if s.Metadata, err = fromMetadataJSON(meta); err != nil {
		return nil, fmt.Errorf("subscription %s: %w", s.ID, err)
	}
	s.BillingCycleAnchor, s.CurrentPeriodStart, s.CurrentPeriodEnd = fromMicros(anchor), fromMicros(start), fromMicros(end)
	s.TrialEnd, s.RenewsAt, s.CanceledAt, s.EndedAt = fromNullMicros(trial), fromNullMicros(renews), fromNullMicros(canceled), fromNullMicros(ended)
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &s, nil
}

// subscriptionMutable are s's mutable columns, in subscriptionUpdate's order.
func subscriptionMutable(s *store.Subscription) ([]any, error) {
	items := s.PendingItems
	if items == nil {
		items = []store.InvoiceLine{}
	}
	pending, err := jsonText(items)
	if err != nil {
		return nil, fmt.Errorf("encode pending items: %w", err)
	}
	meta, err := metadataJSON(s.Metadata)
	if err != nil {
		return nil, err
	}
	return []any{s.PriceID, s.Quantity, string(s.Status), s.AgreementID, s.PaymentMethodID, micros(s.BillingCycleAnchor), s.PeriodIndex,
		micros(s.CurrentPeriodStart), micros(s.CurrentPeriodEnd), nullMicros(s.TrialEnd), nullMicros(s.RenewsAt), s.CancelAtPeriodEnd,
		nullMicros(s.CanceledAt), nullMicros(s.EndedAt), s.AfterDunning, pending, meta, micros(s.UpdatedAt)}, nil
}

func subscriptionCreate(ctx context.Context, c conn, s *store.Subscription) error {
	mut, err := subscriptionMutable(s)
	if err != nil {
		return fmt.Errorf("create subscription %s: %w", s.ID, err)
	}
	// The insert's columns are the immutable ones, then the mutable ones in
	// subscriptionMutable's order.
	args := append([]any{s.ID, s.MerchantID, s.AppID, s.Livemode, s.CustomerID, s.TestClockID, s.NotifyURL, micros(s.CreatedAt), s.Version}, mut...)
	if _, err := c.exec(ctx, `INSERT INTO subscriptions (id, merchant_id, app_id, livemode, customer_id, test_clock_id, notify_url,
		created_at, version, price_id, quantity, status, agreement_id, payment_method_id, billing_cycle_anchor, period_index,
		current_period_start, current_period_end, trial_end, renews_at, cancel_at_period_end, canceled_at, ended_at, after_dunning,
		pending_items, metadata, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return fmt.Errorf("create subscription %s: %w", s.ID, err)
	}
	return nil
}

func subscriptionUpdate(ctx context.Context, c conn, s *store.Subscription) error {
	mut, err := subscriptionMutable(s)
	if err != nil {
		return fmt.Errorf("update subscription %s: %w", s.ID, err)
	}
	if err := updateVersioned(ctx, c, "subscriptions", s.ID, `UPDATE subscriptions SET price_id = ?, quantity = ?, status = ?,
		agreement_id = ?, payment_method_id = ?, billing_cycle_anchor = ?, period_index = ?, current_period_start = ?,
		current_period_end = ?, trial_end = ?, renews_at = ?, cancel_at_period_end = ?, canceled_at = ?, ended_at = ?,
		after_dunning = ?, pending_items = ?, metadata = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
		append(mut, s.ID, s.Version)...); err != nil {
		return err
	}
	s.Version++
	return nil
}

func subscriptionGet(ctx context.Context, c conn, id string) (*store.Subscription, error) {
	return getByID(ctx, c, scanSubscription, `SELECT `+subscriptionColumns+` FROM subscriptions`, "subscription", id)
}

// SubscriptionGet returns the subscription with id.
func (s *Store) SubscriptionGet(ctx context.Context, id string) (*store.Subscription, error) {
	return subscriptionGet(ctx, s.reader(), id)
}

// SubscriptionGetInScope returns the scope's subscription with id.
func (s *Store) SubscriptionGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Subscription, error) {
	return getInScope(ctx, s.reader(), scanSubscription, `SELECT `+subscriptionColumns+` FROM subscriptions`, "subscription", sc, id)
}

// SubscriptionList pages through the scope's subscriptions.
func (s *Store) SubscriptionList(ctx context.Context, sc store.Scope, f store.SubscriptionFilter) ([]*store.Subscription, bool, error) {
	w := scopeFilter(sc)
	if f.CustomerID != "" {
		w.and("customer_id = ?", f.CustomerID)
	}
	if f.Status != "" {
		w.and("status = ?", string(f.Status))
	}
	return listPage(ctx, s.reader(), `SELECT `+subscriptionColumns+` FROM subscriptions`, w, f.ListParams, scanSubscription)
}

// SubscriptionsDue lists the clock's subscriptions due at now, soonest first.
func (s *Store) SubscriptionsDue(ctx context.Context, clockID string, now time.Time, limit int) ([]*store.Subscription, error) {
	return queryAll(ctx, s.reader(), scanSubscription, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE test_clock_id = ? AND renews_at <= ? ORDER BY renews_at, id LIMIT ?`, clockID, micros(now), batchLimit(limit))
}

// ---- invoices

const invoiceColumns = `id, merchant_id, app_id, livemode, subscription_id, customer_id, status, currency, amount_due, amount_paid,
	lines, billing_reason, period_start, period_end, test_clock_id, attempt_count, next_attempt_at, order_id, last_failure_code,
	created_at, updated_at, finalized_at, paid_at, version`

func scanInvoice(r rowScanner) (*store.Invoice, error) {
	var inv store.Invoice
	var lines string
	var start, end, created, updated int64
	var next, finalized, paid sql.NullInt64
	if err := r.Scan(&inv.ID, &inv.MerchantID, &inv.AppID, &inv.Livemode, &inv.SubscriptionID, &inv.CustomerID, &inv.Status,
		&inv.Currency, &inv.AmountDue, &inv.AmountPaid, &lines, &inv.BillingReason, &start, &end, &inv.TestClockID, &inv.AttemptCount,
		&next, &inv.OrderID, &inv.LastFailureCode, &created, &updated, &finalized, &paid, &inv.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(lines), &inv.Lines); err != nil {
		return nil, fmt.Errorf("invoice %s: decode lines: %w", inv.ID, err)
	}
	inv.PeriodStart, inv.PeriodEnd, inv.CreatedAt, inv.UpdatedAt = fromMicros(start), fromMicros(end), fromMicros(created), fromMicros(updated)
	inv.NextAttemptAt, inv.FinalizedAt, inv.PaidAt = fromNullMicros(next), fromNullMicros(finalized), fromNullMicros(paid)
	return &inv, nil
}

func invoiceCreate(ctx context.Context, c conn, inv *store.Invoice) error {
	lines := inv.Lines
	if lines == nil {
		lines = []store.InvoiceLine{}
	}
	text, err := jsonText(lines)
	if err != nil {
		return fmt.Errorf("create invoice %s: encode lines: %w", inv.ID, err)
	}
	if _, err := c.exec(ctx, `INSERT INTO invoices (`+invoiceColumns+`, claim_holder)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')`,
		inv.ID, inv.MerchantID, inv.AppID, inv.Livemode, inv.SubscriptionID, inv.CustomerID, string(inv.Status), inv.Currency,
		inv.AmountDue, inv.AmountPaid, text, inv.BillingReason, micros(inv.PeriodStart), micros(inv.PeriodEnd), inv.TestClockID,
		inv.AttemptCount, nullMicros(inv.NextAttemptAt), inv.OrderID, inv.LastFailureCode, micros(inv.CreatedAt), micros(inv.UpdatedAt),
		nullMicros(inv.FinalizedAt), nullMicros(inv.PaidAt), inv.Version); err != nil {
		return fmt.Errorf("create invoice %s: %w", inv.ID, err)
	}
	return nil
}

func invoiceUpdate(ctx context.Context, c conn, inv *store.Invoice) error {
	text, err := jsonText(inv.Lines)
	if err != nil {
		return fmt.Errorf("update invoice %s: encode lines: %w", inv.ID, err)
	}
	if err := updateVersioned(ctx, c, "invoices", inv.ID, `UPDATE invoices SET status = ?, amount_due = ?, amount_paid = ?, lines = ?,
		attempt_count = ?, next_attempt_at = ?, order_id = ?, last_failure_code = ?, updated_at = ?, finalized_at = ?, paid_at = ?,
		version = version + 1 WHERE id = ? AND version = ?`,
		string(inv.Status), inv.AmountDue, inv.AmountPaid, text, inv.AttemptCount, nullMicros(inv.NextAttemptAt), inv.OrderID,
		inv.LastFailureCode, micros(inv.UpdatedAt), nullMicros(inv.FinalizedAt), nullMicros(inv.PaidAt), inv.ID, inv.Version); err != nil {
		return err
	}
	inv.Version++
	return nil
}

func invoiceGet(ctx context.Context, c conn, id string) (*store.Invoice, error) {
	return getByID(ctx, c, scanInvoice, `SELECT `+invoiceColumns+` FROM invoices`, "invoice", id)
}

// InvoiceGet returns the invoice with id.
func (s *Store) InvoiceGet(ctx context.Context, id string) (*store.Invoice, error) {
	return invoiceGet(ctx, s.reader(), id)
}

// InvoiceGetInScope returns the scope's invoice with id.
func (s *Store) InvoiceGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Invoice, error) {
	return getInScope(ctx, s.reader(), scanInvoice, `SELECT `+invoiceColumns+` FROM invoices`, "invoice", sc, id)
}

// InvoiceList pages through the scope's invoices.
func (s *Store) InvoiceList(ctx context.Context, sc store.Scope, f store.InvoiceFilter) ([]*store.Invoice, bool, error) {
	w := scopeFilter(sc)
	if f.SubscriptionID != "" {
		w.and("subscription_id = ?", f.SubscriptionID)
	}
	if f.CustomerID != "" {
		w.and("customer_id = ?", f.CustomerID)
	}
	if f.Status != "" {
		w.and("status = ?", string(f.Status))
	}
	return listPage(ctx, s.reader(), `SELECT `+invoiceColumns+` FROM invoices`, w, f.ListParams, scanInvoice)
}

// InvoiceByOrder returns the invoice whose latest attempt is orderID.
func (s *Store) InvoiceByOrder(ctx context.Context, orderID string) (*store.Invoice, error) {
	inv, err := queryOne(ctx, s.reader(), scanInvoice, `SELECT `+invoiceColumns+` FROM invoices WHERE order_id = ? LIMIT 1`, orderID)
	if err != nil {
		return nil, fmt.Errorf("invoice of order %s: %w", orderID, err)
	}
	return inv, nil
}

// InvoicesDue lists the clock's draft and open invoices due at now.
func (s *Store) InvoicesDue(ctx context.Context, clockID string, now time.Time, limit int) ([]*store.Invoice, error) {
	return queryAll(ctx, s.reader(), scanInvoice, `SELECT `+invoiceColumns+` FROM invoices
		WHERE test_clock_id = ? AND next_attempt_at <= ? AND status IN (?, ?) ORDER BY next_attempt_at, id LIMIT ?`,
		clockID, micros(now), string(store.InvoiceDraft), string(store.InvoiceOpen), batchLimit(limit))
}

// InvoicesAwaitingSettledOrders lists open invoices waiting for an order
// that has settled.
func (s *Store) InvoicesAwaitingSettledOrders(ctx context.Context, limit int) ([]*store.Invoice, error) {
	return queryAll(ctx, s.reader(), scanInvoice, `SELECT `+invoiceColumns+` FROM invoices
		WHERE status = ? AND next_attempt_at IS NULL AND order_id <> ''
		AND EXISTS (SELECT 1 FROM orders WHERE orders.id = invoices.order_id AND orders.status IN (?, ?, ?))
		ORDER BY id LIMIT ?`, string(store.InvoiceOpen), string(store.OrderSucceeded), string(store.OrderFailed), string(store.OrderClosed), batchLimit(limit))
}

// InvoiceClaim leases the invoice to holder until until. One statement,
// so two nodes racing for it cannot both win.
func (s *Store) InvoiceClaim(ctx context.Context, id, holder string, now, until time.Time) (bool, error) {
	var won bool
	err := s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE invoices SET claim_holder = ?, claim_until = ?
			WHERE id = ? AND (claim_until IS NULL OR claim_until <= ? OR claim_holder = ?)`, holder, micros(until), id, micros(now), holder)
		if err != nil {
			return fmt.Errorf("claim invoice %s: %w", id, err)
		}
		n, err := affected(res)
		won = n == 1
		return err
	})
	return won, err
}

// InvoiceRelease gives up holder's claim on the invoice.
func (s *Store) InvoiceRelease(ctx context.Context, id, holder string) error {
	return s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE invoices SET claim_holder = '', claim_until = NULL WHERE id = ? AND claim_holder = ?`, id, holder)
		if err != nil {
			return fmt.Errorf("release invoice %s: %w", id, err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("release invoice %s held by %s: %w", id, holder, store.ErrStale)
		}
		return nil
	})
}

// ---- the transaction's billing queries

func (q txQueries) TestClockGet(ctx context.Context, id string) (*store.TestClock, error) {
	return getByID(ctx, q.c, scanTestClock, `SELECT `+testClockColumns+` FROM test_clocks`, "test clock", id)
}

func (q txQueries) TestClockUpdate(ctx context.Context, c *store.TestClock) error {
	return testClockUpdate(ctx, q.c, c)
}

func (q txQueries) AgreementGet(ctx context.Context, id string) (*store.Agreement, error) {
	return agreementGet(ctx, q.c, id)
}

func (q txQueries) AgreementUpdate(ctx context.Context, a *store.Agreement) error {
	return agreementUpdate(ctx, q.c, a)
}

func (q txQueries) SubscriptionCreate(ctx context.Context, s *store.Subscription) error {
	return subscriptionCreate(ctx, q.c, s)
}

func (q txQueries) SubscriptionGet(ctx context.Context, id string) (*store.Subscription, error) {
	return subscriptionGet(ctx, q.c, id)
}

func (q txQueries) SubscriptionUpdate(ctx context.Context, s *store.Subscription) error {
	return subscriptionUpdate(ctx, q.c, s)
}

func (q txQueries) InvoiceCreate(ctx context.Context, inv *store.Invoice) error {
	return invoiceCreate(ctx, q.c, inv)
}

func (q txQueries) InvoiceGet(ctx context.Context, id string) (*store.Invoice, error) {
	return invoiceGet(ctx, q.c, id)
}

func (q txQueries) InvoiceUpdate(ctx context.Context, inv *store.Invoice) error {
	return invoiceUpdate(ctx, q.c, inv)
}
