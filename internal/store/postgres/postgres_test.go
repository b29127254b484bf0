package postgres_test

import (
	"context"
	"testing"

	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/storetest"
)

// TestStore runs the conformance suite on the PostgreSQL database named by
// PAYGATE_TEST_POSTGRES, each test in a schema of its own; it is skipped
// when the variable is unset.
func TestStore(t *testing.T) {
	url := postgrestest.URL(t)
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s := postgrestest.Open(t, url)
		return storetest.Harness{Store: s, Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := s.ExecRaw(ctx, query, args...)
			return err
		}}
	})
}
