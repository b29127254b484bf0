package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

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

// Requests cut off mid-query (a client that hangs up, a load run that ends)
// must not leave the pool's connections broken for the requests after them:
// database/sql tries a pooled connection three times and then fails with
// "driver: bad connection", so a pool with three broken connections would
// fail the next request.
func TestCanceledQueriesLeaveThePoolUsable(t *testing.T) {
	url := postgrestest.URL(t)
	s := postgrestest.Open(t, url)
	ctx := context.Background()
	for round := range 3 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				qctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				if _, err := s.QueryRawInt64(qctx, `SELECT 1 FROM pg_sleep(2)`); err == nil {
					t.Error("a query canceled after 50 ms returned after sleeping 2 s")
				}
			}()
		}
		wg.Wait()
		for i := range 8 {
			if _, err := s.LedgerVerify(ctx); err != nil {
				t.Fatalf("round %d, read %d after canceled queries: %v", round, i, err)
			}
		}
	}
}
