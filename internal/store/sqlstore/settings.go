package sqlstore

import (
	"context"
	"fmt"

	"github.com/paygate/paygate/internal/store"
)

// SettingInit stores value under name unless a value is there, and returns
// the value that is. Racing callers all get the value of the one that won.
func (s *Store) SettingInit(ctx context.Context, name, value string) (string, error) {
	var got string
	err := s.inTx(ctx, func(tx *tx) error {
		// DO NOTHING makes the insert harmless when the name is taken; the
		// read that follows then sees the winner's value (on PostgreSQL the
		// insert waits for a racing insert of the same name to commit).
		if _, err := tx.exec(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return fmt.Errorf("init setting %s: %w", name, err)
		}
		v, err := settingGet(ctx, tx.conn, name)
		if err != nil {
			return err
		}
		got = v
		return nil
	})
	return got, err
}

// SettingGet returns the value stored under name.
func (s *Store) SettingGet(ctx context.Context, name string) (string, error) {
	return settingGet(ctx, s.reader(), name)
}

func settingGet(ctx context.Context, c conn, name string) (string, error) {
	v, err := queryOne(ctx, c, func(r rowScanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	}, `SELECT value FROM settings WHERE name = ?`, name)
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", name, err)
	}
	return v, nil
}

const platformKeyColumns = `id, alg, public_key, private_sealed, status, created_at`

// PlatformKeyCreate inserts k; ErrConflict when its id exists.
func (s *Store) PlatformKeyCreate(ctx context.Context, k *store.PlatformKey) error {
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO platform_keys (`+platformKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Alg, k.PublicKey, k.PrivateSealed, k.Status, micros(k.CreatedAt)); err != nil {
			return fmt.Errorf("create platform key %s: %w", k.ID, err)
		}
		return nil
	})
}

// PlatformKeyList returns every platform key, oldest first.
func (s *Store) PlatformKeyList(ctx context.Context) ([]*store.PlatformKey, error) {
	keys, err := queryAll(ctx, s.reader(), scanPlatformKey, `SELECT `+platformKeyColumns+` FROM platform_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list platform keys: %w", err)
	}
	return keys, nil
}

func scanPlatformKey(r rowScanner) (*store.PlatformKey, error) {
	var k store.PlatformKey
	var created int64
	if err := r.Scan(&k.ID, &k.Alg, &k.PublicKey, &k.PrivateSealed, &k.Status, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = fromMicros(created)
	return &k, nil
}
