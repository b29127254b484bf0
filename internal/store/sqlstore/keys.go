package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

const keyColumns = `id, app_id, merchant_id, livemode, kind, alg, secret_hash, secret_sealed, public_key, expires_at, revoked_at, created_at`

// KeyCreate inserts k; ErrConflict when its id or secret hash exists.
func (s *Store) KeyCreate(ctx context.Context, k *store.Key) error {
	return s.inTx(ctx, func(tx *tx) error { return insertKey(ctx, tx.conn, k) })
}

// insertKey inserts k. An empty SecretHash is stored as NULL, so that only
// secret keys take part in the hash's uniqueness.
func insertKey(ctx context.Context, c conn, k *store.Key) error {
	if _, err := c.exec(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.AppID, k.MerchantID, k.Livemode, k.Kind, k.Alg, nullString(k.SecretHash), k.SecretSealed, k.PublicKey,
		nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt), micros(k.CreatedAt)); err != nil {
		return fmt.Errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// KeyGet returns the key with id.
func (s *Store) KeyGet(ctx context.Context, id string) (*store.Key, error) {
	return s.cachedKeyLookup("id:"+id, func() (*store.Key, error) {
		k, err := queryOne(ctx, s.reader(), scanKey, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		return k, nil
	})
}

// KeyGetBySecretHash returns the secret key whose SHA-256 is hash.
func (s *Store) KeyGetBySecretHash(ctx context.Context, hash string) (*store.Key, error) {
	if hash == "" {
		return nil, fmt.Errorf("key by empty secret hash: %w", store.ErrNotFound)
	}
	return s.cachedKeyLookup("hash:"+hash, func() (*store.Key, error) {
		k, err := queryOne(ctx, s.reader(), scanKey, `SELECT `+keyColumns+` FROM api_keys WHERE secret_hash = ?`, hash)
		if err != nil {
			return nil, fmt.Errorf("key by secret hash: %w", err) // the hash stays out of errors
		}
		return k, nil
	})
}

// KeyList returns an app's keys, oldest first.
func (s *Store) KeyList(ctx context.Context, appID string) ([]*store.Key, error) {
	ks, err := queryAll(ctx, s.reader(), scanKey, `SELECT `+keyColumns+` FROM api_keys WHERE app_id = ? ORDER BY id`, appID)
	if err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", appID, err)
	}
	return ks, nil
}

// KeyRevoke sets the key's RevokedAt to at unless it is already set, and
// returns the key.
func (s *Store) KeyRevoke(ctx context.Context, id string, at time.Time) (*store.Key, error) {
	var k *store.Key
	err := s.inTx(ctx, func(tx *tx) error {
		revoked, err := queryOne(ctx, tx.conn, scanKey,
			`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING `+keyColumns, micros(at), id)
		if err != nil {
			return fmt.Errorf("revoke key %s: %w", id, err)
		}
		k = revoked
		return nil
	})
	if s.keys != nil {
		s.keys.forget() // after the commit, so that no lookup keeps the key as it was
	}
	return k, err
}

func scanKey(r rowScanner) (*store.Key, error) {
	var k store.Key
	var hash sql.NullString
	var expires, revoked sql.NullInt64
	var created int64
	if err := r.Scan(&k.ID, &k.AppID, &k.MerchantID, &k.Livemode, &k.Kind, &k.Alg, &hash, &k.SecretSealed, &k.PublicKey,
		&expires, &revoked, &created); err != nil {
		return nil, err
	}
	k.SecretHash = hash.String
	k.ExpiresAt = fromNullMicros(expires)
	k.RevokedAt = fromNullMicros(revoked)
	k.CreatedAt = fromMicros(created)
	return &k, nil
}
