package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/paygate/paygate/internal/store"
)

// sealedColumn is a column that holds values sealed with the master key.
type sealedColumn struct {
	table, column string
	key           []string // the primary key's columns
	bytes         bool     // BLOB / BYTEA rather than TEXT
	status        bool     // the row's status column is read too (idempotency_keys)
	where         string   // further condition on the rows, "" for none
}

// sealedColumns is every column that holds sealed values. A new one must be
// added here, or a master key rotation would leave it under the old key
// (TestSealedColumnsListEverySealedColumn reads the migrations for them).
var sealedColumns = []sealedColumn{
	{table: "settings", column: "value", key: []string{"name"}, where: "name = '" + store.DerivationRootSetting + "'"},
	{table: "platform_keys", column: "private_sealed", key: []string{"id"}},
	{table: "apps", column: "webhook_secret_sealed", key: []string{"id"}},
	{table: "api_keys", column: "secret_sealed", key: []string{"id"}},
	{table: "webhook_endpoints", column: "secret_sealed", key: []string{"id"}},
	{table: "webhook_endpoints", column: "previous_secret_sealed", key: []string{"id"}},
	{table: "channel_accounts", column: "sealed_secrets", key: []string{"id"}, bytes: true},
	{table: "console_users", column: "totp_sealed", key: []string{"id"}},
	{table: "idempotency_keys", column: "body", key: []string{"app_id", "idem_key"}, bytes: true, status: true},
}

func (c sealedColumn) name() string { return c.table + "." + c.column }

// arg is v as a parameter compared with the column: a BLOB never equals
// TEXT in SQLite, so a BLOB column is given bytes.
func (c sealedColumn) arg(v string) any {
	if c.bytes {
		return []byte(v)
	}
	return v
}

// notUnder is the condition, and its parameters, that selects the column's
// sealed values not sealed under keyID.
func (c sealedColumn) notUnder(keyID string) (string, []any) {
	// Prefixes compared with substr rather than LIKE: SQLite's LIKE on a
	// BLOB that is not UTF-8 differs between its builds (the pure-Go one
	// matched nothing), while substr counts bytes of a BLOB and characters
	// of TEXT, the same for these ASCII prefixes, in both databases.
	sealed, under := "v1.", "v1."+keyID+"."
	cond := `substr(` + c.column + `, 1, ?) = ? AND substr(` + c.column + `, 1, ?) <> ?`
	if c.where != "" {
		cond += ` AND ` + c.where
	}
	return cond, []any{len(sealed), c.arg(sealed), len(under), c.arg(under)}
}

func findSealedColumn(name string) (sealedColumn, error) {
	for _, c := range sealedColumns {
		if c.name() == name {
			return c, nil
		}
	}
	return sealedColumn{}, fmt.Errorf("sealed column %q: %w", name, store.ErrNotFound)
}

// SealedColumns names every column that holds sealed values.
func (s *Store) SealedColumns() []string {
	names := make([]string, len(sealedColumns))
	for i, c := range sealedColumns {
		names[i] = c.name()
	}
	return names
}

// SealedList returns up to limit values of column not sealed under keyID,
// in key order, after the row keyed after.
func (s *Store) SealedList(ctx context.Context, column, keyID string, after []string, limit int) ([]*store.SealedValue, error) {
	c, err := findSealedColumn(column)
	if err != nil {
		return nil, err
	}
	cond, args := c.notUnder(keyID)
	if after != nil {
		if len(after) != len(c.key) {
			return nil, fmt.Errorf("sealed column %s: a key of %d values, want %d", column, len(after), len(c.key))
		}
		// A row value comparison: the rows after the last one listed.
		cond += ` AND (` + strings.Join(c.key, ", ") + `) > (` + strings.TrimSuffix(strings.Repeat("?, ", len(c.key)), ", ") + `)`
		for _, k := range after {
			args = append(args, k)
		}
	}
	cols := strings.Join(c.key, ", ")
	if c.status {
		cols += ", status"
	}
	query := `SELECT ` + cols + `, ` + c.column + ` FROM ` + c.table + ` WHERE ` + cond +
		` ORDER BY ` + strings.Join(c.key, ", ") + ` LIMIT ?`
	args = append(args, limit)
	vals, err := queryAll(ctx, s.reader(), func(r rowScanner) (*store.SealedValue, error) {
		v := &store.SealedValue{Column: column, Key: make([]string, len(c.key))}
		dest := make([]any, 0, len(c.key)+2)
		for i := range v.Key {
			dest = append(dest, &v.Key[i])
		}
		if c.status {
			dest = append(dest, &v.Status)
		}
		var raw []byte
		dest = append(dest, &raw)
		if err := r.Scan(dest...); err != nil {
			return nil, err
		}
		v.Value = string(raw)
		return v, nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list sealed values of %s: %w", column, err)
	}
	return vals, nil
}

// SealedReplace sets v's value to sealed when its row still holds v.Value.
func (s *Store) SealedReplace(ctx context.Context, v *store.SealedValue, sealed string) error {
	c, err := findSealedColumn(v.Column)
	if err != nil {
		return err
	}
	if len(v.Key) != len(c.key) {
		return fmt.Errorf("sealed column %s: a key of %d values, want %d", v.Column, len(v.Key), len(c.key))
	}
	args := []any{c.arg(sealed)}
	var where []string
	for i, k := range c.key {
		where = append(where, k+` = ?`)
		args = append(args, v.Key[i])
	}
	// Compare-and-set: a value written since it was listed (a secret
	// rotated, an answer purged) is left alone.
	where = append(where, c.column+` = ?`)
	args = append(args, c.arg(v.Value))
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `UPDATE `+c.table+` SET `+c.column+` = ? WHERE `+strings.Join(where, " AND "), args...)
		if err != nil {
			return fmt.Errorf("reseal %s of %v: %w", v.Column, v.Key, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("reseal %s of %v: the value changed meanwhile: %w", v.Column, v.Key, store.ErrStale)
		}
		return nil
	})
}

// SealedCount counts the values of column not sealed under keyID.
func (s *Store) SealedCount(ctx context.Context, column, keyID string) (int64, error) {
	c, err := findSealedColumn(column)
	if err != nil {
		return 0, err
	}
	cond, args := c.notUnder(keyID)
	n, err := queryOne(ctx, s.reader(), func(r rowScanner) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	}, `SELECT COUNT(*) FROM `+c.table+` WHERE `+cond, args...)
	if err != nil {
		return 0, fmt.Errorf("count sealed values of %s: %w", column, err)
	}
	return n, nil
}
