package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migration is one numbered schema file.
type migration struct {
	version int
	name    string
	sql     string
}

// Migrate applies the dialect's migrations that are not yet recorded in
// schema_migrations, in order, in one transaction. Migrations are forward
// only. Several processes may call Migrate at once: the dialect's lock (or
// SQLite's write lock) lets one apply them while the others wait and then
// find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := loadMigrations(s.dialect.Migrations)
	if err != nil {
		return err
	}
	// Unlike the write methods, Migrate keeps begin/commit rather than
	// inTx: it runs once, at startup, before any traffic, so the handoffs
	// inTx saves do not matter here, and its work (DDL from the dialect's
	// files, the dialect's LockMigrations on the raw *sql.Tx) is better run
	// on the caller's goroutine than on the group committer's.
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.dialect.LockMigrations != nil {
		if err := s.dialect.LockMigrations(ctx, tx.tx); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, tx.conn)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if err := tx.script(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: apply %04d_%s: %w", m.version, m.name, err)
		}
		// applied_at is bookkeeping for operators, so the wall clock is fine here.
		if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, micros(time.Now())); err != nil {
			return fmt.Errorf("migrate: record %04d_%s: %w", m.version, m.name, err)
		}
	}
	return tx.commit()
}

// appliedVersions reads the versions recorded in schema_migrations.
func appliedVersions(ctx context.Context, c conn) (map[int]bool, error) {
	versions, err := queryAll(ctx, c, func(r rowScanner) (int, error) {
		var v int
		err := r.Scan(&v)
		return v, err
	}, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}

// loadMigrations reads NNNN_name.sql files from fsys, sorted by number.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	if fsys == nil {
		return nil, fmt.Errorf("migrate: the dialect has no migrations")
	}
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, f := range files {
		num, name, ok := strings.Cut(strings.TrimSuffix(f, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrate: %s is not named NNNN_description.sql", f)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrate: %s and %s have the same number", prev, f)
		}
		seen[v] = f
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", f, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("migrate: no migrations found")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
