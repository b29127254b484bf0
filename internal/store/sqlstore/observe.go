package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// What the metrics read from a Store (internal/metrics): the group
// committer's batches, the connection pools and the webhook backlog. They
// are methods of this Store, not of store.Store: they describe how this
// implementation works.

// ObserveCommits has the group committer call fn after each batch with its
// writers and the time from BEGIN to COMMIT's return. Without group commit
// it does nothing. fn runs on the committer's goroutine: it must be quick.
func (s *Store) ObserveCommits(fn func(writers int, took time.Duration)) {
	if s.committer != nil {
		s.committer.observe.Store(&fn)
	}
}

// Pools returns the store's connection pools by name: "write" and "read",
// or only "write" when one pool serves both.
func (s *Store) Pools() map[string]*sql.DB {
	if s.read == s.write {
		return map[string]*sql.DB{"write": s.write}
	}
	return map[string]*sql.DB{"write": s.write, "read": s.read}
}

// DeliveriesBacklog returns how many deliveries are pending and when the
// oldest of them was due (zero when none is). Both read the deliveries_due
// index, which holds only pending rows.
func (s *Store) DeliveriesBacklog(ctx context.Context) (pending int, oldestDue time.Time, err error) {
	var oldest sql.NullInt64
	if err := s.reader().queryRow(ctx, `SELECT COUNT(*), MIN(next_attempt_at) FROM deliveries WHERE status = '`+store.DeliveryPending+`'`).Scan(&pending, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("delivery backlog: %w", err)
	}
	if oldest.Valid {
		oldestDue = time.UnixMicro(oldest.Int64)
	}
	return pending, oldestDue, nil
}
