package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var channelTests = []test{
	{"ChannelAccount/CreateGet", testChannelAccountCreateGet},
	{"ChannelAccount/List", testChannelAccountList},
	{"ChannelAccount/Update", testChannelAccountUpdate},
	{"Route/PutGetListDelete", testRoutePutGetListDelete},
}

// sealed is what a cryptobox-sealed value may hold: any bytes, NUL and
// invalid UTF-8 included.
var sealed = []byte("v1.k1.\x00\xff\xfe sealed secrets \x80")

// channelAccount returns an unsaved channel account of provider created at at.
func (b *bundle) channelAccount(provider string, at time.Time) *store.ChannelAccount {
	n := b.next()
	return &store.ChannelAccount{
		ID: id.New(id.ChannelAccount, at), Provider: provider, Name: fmt.Sprintf("Account %d", n), Livemode: n%2 == 0,
		BaseURL:       "https://api.mch.weixin.qq.com",
		Config:        map[string]string{"mchid": fmt.Sprint(1900000000 + n), "appid": "wx8888888888888888"},
		SealedSecrets: sealed, SecretNames: []string{"api_v3_key", "private_key"},
		Methods: []string{"wechat.native", "wechat.jsapi"}, Currencies: []string{"CNY"},
		FeeBps: 38, MinAmount: 1, MaxAmount: 5_000_000, CreatedAt: at, UpdatedAt: at,
	}
}

func testChannelAccountCreateGet(t *testing.T, b *bundle) {
	full := b.channelAccount("wechatpay", t0)
	full.Disabled = true
	b.must(b.s.ChannelAccountCreate(b.ctx, full), "create channel account with every field set")
	got, err := b.s.ChannelAccountGet(b.ctx, full.ID)
	b.must(err, "get channel account")
	equal(t, got, full, "channel account with every field, read back")

	bare := &store.ChannelAccount{ID: id.New(id.ChannelAccount, t0), Provider: "alipay", CreatedAt: t0, UpdatedAt: t0}
	b.must(b.s.ChannelAccountCreate(b.ctx, bare), "create channel account with nil maps, slices and secrets")
	got, err = b.s.ChannelAccountGet(b.ctx, bare.ID)
	b.must(err, "get bare channel account")
	bare.Config, bare.SecretNames, bare.Methods, bare.Currencies = map[string]string{}, []string{}, []string{}, []string{}
	equal(t, got, bare, "channel account created with nils, read back (empty maps and slices, nil secrets)")

	_, err = b.s.ChannelAccountGet(b.ctx, id.New(id.ChannelAccount, t0))
	wantErr(t, err, store.ErrNotFound, "get a channel account that does not exist")
	dup := b.channelAccount("unionpay", t0)
	dup.ID = full.ID
	wantErr(t, b.s.ChannelAccountCreate(b.ctx, dup), store.ErrConflict, "create a channel account whose id exists")
}

func testChannelAccountList(t *testing.T, b *bundle) {
	var all, wechat []string
	for i := range 7 {
		provider := "alipay"
		if i%2 == 0 {
			provider = "wechatpay"
		}
		a := b.channelAccount(provider, t0.Add(time.Duration(i)*time.Minute))
		b.must(b.s.ChannelAccountCreate(b.ctx, a), "create channel account")
		all = append(all, a.ID)
		if provider == "wechatpay" {
			wechat = append(wechat, a.ID)
		}
	}
	slices.Reverse(all) // newest first
	slices.Reverse(wechat)
	list := func(provider string) func(store.ListParams) ([]string, bool, error) {
		return func(p store.ListParams) ([]string, bool, error) {
			as, more, err := b.s.ChannelAccountList(b.ctx, provider, p)
			return ids(as, func(a *store.ChannelAccount) string { return a.ID }), more, err
		}
	}
	checkPages(t, "channel accounts", all, list(""))
	checkPages(t, "wechatpay channel accounts", wechat, list("wechatpay"))
	got, more, err := list("unionpay")(store.ListParams{})
	b.must(err, "list unionpay channel accounts")
	equal(t, [2]any{len(got), more}, [2]any{0, false}, "unionpay channel accounts (none) and has_more")

	as, _, err := b.s.ChannelAccountList(b.ctx, "wechatpay", store.ListParams{Limit: 1})
	b.must(err, "list the newest wechatpay account")
	one, err := b.s.ChannelAccountGet(b.ctx, wechat[0])
	b.must(err, "get the newest wechatpay account")
	equal(t, as, []*store.ChannelAccount{one}, "listed channel account, every field")
}

func testChannelAccountUpdate(t *testing.T, b *bundle) {
	a := b.channelAccount("wechatpay", t0)
	b.must(b.s.ChannelAccountCreate(b.ctx, a), "create channel account")
	other := b.channelAccount("wechatpay", t0)
	b.must(b.s.ChannelAccountCreate(b.ctx, other), "create another channel account")

	at := t0.Add(time.Hour)
	up := *a
	up.Name, up.BaseURL = "Renamed", "http://127.0.0.1:9999/sim"
	up.Config = map[string]string{"mchid": "1900000109", "serial_no": "5157F09EFDC096DE15EBE81A47057A72"}
	up.SealedSecrets = []byte("v1.k2.\x01\x02 other sealed \xff")
	up.SecretNames, up.Methods, up.Currencies = []string{"private_key"}, []string{"wechat.h5"}, []string{"CNY", "USD"}
	up.FeeBps, up.MinAmount, up.MaxAmount, up.Disabled, up.UpdatedAt = 60, 100, 0, true, at
	b.must(b.s.ChannelAccountUpdate(b.ctx, &up), "update every mutable field")
	got, err := b.s.ChannelAccountGet(b.ctx, a.ID)
	b.must(err, "get updated channel account")
	equal(t, got, &up, "channel account after the update")

	// Provider, Livemode and CreatedAt are immutable: an update ignores them.
	imm := up
	imm.Provider, imm.Livemode, imm.CreatedAt = "alipay", !up.Livemode, at
	imm.Currencies, imm.Config, imm.SecretNames, imm.SealedSecrets = nil, nil, []string{}, nil
	imm.UpdatedAt = at.Add(time.Hour)
	b.must(b.s.ChannelAccountUpdate(b.ctx, &imm), "update with nils and changed immutable fields")
	got, err = b.s.ChannelAccountGet(b.ctx, a.ID)
	b.must(err, "get channel account")
	want := up
	want.Currencies, want.Config, want.SecretNames, want.SealedSecrets, want.UpdatedAt = []string{}, map[string]string{}, []string{}, nil, imm.UpdatedAt
	equal(t, got, &want, "channel account after an update with nils (empty) and changed immutable fields (kept)")

	got, err = b.s.ChannelAccountGet(b.ctx, other.ID)
	b.must(err, "get the other channel account")
	equal(t, got, other, "the other channel account (untouched)")

	ghost := b.channelAccount("wechatpay", t0)
	wantErr(t, b.s.ChannelAccountUpdate(b.ctx, ghost), store.ErrNotFound, "update a channel account that does not exist")
}

func testRoutePutGetListDelete(t *testing.T, b *bundle) {
	route := func(method string, live bool, at time.Time, cands ...store.RouteCandidate) *store.Route {
		return &store.Route{MerchantID: b.merchant.ID, Method: method, Livemode: live, Strategy: "priority",
			Candidates: cands, CreatedAt: at, UpdatedAt: at}
	}
	full := route("wechat.native", false, t0,
		store.RouteCandidate{ChannelAccountID: "cha_a", Weight: 3, FeeBps: ptr(0), MinAmount: 100, MaxAmount: 200_000, Currencies: []string{"CNY"}},
		store.RouteCandidate{ChannelAccountID: "cha_b", FeeBps: ptr(45)},
		store.RouteCandidate{ChannelAccountID: "cha_c"},
	)
	full.Strategy = "weighted"
	b.must(b.s.RoutePut(b.ctx, full), "put route")
	got, err := b.s.RouteGet(b.ctx, b.merchant.ID, "wechat.native", false)
	b.must(err, "get route")
	equal(t, got, full, "route with every candidate field (FeeBps 0 kept apart from unset), read back")
	if got.Candidates[0].FeeBps == nil || got.Candidates[2].FeeBps != nil {
		t.Fatalf("candidate fee overrides: want &0 and nil, got %v and %v", got.Candidates[0].FeeBps, got.Candidates[2].FeeBps)
	}
	_, err = b.s.RouteGet(b.ctx, b.merchant.ID, "wechat.native", true)
	wantErr(t, err, store.ErrNotFound, "get the route of the other mode")
	_, err = b.s.RouteGet(b.ctx, b.merchant.ID, "alipay.qr", false)
	wantErr(t, err, store.ErrNotFound, "get the route of a method without one")

	// Replace: strategy, candidates and UpdatedAt change; CreatedAt stays.
	at := t0.Add(time.Hour)
	repl := route("wechat.native", false, at, store.RouteCandidate{ChannelAccountID: "cha_d"})
	repl.Strategy = "lowest_cost"
	b.must(b.s.RoutePut(b.ctx, repl), "replace route")
	equal(t, repl.CreatedAt, t0, "CreatedAt written back by RoutePut on a replace")
	got, err = b.s.RouteGet(b.ctx, b.merchant.ID, "wechat.native", false)
	b.must(err, "get replaced route")
	equal(t, got, repl, "route after the replace")

	live := route("wechat.native", true, at, store.RouteCandidate{ChannelAccountID: "cha_live"})
	alipay := route("alipay.qr", false, at, store.RouteCandidate{ChannelAccountID: "cha_ali"})
	union := route("unionpay.qr", true, at)
	for _, r := range []*store.Route{live, alipay, union} {
		b.must(b.s.RoutePut(b.ctx, r), "put route "+r.Method)
	}
	union.Candidates = []store.RouteCandidate{} // nil is stored as none
	stranger := b.newMerchant()
	theirs := route("alipay.qr", false, at, store.RouteCandidate{ChannelAccountID: "cha_x"})
	theirs.MerchantID = stranger.ID
	b.must(b.s.RoutePut(b.ctx, theirs), "put another merchant's route")

	rs, err := b.s.RouteList(b.ctx, b.merchant.ID)
	b.must(err, "list routes")
	equal(t, rs, []*store.Route{alipay, union, repl, live}, "routes by method, then test before live")
	rs, err = b.s.RouteList(b.ctx, id.New(id.Merchant, t0))
	b.must(err, "list routes of a merchant without any")
	equal(t, len(rs), 0, "routes of a merchant without any")

	b.must(b.s.RouteDelete(b.ctx, b.merchant.ID, "wechat.native", false), "delete route")
	_, err = b.s.RouteGet(b.ctx, b.merchant.ID, "wechat.native", false)
	wantErr(t, err, store.ErrNotFound, "get a deleted route")
	wantErr(t, b.s.RouteDelete(b.ctx, b.merchant.ID, "wechat.native", false), store.ErrNotFound, "delete the route again")
	wantErr(t, b.s.RouteDelete(b.ctx, b.merchant.ID, "card", true), store.ErrNotFound, "delete a route that never was")
	rs, err = b.s.RouteList(b.ctx, b.merchant.ID)
	b.must(err, "list routes after the delete")
	equal(t, rs, []*store.Route{alipay, union, live}, "routes after the delete")
	got, err = b.s.RouteGet(b.ctx, stranger.ID, "alipay.qr", false)
	b.must(err, "get the other merchant's route")
	equal(t, got, theirs, "the other merchant's route (untouched)")

	orphan := route("card", false, at, store.RouteCandidate{ChannelAccountID: "cha_a"})
	orphan.MerchantID = id.New(id.Merchant, t0)
	if err := b.s.RoutePut(b.ctx, orphan); err == nil {
		t.Fatalf("put a route of a merchant that does not exist: want an error (foreign key), got nil")
	}
}
