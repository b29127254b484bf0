package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var merchantTests = []test{
	{"Merchant/CreateGet", testMerchantCreateGet},
	{"Merchant/ListPages", testMerchantListPages},
	{"App/CreateGetList", testAppCreateGetList},
	{"App/CreateIsAtomic", testAppCreateIsAtomic},
}

func testMerchantCreateGet(t *testing.T, b *bundle) {
	got, err := b.s.MerchantGet(b.ctx, b.merchant.ID)
	b.must(err, "get merchant")
	equal(t, got, b.merchant, "merchant read back")

	_, err = b.s.MerchantGet(b.ctx, id.New(id.Merchant, t0))
	wantErr(t, err, store.ErrNotFound, "get a merchant that does not exist")

	dup := *b.merchant
	wantErr(t, b.s.MerchantCreate(b.ctx, &dup), store.ErrConflict, "create a merchant with an id that exists")
}

func testMerchantListPages(t *testing.T, b *bundle) {
	want := []string{b.merchant.ID}
	for i := 1; i <= 6; i++ {
		m := &store.Merchant{ID: id.New(id.Merchant, t0.Add(time.Duration(i)*time.Minute)), Name: fmt.Sprint(i), CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
		b.must(b.s.MerchantCreate(b.ctx, m), "create merchant")
		want = append(want, m.ID)
	}
	slices.Reverse(want) // newest first
	checkPages(t, "merchants", want, func(p store.ListParams) ([]string, bool, error) {
		ms, more, err := b.s.MerchantList(b.ctx, p)
		return ids(ms, func(m *store.Merchant) string { return m.ID }), more, err
	})
}

// ids maps objects to their ids.
func ids[T any](objs []T, id func(T) string) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = id(o)
	}
	return out
}

// checkPages checks a list whose full contents, newest first, are want
// (at least 4 objects): the default page holds all of them; pages of 2 walk
// forwards with StartingAfter and backwards with EndingBefore, with has_more
// right on every page.
func checkPages(t *testing.T, what string, want []string, list func(store.ListParams) ([]string, bool, error)) {
	t.Helper()
	got, more, err := list(store.ListParams{})
	if err != nil {
		t.Fatalf("list %s with the default limit: want no error, got %v", what, err)
	}
	equal(t, got, want, "list "+what+" with the default limit")
	equal(t, more, false, "has_more of the default page of "+what)

	// Forwards: newest first, each page older than the last.
	p := store.ListParams{Limit: 2}
	for i := 0; i < len(want); i += 2 {
		got, more, err := list(p)
		if err != nil {
			t.Fatalf("list %s page %d forwards: want no error, got %v", what, i/2, err)
		}
		end := min(i+2, len(want))
		equal(t, got, want[i:end], fmt.Sprintf("%s page %d forwards (starting after %q)", what, i/2, p.StartingAfter))
		equal(t, more, end < len(want), fmt.Sprintf("has_more of %s page %d forwards", what, i/2))
		p.StartingAfter = got[len(got)-1]
	}

	// Backwards: from the oldest, each page newer than the last, each page
	// still newest first.
	p = store.ListParams{Limit: 2, EndingBefore: want[len(want)-1]}
	for end := len(want) - 1; end > 0; end -= 2 {
		got, more, err := list(p)
		if err != nil {
			t.Fatalf("list %s ending before %q: want no error, got %v", what, p.EndingBefore, err)
		}
		start := max(end-2, 0)
		equal(t, got, want[start:end], fmt.Sprintf("%s page ending before %q", what, p.EndingBefore))
		equal(t, more, start > 0, fmt.Sprintf("has_more of %s page ending before %q", what, p.EndingBefore))
		p.EndingBefore = got[0]
	}

	// A cursor at the newest object has nothing newer; at the oldest, nothing older.
	got, more, err = list(store.ListParams{EndingBefore: want[0]})
	if err != nil {
		t.Fatalf("list %s ending before the newest: want no error, got %v", what, err)
	}
	equal(t, len(got), 0, "number of "+what+" newer than the newest")
	equal(t, more, false, "has_more of "+what+" newer than the newest")
	got, _, err = list(store.ListParams{StartingAfter: want[len(want)-1]})
	if err != nil {
		t.Fatalf("list %s starting after the oldest: want no error, got %v", what, err)
	}
	equal(t, len(got), 0, "number of "+what+" older than the oldest")
}

func testAppCreateGetList(t *testing.T, b *bundle) {
	got, err := b.s.AppGet(b.ctx, b.app.ID)
	b.must(err, "get app")
	equal(t, got, b.app, "app read back")
	_, err = b.s.AppGet(b.ctx, id.New(id.App, t0))
	wantErr(t, err, store.ErrNotFound, "get an app that does not exist")

	at := t0.Add(time.Minute)
	live := &store.App{ID: id.New(id.App, at), MerchantID: b.merchant.ID, Name: "live", Livemode: true, CreatedAt: at}
	key := &store.Key{ID: id.New(id.Key, at), Kind: store.KeySecret, SecretHash: "hash-live", CreatedAt: at}
	b.must(b.s.AppCreate(b.ctx, live, []*store.Key{key}), "create a live app with a key")
	gotKey, err := b.s.KeyGet(b.ctx, key.ID)
	b.must(err, "get the app's first key")
	equal(t, gotKey, &store.Key{ID: key.ID, AppID: live.ID, MerchantID: b.merchant.ID, Livemode: true, Kind: store.KeySecret,
		SecretHash: "hash-live", CreatedAt: at}, "first key, with the app's id, merchant and mode filled in")

	dup := *live
	wantErr(t, b.s.AppCreate(b.ctx, &dup, nil), store.ErrConflict, "create an app with an id that exists")

	other := b.newMerchant()
	b.newApp(other, false)

	apps, more, err := b.s.AppList(b.ctx, b.merchant.ID, store.ListParams{})
	b.must(err, "list apps")
	equal(t, ids(apps, func(a *store.App) string { return a.ID }), []string{live.ID, b.app.ID}, "the merchant's apps, newest first, without other merchants' apps")
	equal(t, more, false, "has_more of the merchant's apps")
}

func testAppCreateIsAtomic(t *testing.T, b *bundle) {
	taken := &store.Key{ID: id.New(id.Key, t0), AppID: b.app.ID, MerchantID: b.merchant.ID, Kind: store.KeySecret, SecretHash: "taken", CreatedAt: t0}
	b.must(b.s.KeyCreate(b.ctx, taken), "create key")

	a := &store.App{ID: id.New(id.App, t0), MerchantID: b.merchant.ID, Name: "doomed", CreatedAt: t0}
	keys := []*store.Key{
		{ID: id.New(id.Key, t0), Kind: store.KeySecret, SecretHash: "fresh", CreatedAt: t0},
		{ID: id.New(id.Key, t0), Kind: store.KeySecret, SecretHash: "taken", CreatedAt: t0},
	}
	wantErr(t, b.s.AppCreate(b.ctx, a, keys), store.ErrConflict, "create an app whose second key reuses a secret hash")
	_, err := b.s.AppGet(b.ctx, a.ID)
	wantErr(t, err, store.ErrNotFound, "get the app whose creation failed (nothing may commit)")
	_, err = b.s.KeyGet(b.ctx, keys[0].ID)
	wantErr(t, err, store.ErrNotFound, "get the first key of the app whose creation failed")
}
