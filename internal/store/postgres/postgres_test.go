package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/storetest"
)

// TestStore runs the conformance suite on the PostgreSQL database named by
// PAYGATE_TEST_POSTGRES, each test in a schema of its own; it is skipped
// when the variable is unset.
func TestStore(t *testing.T) {
	url := postgrestest.URL(t)
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s, cfg := postgrestest.OpenConfig(t, url)
		return storetest.Harness{
			Store: s,
			Exec: func(ctx context.Context, query string, args ...any) error {
				_, err := s.ExecRaw(ctx, query, args...)
				return err
			},
			Hold: func(ctx context.Context, query string) (func(), error) {
				// A pool of its own stands for another node.
				db := stdlib.OpenDB(*cfg)
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					db.Close()
					return nil, err
				}
				if err := drain(tx.QueryContext(ctx, query)); err != nil {
					tx.Rollback()
					db.Close()
					return nil, err
				}
				return func() { tx.Rollback(); db.Close() }, nil
			},
		}
	})
}

// drain reads every row of a query, so that its row locks are all taken.
func drain(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, postgrestest.Open(b, postgrestest.URL(b))) }
