package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/store"
)

var migrationTests = []test{
	{"MigrationForgetsUnkeyedFingerprints", testMigrationForgetsUnkeyedFingerprints},
}

// testMigrationForgetsUnkeyedFingerprints runs migration 6 again over rows
// as an earlier version wrote them: Idempotency-Key records with a bare
// SHA-256 and their answer in clear are deleted, card orders' bare
// request_hash (which covered the CVC) is blanked, and what the current
// version writes ("h1:" fingerprints) is left alone.
func testMigrationForgetsUnkeyedFingerprints(t *testing.T, b *bundle) {
	legacy := strings.Repeat("ab", 32)
	keyed := "h1:" + strings.Repeat("cd", 32)
	orders := map[string]*store.Order{
		"legacy card":  b.order(t0, func(o *store.Order) { o.Method, o.RequestHash = "card", legacy }),
		"keyed card":   b.order(t0, func(o *store.Order) { o.Method, o.RequestHash = "card", keyed }),
		"legacy other": b.order(t0, func(o *store.Order) { o.Method, o.RequestHash = "sandbox", legacy }),
	}
	for name, o := range orders {
		b.must(b.s.OrderCreate(b.ctx, o), "create "+name+" order")
	}
	for key, hash := range map[string]string{"legacy": legacy, "keyed": keyed} {
		_, err := b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: key, RequestHash: hash, CreatedAt: t0, LockedAt: t0}, t0.Add(-time.Minute))
		b.must(err, "begin idempotency key "+key)
		b.must(b.s.IdempotencyFinish(b.ctx, b.app.ID, key, 201, []byte(`{"secret":"whsec_x"}`)), "finish idempotency key "+key)
	}

	b.must(b.exec(b.ctx, `DELETE FROM schema_migrations WHERE version = ?`, 6), "forget that migration 6 ran")
	b.must(b.s.Migrate(b.ctx), "migrate again")

	for name, want := range map[string]string{"legacy card": "", "keyed card": keyed, "legacy other": legacy} {
		got, err := b.s.OrderGet(b.ctx, orders[name].ID)
		b.must(err, "get "+name+" order")
		equal(t, got.RequestHash, want, "request_hash of the "+name+" order")
	}
	later := t0.Add(time.Hour)
	rec, err := b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "legacy", RequestHash: "h1:new", CreatedAt: later, LockedAt: later}, t0)
	b.must(err, "begin the legacy key again: its record is gone")
	equal(t, rec.Status, 0, "status of the legacy key begun afresh")
	_, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "keyed", RequestHash: keyed, CreatedAt: later, LockedAt: later}, t0)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("begin the keyed key again: %v, want its record kept (ErrConflict)", err)
	}
}
