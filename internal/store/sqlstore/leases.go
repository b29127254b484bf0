package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// LeaseAcquire takes the lease called name for holder until until, when no
// one holds it at now (it is new, released, or its holder's time ran out)
// or holder already does. It returns the lease as it is after, and whether
// holder has it. One statement, so two nodes racing for it cannot both win.
func (s *Store) LeaseAcquire(ctx context.Context, name, holder string, now, until time.Time) (*store.Lease, bool, error) {
	var l *store.Lease
	err := s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO leases (name, holder, until_at, acquired_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_at = excluded.until_at, acquired_at = excluded.acquired_at
			WHERE leases.until_at <= ? OR leases.holder = excluded.holder`,
			name, holder, micros(until), micros(now), micros(now)); err != nil {
			return fmt.Errorf("acquire lease %s: %w", name, err)
		}
		var err error
		l, err = leaseGet(ctx, tx.conn, name)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return l, l.Holder == holder && l.Until.Equal(until.UTC().Truncate(time.Microsecond)), nil
}

// LeaseRelease gives up holder's lease on name at now, recording that the
// work finished at doneAt when it is not zero. ErrStale when holder no
// longer holds it.
func (s *Store) LeaseRelease(ctx context.Context, name, holder string, now, doneAt time.Time) error {
	return s.inTx(ctx, func(tx *tx) error {
		q := `UPDATE leases SET until_at = ? WHERE name = ? AND holder = ?`
		args := []any{micros(now), name, holder}
		if !doneAt.IsZero() {
			q = `UPDATE leases SET until_at = ?, done_at = ? WHERE name = ? AND holder = ?`
			args = []any{micros(now), micros(doneAt), name, holder}
		}
		res, err := tx.exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("release lease %s: %w", name, err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("release lease %s held by %s: %w", name, holder, store.ErrStale)
		}
		return nil
	})
}

// LeaseGet returns the lease called name.
func (s *Store) LeaseGet(ctx context.Context, name string) (*store.Lease, error) {
	return leaseGet(ctx, s.reader(), name)
}

func leaseGet(ctx context.Context, c conn, name string) (*store.Lease, error) {
	l, err := queryOne(ctx, c, func(r rowScanner) (*store.Lease, error) {
		var l store.Lease
		var until, acquired int64
		var done sql.NullInt64
		if err := r.Scan(&l.Name, &l.Holder, &until, &acquired, &done); err != nil {
			return nil, err
		}
		l.Until, l.AcquiredAt, l.DoneAt = fromMicros(until), fromMicros(acquired), fromNullMicros(done)
		return &l, nil
	}, `SELECT name, holder, until_at, acquired_at, done_at FROM leases WHERE name = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", name, err)
	}
	return l, nil
}
