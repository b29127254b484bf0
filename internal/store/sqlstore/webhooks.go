package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

const endpointColumns = `id, merchant_id, app_id, livemode, url, description, enabled_events, disabled, secret_sealed,
	previous_secret_sealed, previous_secret_expires_at, created_at, updated_at`

// WebhookEndpointCreate inserts e; ErrConflict when its id exists,
// ErrNotFound when its app does not. Its MerchantID and Livemode must be
// its app's.
func (s *Store) WebhookEndpointCreate(ctx context.Context, e *store.WebhookEndpoint) error {
	events, err := stringsJSON(e.EnabledEvents)
	if err != nil {
		return fmt.Errorf("create webhook endpoint %s: %w", e.ID, err)
	}
	return s.inTx(ctx, func(tx *tx) error {
		a, err := appGet(ctx, tx.conn, e.AppID)
		if err != nil {
			return fmt.Errorf("create webhook endpoint %s: %w", e.ID, err)
		}
		if a.MerchantID != e.MerchantID || a.Livemode != e.Livemode {
			return fmt.Errorf("create webhook endpoint %s: merchant %s livemode %v differ from app %s's (%s, %v)",
				e.ID, e.MerchantID, e.Livemode, a.ID, a.MerchantID, a.Livemode)
		}
		if _, err := tx.exec(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.MerchantID, e.AppID, e.Livemode, e.URL, e.Description, events, e.Disabled, e.SecretSealed,
			e.PreviousSecretSealed, nullMicros(e.PreviousSecretExpiresAt), micros(e.CreatedAt), micros(e.UpdatedAt)); err != nil {
			return fmt.Errorf("create webhook endpoint %s: %w", e.ID, err)
		}
		return nil
	})
}

// WebhookEndpointGet returns the endpoint with id.
func (s *Store) WebhookEndpointGet(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	e, err := queryOne(ctx, s.reader(), scanEndpoint, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// WebhookEndpointGetInScope returns the endpoint with id if it is the scope's app's.
func (s *Store) WebhookEndpointGetInScope(ctx context.Context, sc store.Scope, id string) (*store.WebhookEndpoint, error) {
	e, err := queryOne(ctx, s.reader(), scanEndpoint, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE id = ? AND app_id = ? AND merchant_id = ? AND livemode = ?`, id, sc.AppID, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoint %s of app %s: %w", id, sc.AppID, err)
	}
	return e, nil
}

// WebhookEndpointList pages through an app's endpoints, newest first.
func (s *Store) WebhookEndpointList(ctx context.Context, appID string, p store.ListParams) ([]*store.WebhookEndpoint, bool, error) {
	var f filter
	f.and("app_id = ?", appID)
	es, more, err := listPage(ctx, s.reader(), `SELECT `+endpointColumns+` FROM webhook_endpoints`, f, p, scanEndpoint)
	if err != nil {
		return nil, false, fmt.Errorf("list webhook endpoints of %s: %w", appID, err)
	}
	return es, more, nil
}

// WebhookEndpointUpdate stores the mutable fields of e: URL, Description,
// EnabledEvents, Disabled, the secrets and UpdatedAt. The endpoint's
// pending deliveries follow a new URL, so that retries go where the
// merchant now wants them (their attempts keep the URL they went to).
// ErrNotFound when the scope's app has no such endpoint.
func (s *Store) WebhookEndpointUpdate(ctx context.Context, sc store.Scope, e *store.WebhookEndpoint) error {
	events, err := stringsJSON(e.EnabledEvents)
	if err != nil {
		return fmt.Errorf("update webhook endpoint %s: %w", e.ID, err)
	}
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `UPDATE webhook_endpoints SET url = ?, description = ?, enabled_events = ?, disabled = ?,
			secret_sealed = ?, previous_secret_sealed = ?, previous_secret_expires_at = ?, updated_at = ?
			WHERE id = ? AND app_id = ? AND merchant_id = ? AND livemode = ?`,
			e.URL, e.Description, events, e.Disabled, e.SecretSealed, e.PreviousSecretSealed,
			nullMicros(e.PreviousSecretExpiresAt), micros(e.UpdatedAt), e.ID, sc.AppID, sc.MerchantID, sc.Livemode)
		if err != nil {
			return fmt.Errorf("update webhook endpoint %s: %w", e.ID, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("update webhook endpoint %s: %w", e.ID, err)
		} else if n == 0 {
			return fmt.Errorf("update webhook endpoint %s: %w", e.ID, store.ErrNotFound)
		}
		if _, err := tx.exec(ctx, `UPDATE deliveries SET url = ?, updated_at = ?
			WHERE endpoint_id = ? AND status = '`+store.DeliveryPending+`' AND url <> ?`,
			e.URL, micros(e.UpdatedAt), e.ID, e.URL); err != nil {
			return fmt.Errorf("update webhook endpoint %s: move its pending deliveries: %w", e.ID, err)
		}
		return nil
	})
}

// WebhookEndpointDelete deletes the endpoint and, in the same transaction,
// fails its pending deliveries with LastError "endpoint deleted", freeing
// their leases (a worker in the middle of one gets ErrStale when it
// records). ErrNotFound when the scope's app has no such endpoint.
func (s *Store) WebhookEndpointDelete(ctx context.Context, sc store.Scope, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM webhook_endpoints WHERE id = ? AND app_id = ? AND merchant_id = ? AND livemode = ?`,
			id, sc.AppID, sc.MerchantID, sc.Livemode)
		if err != nil {
			return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("delete webhook endpoint %s: %w", id, store.ErrNotFound)
		}
		if _, err := tx.exec(ctx, `UPDATE deliveries SET status = ?, last_error = ?, lease_token = NULL, lease_until = NULL,
			updated_at = ? WHERE endpoint_id = ? AND status = '`+store.DeliveryPending+`'`,
			store.DeliveryFailed, endpointDeletedError, micros(at), id); err != nil {
			return fmt.Errorf("delete webhook endpoint %s: fail its pending deliveries: %w", id, err)
		}
		return nil
	})
}

// endpointDeletedError is the LastError of deliveries failed because their
// endpoint was deleted.
const endpointDeletedError = "endpoint deleted"

func scanEndpoint(r rowScanner) (*store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var events string
	var prevExpires sql.NullInt64
	var created, updated int64
	if err := r.Scan(&e.ID, &e.MerchantID, &e.AppID, &e.Livemode, &e.URL, &e.Description, &events, &e.Disabled,
		&e.SecretSealed, &e.PreviousSecretSealed, &prevExpires, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if e.EnabledEvents, err = fromStringsJSON(events); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: enabled events: %w", e.ID, err)
	}
	e.PreviousSecretExpiresAt = fromNullMicros(prevExpires)
	e.CreatedAt = fromMicros(created)
	e.UpdatedAt = fromMicros(updated)
	return &e, nil
}
