package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/tracing"
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

// traceTurn starts a span for one write (a transaction or a statement of
// its own); its end records the error. Only called when tracing is on.
func (s *Store) traceTurn(ctx context.Context, name string) (context.Context, func(error)) {
	ctx, span := tracing.Tracer().Start(ctx, name, trace.WithAttributes(attribute.String("db.system", s.dialect.Name)))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, "write failed")
		}
		span.End()
	}
}

// DiscrepanciesOpenByAccount counts the reconciliation discrepancies still open, by
// channel account (the recon_discrepancies_status index holds the open ones
// together).
func (s *Store) DiscrepanciesOpenByAccount(ctx context.Context) (map[string]int, error) {
	type row struct {
		account string
		n       int
	}
	rows, err := queryAll(ctx, s.reader(), func(r rowScanner) (row, error) {
		var x row
		err := r.Scan(&x.account, &x.n)
		return x, err
	}, `SELECT channel_account_id, COUNT(*) FROM recon_discrepancies WHERE status = '`+store.DiscrepancyOpen+`' GROUP BY channel_account_id`)
	if err != nil {
		return nil, fmt.Errorf("open discrepancies: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, x := range rows {
		out[x.account] = x.n
	}
	return out, nil
}
