package sqlite_test

import (
	"context"
	"testing"

	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
	"github.com/paygate/paygate/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s := sqlitetest.Open(t)
		return storetest.Harness{Store: s, Exec: func(ctx context.Context, query string, args ...any) error {
			_, err := s.ExecRaw(ctx, query, args...)
			return err
		}}
	})
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, sqlitetest.Open(b)) }
