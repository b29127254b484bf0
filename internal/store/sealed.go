package store

import "context"

// DerivationRootSetting is the setting that keeps the master key's
// derivation root, sealed (cryptobox.RootStore).
const DerivationRootSetting = "derivation_root"

// SealedValue is one value sealed with the master key (cryptobox), where it
// is stored.
type SealedValue struct {
	// Column is where the value is, as "table.column" (one of
	// SealedStore.SealedColumns).
	Column string
	// Key is the primary key of the value's row, in the key's column order.
	Key []string
	// Status is the row's status for an idempotency_keys.body (the answer
	// is sealed bound to it); 0 for other columns.
	Status int
	// Value is the sealed value as stored.
	Value string
}

// SealedStore walks the values sealed with the master key, for a master key
// rotation (paygate keys rotate-master). A value counts as sealed when it
// starts "v1."; empty values and values an earlier version kept in clear are
// not walked.
type SealedStore interface {
	// SealedColumns names every column that holds sealed values, as
	// "table.column".
	SealedColumns() []string
	// SealedList returns up to limit values of column sealed under a key
	// other than keyID, in the order of their rows' keys, starting after the
	// row whose key is after (nil: from the first).
	SealedList(ctx context.Context, column, keyID string, after []string, limit int) ([]*SealedValue, error)
	// SealedReplace sets the value of v's row to sealed if the row still
	// holds v.Value: ErrStale when it was changed (or deleted) since it was
	// listed, so that a concurrent write is never overwritten.
	SealedReplace(ctx context.Context, v *SealedValue, sealed string) error
	// SealedCount returns how many values of column are sealed under a key
	// other than keyID.
	SealedCount(ctx context.Context, column, keyID string) (int64, error)
}
