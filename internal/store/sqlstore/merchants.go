package sqlstore

import (
	"context"
	"fmt"

	"github.com/paygate/paygate/internal/store"
)

const merchantColumns = `id, name, timezone, settlement_currency, fee_rate_bps, created_at`

// MerchantCreate inserts m; ErrConflict when its id exists.
func (s *Store) MerchantCreate(ctx context.Context, m *store.Merchant) error {
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO merchants (`+merchantColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			m.ID, m.Name, m.Timezone, m.SettlementCurrency, m.FeeRateBps, micros(m.CreatedAt)); err != nil {
			return fmt.Errorf("create merchant %s: %w", m.ID, err)
		}
		return nil
	})
}

// MerchantGet returns the merchant with id.
func (s *Store) MerchantGet(ctx context.Context, id string) (*store.Merchant, error) {
	return merchantGet(ctx, s.reader(), id)
}

func merchantGet(ctx context.Context, c conn, id string) (*store.Merchant, error) {
	m, err := queryOne(ctx, c, scanMerchant, `SELECT `+merchantColumns+` FROM merchants WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("merchant %s: %w", id, err)
	}
	return m, nil
}

// MerchantList pages through every merchant, newest first.
func (s *Store) MerchantList(ctx context.Context, p store.ListParams) ([]*store.Merchant, bool, error) {
	ms, more, err := listPage(ctx, s.reader(), `SELECT `+merchantColumns+` FROM merchants`, filter{}, p, scanMerchant)
	if err != nil {
		return nil, false, fmt.Errorf("list merchants: %w", err)
	}
	return ms, more, nil
}

func scanMerchant(r rowScanner) (*store.Merchant, error) {
	var m store.Merchant
	var created int64
	if err := r.Scan(&m.ID, &m.Name, &m.Timezone, &m.SettlementCurrency, &m.FeeRateBps, &created); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMicros(created)
	return &m, nil
}

const appColumns = `id, merchant_id, name, livemode, require_signature, webhook_secret_sealed, created_at`

// AppCreate inserts a and its first keys in one transaction. A key whose
// AppID is empty is given the app's id, merchant and mode; a key of another
// app is refused.
func (s *Store) AppCreate(ctx context.Context, a *store.App, keys []*store.Key) error {
	for _, k := range keys {
		if k.AppID == "" {
			k.AppID, k.MerchantID, k.Livemode = a.ID, a.MerchantID, a.Livemode
		}
		if k.AppID != a.ID {
			return fmt.Errorf("create app %s: key %s belongs to app %s", a.ID, k.ID, k.AppID)
		}
	}
	return s.inTx(ctx, func(tx *tx) error {
		if err := insertApp(ctx, tx.conn, a); err != nil {
			return err
		}
		for _, k := range keys {
			if err := insertKey(ctx, tx.conn, k); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertApp(ctx context.Context, c conn, a *store.App) error {
	if _, err := c.exec(ctx, `INSERT INTO apps (`+appColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.MerchantID, a.Name, a.Livemode, a.RequireSignature, a.WebhookSecretSealed, micros(a.CreatedAt)); err != nil {
		return fmt.Errorf("create app %s: %w", a.ID, err)
	}
	return nil
}

// AppGet returns the app with id.
func (s *Store) AppGet(ctx context.Context, id string) (*store.App, error) {
	return appGet(ctx, s.reader(), id)
}

func appGet(ctx context.Context, c conn, id string) (*store.App, error) {
	a, err := queryOne(ctx, c, scanApp, `SELECT `+appColumns+` FROM apps WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", id, err)
	}
	return a, nil
}

// AppList pages through a merchant's apps, newest first.
func (s *Store) AppList(ctx context.Context, merchantID string, p store.ListParams) ([]*store.App, bool, error) {
	var f filter
	f.and("merchant_id = ?", merchantID)
	as, more, err := listPage(ctx, s.reader(), `SELECT `+appColumns+` FROM apps`, f, p, scanApp)
	if err != nil {
		return nil, false, fmt.Errorf("list apps of %s: %w", merchantID, err)
	}
	return as, more, nil
}

func scanApp(r rowScanner) (*store.App, error) {
	var a store.App
	var created int64
	if err := r.Scan(&a.ID, &a.MerchantID, &a.Name, &a.Livemode, &a.RequireSignature, &a.WebhookSecretSealed, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}
