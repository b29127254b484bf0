package storetest

import (
	"errors"
	"testing"

	"github.com/paygate/paygate/internal/store"
)

var sealedTests = []test{
	{"Sealed/ListReplaceCount", testSealedListReplaceCount},
	{"Sealed/BytesAndStatus", testSealedBytesAndStatus},
	{"Sealed/EveryColumnWalks", testSealedEveryColumnWalks},
}

// testSealedListReplaceCount walks apps.webhook_secret_sealed: values under
// other keys are listed page by page, replaced by compare-and-set, and
// counted until none is left.
func testSealedListReplaceCount(t *testing.T, b *bundle) {
	const col = "apps.webhook_secret_sealed"
	// The bundle's own app holds "sealed:whsec", not a sealed value.
	var apps []*store.App
	for _, v := range []string{"v1.old1.a", "v1.old2.b", "v1.cur.c", "v1.old1.d"} {
		a := b.newApp(b.merchant, false)
		b.must(b.exec(b.ctx, `UPDATE apps SET webhook_secret_sealed = ? WHERE id = ?`, v, a.ID), "set a sealed value")
		apps = append(apps, a)
	}
	n, err := b.s.SealedCount(b.ctx, col, "cur")
	b.must(err, "count")
	if n != 3 {
		t.Fatalf("SealedCount not under cur = %d, want 3 (the plain value and the one under cur are not counted)", n)
	}
	first, err := b.s.SealedList(b.ctx, col, "cur", nil, 2)
	b.must(err, "list the first page")
	if len(first) != 2 {
		t.Fatalf("first page: %d values, want 2", len(first))
	}
	rest, err := b.s.SealedList(b.ctx, col, "cur", first[1].Key, 2)
	b.must(err, "list the next page")
	if len(rest) != 1 {
		t.Fatalf("second page: %d values, want 1", len(rest))
	}
	all := append(first, rest...)
	seen := map[string]bool{}
	for _, v := range all {
		if v.Column != col || len(v.Key) != 1 || v.Value == "v1.cur.c" || v.Value == "sealed:whsec" {
			t.Fatalf("listed %+v", v)
		}
		seen[v.Key[0]] = true
	}
	if seen[apps[2].ID] || !seen[apps[0].ID] || !seen[apps[1].ID] || !seen[apps[3].ID] {
		t.Fatalf("listed the rows %v, want those of apps 0, 1 and 3", seen)
	}

	// A value changed since it was listed is not overwritten.
	b.must(b.exec(b.ctx, `UPDATE apps SET webhook_secret_sealed = ? WHERE id = ?`, "v1.cur.rotated", all[0].Key[0]), "a concurrent write")
	if err := b.s.SealedReplace(b.ctx, all[0], "v1.cur.resealed"); !errors.Is(err, store.ErrStale) {
		t.Fatalf("replace a value changed meanwhile: want ErrStale, got %v", err)
	}
	got, err := b.s.AppGet(b.ctx, all[0].Key[0])
	b.must(err, "get app")
	if got.WebhookSecretSealed != "v1.cur.rotated" {
		t.Fatalf("the concurrent write was lost: %q", got.WebhookSecretSealed)
	}
	for _, v := range all[1:] {
		b.must(b.s.SealedReplace(b.ctx, v, "v1.cur.resealed-"+v.Key[0]), "replace")
	}
	got, err = b.s.AppGet(b.ctx, all[1].Key[0])
	b.must(err, "get app")
	if got.WebhookSecretSealed != "v1.cur.resealed-"+all[1].Key[0] {
		t.Fatalf("after replace the app holds %q", got.WebhookSecretSealed)
	}
	if n, err := b.s.SealedCount(b.ctx, col, "cur"); err != nil || n != 0 {
		t.Fatalf("after the walk SealedCount = %d, %v; want 0", n, err)
	}
	if left, err := b.s.SealedList(b.ctx, col, "cur", nil, 10); err != nil || len(left) != 0 {
		t.Fatalf("after the walk SealedList = %d values, %v; want none", len(left), err)
	}
}

// testSealedBytesAndStatus walks the BLOB/BYTEA columns: channel account
// secrets (any bytes) and idempotent answers, which carry their status.
func testSealedBytesAndStatus(t *testing.T, b *bundle) {
	acct := b.channelAccount("wechatpay", t0) // sealed under "k1", bytes not UTF-8
	b.must(b.s.ChannelAccountCreate(b.ctx, acct), "create channel account")
	vals, err := b.s.SealedList(b.ctx, "channel_accounts.sealed_secrets", "cur", nil, 10)
	b.must(err, "list channel account secrets")
	if len(vals) != 1 || vals[0].Value != string(sealed) {
		t.Fatalf("listed %+v, want the account's secrets as stored", vals)
	}
	b.must(b.s.SealedReplace(b.ctx, vals[0], "v1.cur.\x00\xffnew"), "replace channel account secrets")
	got, err := b.s.ChannelAccountGet(b.ctx, acct.ID)
	b.must(err, "get channel account")
	if string(got.SealedSecrets) != "v1.cur.\x00\xffnew" {
		t.Fatalf("channel account secrets after replace: %q", got.SealedSecrets)
	}

	rec := &store.IdempotencyRecord{AppID: b.app.ID, Key: "k-1", RequestHash: "h1:x", CreatedAt: t0, LockedAt: t0}
	_, err = b.s.IdempotencyBegin(b.ctx, rec, t0.Add(-1))
	b.must(err, "begin")
	inFlight := &store.IdempotencyRecord{AppID: b.app.ID, Key: "k-2", RequestHash: "h1:y", CreatedAt: t0, LockedAt: t0}
	_, err = b.s.IdempotencyBegin(b.ctx, inFlight, t0.Add(-1))
	b.must(err, "begin another")
	b.must(b.s.IdempotencyFinish(b.ctx, b.app.ID, "k-1", 201, []byte("v1.old.answer")), "finish")
	vals, err = b.s.SealedList(b.ctx, "idempotency_keys.body", "cur", nil, 10)
	b.must(err, "list answers")
	if len(vals) != 1 || vals[0].Status != 201 || vals[0].Key[0] != b.app.ID || vals[0].Key[1] != "k-1" || vals[0].Value != "v1.old.answer" {
		t.Fatalf("listed %+v, want the finished answer with its status (not the one in flight)", vals)
	}
	b.must(b.s.SealedReplace(b.ctx, vals[0], "v1.cur.answer"), "replace answer")
	if n, err := b.s.SealedCount(b.ctx, "idempotency_keys.body", "cur"); err != nil || n != 0 {
		t.Fatalf("answers not under cur after replace: %d, %v", n, err)
	}
}

// testSealedEveryColumnWalks lists and counts every column the store names,
// so that each one's SQL runs on each database.
func testSealedEveryColumnWalks(t *testing.T, b *bundle) {
	_, err := b.s.SettingInit(b.ctx, store.DerivationRootSetting, "v1.old.root")
	b.must(err, "init root")
	_, err = b.s.SettingInit(b.ctx, "other", "v1.old.not-a-sealed-setting")
	b.must(err, "init another setting")
	cols := b.s.SealedColumns()
	if len(cols) < 9 {
		t.Fatalf("SealedColumns = %v, want at least 9", cols)
	}
	for _, col := range cols {
		vals, err := b.s.SealedList(b.ctx, col, "cur", nil, 100)
		b.must(err, "list "+col)
		n, err := b.s.SealedCount(b.ctx, col, "cur")
		b.must(err, "count "+col)
		if int64(len(vals)) != n {
			t.Fatalf("%s: listed %d, counted %d", col, len(vals), n)
		}
		if col == "settings.value" && (len(vals) != 1 || vals[0].Key[0] != store.DerivationRootSetting) {
			t.Fatalf("settings.value: listed %+v, want only the derivation root", vals)
		}
	}
	if _, err := b.s.SealedList(b.ctx, "orders.id", "cur", nil, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("list a column that holds no sealed values: want ErrNotFound, got %v", err)
	}
}
