// Package postgrestest gives each test a PostgreSQL store of its own: a
// fresh schema in the test database, migrated, and dropped when the test
// ends. Tests in many packages can share one database this way and run in
// parallel.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/paygate/paygate/internal/store/postgres"
	"github.com/paygate/paygate/internal/store/sqlstore"
)

// EnvURL names the environment variable holding the test database's URL,
// for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "PAYGATE_TEST_POSTGRES"

// PoolSize is the pool size of each test's store, kept small so that many
// parallel tests fit in the server's max_connections.
const PoolSize = "10"

// URL returns the test database's URL from EnvURL, and skips t when it is unset.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skipf("%s is not set; set it to a PostgreSQL URL to run this test", EnvURL)
	}
	return url
}

// Open creates a schema with a random name in the database at url, opens a
// store whose search_path is that schema, migrates it, and closes the store
// and drops the schema when t ends. It fails t on any error.
func Open(t testing.TB, url string) *sqlstore.Store {
	t.Helper()
	s, _ := OpenConfig(t, url)
	return s
}

// OpenConfig is Open that also returns the store's connection
// configuration (search_path set to the schema), for tests that need a
// connection of their own beside the store's pool.
func OpenConfig(t testing.TB, url string) (*sqlstore.Store, *pgx.ConnConfig) {
	t.Helper()
	ctx := context.Background() // not t.Context: the cleanup runs after it is canceled
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatalf("postgrestest: parse %s: %v", EnvURL, err)
	}
	schema := "paygate_test_" + randomHex(8)

	admin := stdlib.OpenDB(*cfg)
	admin.SetMaxOpenConns(1)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("postgrestest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("postgrestest: drop schema %s: %v", schema, err)
		}
	})

	cfg = cfg.Copy()
	cfg.RuntimeParams["search_path"] = schema
	if _, ok := cfg.RuntimeParams["pool_max_conns"]; !ok {
		cfg.RuntimeParams["pool_max_conns"] = PoolSize
	}
	s, err := postgres.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("postgrestest: open schema %s: %v", schema, err)
	}
	t.Cleanup(func() { s.Close() }) // runs before the schema is dropped
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("postgrestest: migrate schema %s: %v", schema, err)
	}
	return s, postgres.ServerConfig(cfg) // the pool settings are postgres.Open's, not the server's
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
