package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var settingTests = []test{
	{"Migrate/Again", testMigrateAgain},
	{"Setting/InitAndGet", testSettingInitAndGet},
	{"Setting/InitRace", testSettingInitRace},
	{"PlatformKey", testPlatformKeys},
}

func testMigrateAgain(t *testing.T, b *bundle) {
	errs := race(3, func(int) error { return b.s.Migrate(b.ctx) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrate an up-to-date database from goroutine %d: want no error, got %v", i, err)
		}
	}
	got, err := b.s.MerchantGet(b.ctx, b.merchant.ID)
	b.must(err, "get merchant after migrating again")
	equal(t, got, b.merchant, "merchant after migrating again")
}

func testSettingInitAndGet(t *testing.T, b *bundle) {
	_, err := b.s.SettingGet(b.ctx, "operator_token_hash")
	wantErr(t, err, store.ErrNotFound, "get a setting never stored")

	got, err := b.s.SettingInit(b.ctx, "operator_token_hash", "first")
	b.must(err, "init setting")
	equal(t, got, "first", "value of the first init")

	got, err = b.s.SettingInit(b.ctx, "operator_token_hash", "second")
	b.must(err, "init setting again")
	equal(t, got, "first", "value of a second init (the first value stays)")

	got, err = b.s.SettingGet(b.ctx, "operator_token_hash")
	b.must(err, "get setting")
	equal(t, got, "first", "value read back")
}

func testSettingInitRace(t *testing.T, b *bundle) {
	values := make([]string, 10)
	errs := race(10, func(i int) error {
		var err error
		values[i], err = b.s.SettingInit(b.ctx, "instance_id", fmt.Sprintf("v%d", i))
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racing SettingInit %d: want no error, got %v", i, err)
		}
	}
	for i, v := range values {
		if v != values[0] {
			t.Fatalf("racing SettingInit: want every caller to get the winner's value, got %q for caller 0 and %q for caller %d", values[0], v, i)
		}
	}
	stored, err := b.s.SettingGet(b.ctx, "instance_id")
	b.must(err, "get raced setting")
	equal(t, stored, values[0], "stored value after the race")
}

func testPlatformKeys(t *testing.T, b *bundle) {
	got, err := b.s.PlatformKeyList(b.ctx)
	b.must(err, "list platform keys of a new database")
	equal(t, len(got), 0, "number of platform keys in a new database")

	k1 := &store.PlatformKey{ID: id.New(id.Platform, t0), Alg: store.AlgEd25519, PublicKey: "PEM1", PrivateSealed: "sealed1", Status: "current", CreatedAt: t0}
	k2 := &store.PlatformKey{ID: id.New(id.Platform, t0.Add(time.Hour)), Alg: store.AlgEd25519, PublicKey: "PEM2", PrivateSealed: "sealed2", Status: "next", CreatedAt: t0.Add(time.Hour)}
	b.must(b.s.PlatformKeyCreate(b.ctx, k1), "create platform key 1")
	b.must(b.s.PlatformKeyCreate(b.ctx, k2), "create platform key 2")
	wantErr(t, b.s.PlatformKeyCreate(b.ctx, k1), store.ErrConflict, "create a platform key with an id that exists")

	got, err = b.s.PlatformKeyList(b.ctx)
	b.must(err, "list platform keys")
	equal(t, got, []*store.PlatformKey{k1, k2}, "platform keys, oldest first")
}
