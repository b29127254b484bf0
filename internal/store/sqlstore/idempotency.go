package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// NonceUse records nonce for appID until expiresAt. A nonce recorded and
// not expired at now is ErrConflict; an expired one is taken over.
func (s *Store) NonceUse(ctx context.Context, appID, nonce string, now, expiresAt time.Time) error {
	return s.inTx(ctx, func(tx *tx) error {
		// One statement decides: a new nonce is inserted, an expired one is
		// overwritten, a live one is left alone and no row is affected.
		res, err := tx.exec(ctx, `INSERT INTO nonces (app_id, nonce, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (app_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
			WHERE nonces.expires_at <= ?`,
			appID, nonce, micros(expiresAt), micros(now))
		if err != nil {
			return fmt.Errorf("use nonce: %w", err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("nonce of app %s already used: %w", appID, store.ErrConflict)
		}
		return nil
	})
}

// NoncePurge deletes nonces that expired before before.
func (s *Store) NoncePurge(ctx context.Context, before time.Time) (int64, error) {
	return s.purge(ctx, `DELETE FROM nonces WHERE expires_at < ?`, before)
}

// purge runs one DELETE in its own transaction and returns the rows deleted.
func (s *Store) purge(ctx context.Context, query string, before time.Time) (int64, error) {
	var deleted int64
	err := s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, query, micros(before))
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		deleted = n
		return nil
	})
	return deleted, err
}

const idempotencyColumns = `app_id, idem_key, request_hash, status, body, created_at, locked_at`

// IdempotencyBegin records r as in flight. When the key exists it returns
// the record and ErrConflict, unless the record is in flight and was locked
// before staleBefore: then it is taken over (LockedAt and RequestHash
// updated) and returned with a nil error. A zero r.LockedAt means r.CreatedAt.
func (s *Store) IdempotencyBegin(ctx context.Context, r *store.IdempotencyRecord, staleBefore time.Time) (*store.IdempotencyRecord, error) {
	lockedAt := r.LockedAt
	if lockedAt.IsZero() {
		lockedAt = r.CreatedAt
	}
	// rec is what the caller gets: the record begun, or, with ErrConflict,
	// the existing one (the turn then rolls back, as it always did: it
	// wrote nothing).
	var rec *store.IdempotencyRecord
	err := s.inTx(ctx, func(tx *tx) error {
		// The upsert inserts a new key or takes over a stale in-flight one, and
		// returns the row in both cases; a key that is finished or freshly
		// locked is left alone and returns no row.
		got, err := queryOne(ctx, tx.conn, scanIdempotency, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
			VALUES (?, ?, ?, 0, NULL, ?, ?)
			ON CONFLICT (app_id, idem_key) DO UPDATE SET locked_at = excluded.locked_at, request_hash = excluded.request_hash
			WHERE idempotency_keys.status = 0 AND idempotency_keys.locked_at < ?
			RETURNING `+idempotencyColumns,
			r.AppID, r.Key, r.RequestHash, micros(r.CreatedAt), micros(lockedAt), micros(staleBefore))
		if errors.Is(err, store.ErrNotFound) {
			existing, err := idempotencyGet(ctx, tx.conn, r.AppID, r.Key)
			if err != nil {
				return err
			}
			rec = existing
			return fmt.Errorf("idempotency key %q: %w", r.Key, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("begin idempotency key %q: %w", r.Key, err)
		}
		rec = got
		return nil
	})
	return rec, err
}

func idempotencyGet(ctx context.Context, c conn, appID, key string) (*store.IdempotencyRecord, error) {
	r, err := queryOne(ctx, c, scanIdempotency, `SELECT `+idempotencyColumns+` FROM idempotency_keys WHERE app_id = ? AND idem_key = ?`, appID, key)
	if err != nil {
		return nil, fmt.Errorf("idempotency key %q: %w", key, err)
	}
	return r, nil
}

// IdempotencyFinish stores the response of the in-flight request holding
// the key. ErrNotFound when there is no such key; ErrStale when its
// response is already stored (a response, once stored, is never replaced).
func (s *Store) IdempotencyFinish(ctx context.Context, appID, key string, status int, body []byte) error {
	if status == 0 {
		return fmt.Errorf("finish idempotency key %q: status 0 means in flight", key)
	}
	if body == nil {
		body = []byte{}
	}
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `UPDATE idempotency_keys SET status = ?, body = ? WHERE app_id = ? AND idem_key = ? AND status = 0`,
			status, body, appID, key)
		if err != nil {
			return fmt.Errorf("finish idempotency key %q: %w", key, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := idempotencyGet(ctx, tx.conn, appID, key); err != nil {
				return err
			}
			return fmt.Errorf("finish idempotency key %q: already finished: %w", key, store.ErrStale)
		}
		return nil
	})
}

// IdempotencyRelease deletes the key if its request is in flight, so that a
// retry starts afresh. Releasing a key that is finished or absent does nothing.
func (s *Store) IdempotencyRelease(ctx context.Context, appID, key string) error {
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM idempotency_keys WHERE app_id = ? AND idem_key = ? AND status = 0`, appID, key); err != nil {
			return fmt.Errorf("release idempotency key %q: %w", key, err)
		}
		return nil
	})
}

// IdempotencyPurge deletes records created before before, finished or not.
func (s *Store) IdempotencyPurge(ctx context.Context, before time.Time) (int64, error) {
	return s.purge(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, before)
}

func scanIdempotency(r rowScanner) (*store.IdempotencyRecord, error) {
	var rec store.IdempotencyRecord
	var created, locked int64
	if err := r.Scan(&rec.AppID, &rec.Key, &rec.RequestHash, &rec.Status, &rec.Body, &created, &locked); err != nil {
		return nil, err
	}
	rec.CreatedAt = fromMicros(created)
	rec.LockedAt = fromMicros(locked)
	return &rec, nil
}
