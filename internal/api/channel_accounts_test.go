package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// The operator API of channel accounts and routes, on a Server built
// directly over a real SQLite store, with fake providers (the real ones
// live in their own packages).

const (
	testOperatorToken = "op_test_channel_accounts"
	secretValue       = "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n"
)

// fakeConnector stands for a connector; the operator API only builds it.
type fakeConnector struct{ channel.Connector }

// channelFixture is a Server with its store and what its hooks saw.
type channelFixture struct {
	t       *testing.T
	srv     *Server
	st      store.Store
	box     *cryptobox.Box
	changed atomic.Int32
	health  map[string]*client.ChannelHealth

	mu    sync.Mutex
	built []channel.Account // accounts given to a provider's New
}

func newChannelFixture(t *testing.T) *channelFixture {
	t.Helper()
	box, err := cryptobox.New(bytes.Repeat([]byte{7}, cryptobox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	f := &channelFixture{t: t, st: sqlitetest.Open(t), box: box, health: map[string]*client.ChannelHealth{}}
	provider := func(name string, methods ...string) channel.Provider {
		return channel.Provider{
			Name: name, Methods: methods, Config: []string{"mchid"}, Secrets: []string{"private_key"},
			OptionalConfig: []string{"appid"}, OptionalSecrets: []string{"api_key"},
			DefaultBaseURL: "https://api." + name + ".example/v3",
			New: func(a channel.Account) (channel.Connector, error) {
				f.mu.Lock()
				f.built = append(f.built, a)
				f.mu.Unlock()
				if a.Secrets["private_key"] == "bad" {
					return nil, errors.New("private_key is not a PKCS#8 PEM key")
				}
				return fakeConnector{}, nil
			},
		}
	}
	fakeClock := clock.NewFake(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	changed := func() { f.changed.Add(1) }
	f.srv = &Server{
		Store: f.st, Box: box, OperatorTokenHash: auth.HashSecret(testOperatorToken),
		Channels: &channelaccount.Service{Store: f.st, Box: box, Clock: fakeClock, Changed: changed,
			Providers: map[string]channel.Provider{
				"fakepay":  provider("fakepay", "wechat.native", "wechat.jsapi"),
				"otherpay": provider("otherpay", "alipay.qr"),
			}},
		MerchantRoutes: &routing.Routes{Store: f.st, Clock: fakeClock, Changed: changed},
		Accounts:       &account.Service{Store: f.st, Box: box, Clock: fakeClock},
		ChannelHealth: func(id string) *client.ChannelHealth {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.health[id]
		},
		Clock: fakeClock,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return f
}

// do sends a request with the operator token and returns the status and body.
func (f *channelFixture) do(method, path string, body any) (int, []byte) {
	f.t.Helper()
	return f.doAs(testOperatorToken, method, path, body)
}

func (f *channelFixture) doAs(token, method, path string, body any) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(method, path, rd)
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// ok sends a request that must answer want, and decodes the body into out.
func (f *channelFixture) ok(want int, method, path string, body, out any) []byte {
	f.t.Helper()
	code, raw := f.do(method, path, body)
	if code != want {
		f.t.Fatalf("%s %s: want %d, got %d %s", method, path, want, code, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return raw
}

// wantError checks that a request fails with status, code and param.
func (f *channelFixture) wantError(what string, status int, code, param, method, path string, body any) {
	f.t.Helper()
	got, raw := f.do(method, path, body)
	var e client.ErrorBody
	if err := json.Unmarshal(raw, &e); err != nil {
		f.t.Fatalf("%s: decode error body %s: %v", what, raw, err)
	}
	if got != status || e.Error.Code != code || str(e.Error.Param) != param {
		f.t.Errorf("%s: want %d %s (param %q), got %d %s (param %q): %s", what, status, code, param, got, e.Error.Code, str(e.Error.Param), e.Error.Message)
	}
}

// accountBody is a valid create request, changed by the options.
func accountBody(opts ...func(map[string]any)) map[string]any {
	b := map[string]any{
		"provider": "fakepay", "name": "Fake main", "livemode": false,
		"config":  map[string]any{"mchid": "1900000109", "appid": "wx88"},
		"secrets": map[string]any{"private_key": secretValue, "api_key": "API-KEY-VALUE"},
		"methods": []string{"wechat.native", "wechat.jsapi"}, "fee_bps": 38,
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

func set(k string, v any) func(map[string]any) { return func(b map[string]any) { b[k] = v } }
func del(k string) func(map[string]any)        { return func(b map[string]any) { delete(b, k) } }

func (f *channelFixture) createAccount(opts ...func(map[string]any)) client.ChannelAccount {
	f.t.Helper()
	var a client.ChannelAccount
	f.ok(http.StatusCreated, "POST", "/admin/v1/channel-accounts", accountBody(opts...), &a)
	return a
}

func (f *channelFixture) createMerchant() client.Merchant {
	f.t.Helper()
	var m client.Merchant
	f.ok(http.StatusCreated, "POST", "/admin/v1/merchants", map[string]any{"name": "Shop"}, &m)
	return m
}

func TestChannelAccountCreate(t *testing.T) {
	t.Parallel()
	f := newChannelFixture(t)
	var a client.ChannelAccount
	raw := f.ok(http.StatusCreated, "POST", "/admin/v1/channel-accounts", accountBody(set("currencies", []string{"CNY", "CNY"}), set("max_amount", 500000)), &a)
	for _, secret := range []string{"TOP-SECRET-KEY-MATERIAL", "API-KEY-VALUE"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("create response shows a secret value: %s", raw)
		}
	}
	want := client.ChannelAccount{
		ID: a.ID, Object: "channel_account", Provider: "fakepay", Name: "Fake main", BaseURL: "https://api.fakepay.example/v3",
		Config: map[string]string{"mchid": "1900000109", "appid": "wx88"}, Secrets: []string{"api_key", "private_key"},
		Methods: []string{"wechat.native", "wechat.jsapi"}, Currencies: []string{"CNY"}, FeeBps: 38, MaxAmount: 500000,
		CreatedAt: a.CreatedAt, UpdatedAt: a.CreatedAt,
	}
	if !strings.HasPrefix(a.ID, "cha_") || a.CreatedAt.IsZero() {
		t.Fatalf("created account: want a cha_ id and a creation time, got %+v", a)
	}
	equalJSON(t, a, want, "created channel account")
	if n := f.changed.Load(); n != 1 {
		t.Fatalf("ChannelsChanged calls after a create: want 1, got %d", n)
	}

	stored, err := f.st.ChannelAccountGet(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.SealedSecrets, []byte("TOP-SECRET")) || bytes.Contains(stored.SealedSecrets, []byte("API-KEY-VALUE")) {
		t.Fatalf("stored SealedSecrets hold a secret in the clear: %q", stored.SealedSecrets)
	}
	plain, err := f.box.Open(string(stored.SealedSecrets))
	if err != nil {
		t.Fatalf("open stored secrets: %v", err)
	}
	var secrets map[string]string
	if err := json.Unmarshal([]byte(plain), &secrets); err != nil || secrets["private_key"] != secretValue || secrets["api_key"] != "API-KEY-VALUE" || len(secrets) != 2 {
		t.Fatalf("stored secrets, opened: want private_key and api_key as sent, got %q (%v)", plain, err)
	}
	f.mu.Lock()
	built := f.built[len(f.built)-1]
	f.mu.Unlock()
	if built.Secrets["private_key"] != secretValue || built.Config["mchid"] != "1900000109" || built.BaseURL != want.BaseURL || built.Livemode {
		t.Fatalf("account given to the provider's New: want the request's secrets, config and default base URL, got %+v", built)
	}

	// The object reads back the same, with health when the gateway tracks it.
	var got client.ChannelAccount
	f.ok(http.StatusOK, "GET", "/admin/v1/channel-accounts/"+a.ID, nil, &got)
	equalJSON(t, got, want, "channel account read back")
	f.mu.Lock()
	f.health[a.ID] = &client.ChannelHealth{Breaker: "open", SuccessRate: 0.25, Samples: 40}
	f.mu.Unlock()
	raw = f.ok(http.StatusOK, "GET", "/admin/v1/channel-accounts/"+a.ID, nil, &got)
	if got.Health == nil || *got.Health != (client.ChannelHealth{Breaker: "open", SuccessRate: 0.25, Samples: 40}) {
		t.Fatalf("channel account with health: want the tracked health, got %s", raw)
	}

	// Live accounts need https; test accounts may use http (simulators).
	live := f.createAccount(set("livemode", true), set("base_url", "https://api.mch.weixin.qq.com"))
	if !live.Livemode || live.BaseURL != "https://api.mch.weixin.qq.com" {
		t.Fatalf("live account: want livemode and the https base URL, got %+v", live)
	}
	sim := f.createAccount(set("base_url", "http://127.0.0.1:9100"))
	if sim.BaseURL != "http://127.0.0.1:9100" {
		t.Fatalf("test account on a simulator: want its http base URL, got %q", sim.BaseURL)
	}
	bare := f.createAccount(set("config", map[string]any{"mchid": "1"}), set("secrets", map[string]any{"private_key": "k"}))
	if len(bare.Secrets) != 1 || len(bare.Currencies) != 0 || bare.Currencies == nil || len(bare.Config) != 1 {
		t.Fatalf("account without optional keys: want one secret name, currencies [], one config key, got %+v", bare)
	}
}

func TestChannelAccountCreateValidation(t *testing.T) {
	t.Parallel()
	f := newChannelFixture(t)
	for _, c := range []struct {
		what   string
		body   any
		status int
		code   string
		param  string
	}{
		{"unknown provider", accountBody(set("provider", "nopay")), 400, "provider_unknown", "provider"},
		{"no provider", accountBody(del("provider")), 400, "parameter_missing", "provider"},
		{"no name", accountBody(del("name")), 400, "parameter_missing", "name"},
		{"blank name", accountBody(set("name", "  ")), 400, "parameter_missing", "name"},
		{"long name", accountBody(set("name", strings.Repeat("n", 129))), 400, "name_invalid", "name"},
		{"no livemode", accountBody(del("livemode")), 400, "parameter_missing", "livemode"},
		{"livemode a string", accountBody(set("livemode", "true")), 400, "livemode_invalid", "livemode"},
		{"missing config key", accountBody(set("config", map[string]any{"appid": "wx"})), 400, "parameter_missing", "config.mchid"},
		{"empty config key", accountBody(set("config", map[string]any{"mchid": ""})), 400, "parameter_missing", "config.mchid"},
		{"no config", accountBody(del("config")), 400, "parameter_missing", "config.mchid"},
		{"unknown config key", accountBody(set("config", map[string]any{"mchid": "1", "zz": "x"})), 400, "unknown_parameter", "config.zz"},
		{"config value not a string", accountBody(set("config", map[string]any{"mchid": 1})), 400, "config_invalid", "config"},
		{"long config value", accountBody(set("config", map[string]any{"mchid": strings.Repeat("1", 16<<10+1)})), 400, "config_invalid", "config.mchid"},
		{"missing secret", accountBody(set("secrets", map[string]any{"api_key": "k"})), 400, "parameter_missing", "secrets.private_key"},
		{"unknown secret", accountBody(set("secrets", map[string]any{"private_key": "k", "password": "p"})), 400, "unknown_parameter", "secrets.password"},
		{"no methods", accountBody(del("methods")), 400, "parameter_missing", "methods"},
		{"empty methods", accountBody(set("methods", []string{})), 400, "methods_invalid", "methods"},
		{"method the provider does not serve", accountBody(set("methods", []string{"wechat.native", "alipay.qr"})), 400, "methods_invalid", "methods[1]"},
		{"unknown method", accountBody(set("methods", []string{"bitcoin"})), 400, "methods_invalid", "methods[0]"},
		{"bad currency", accountBody(set("currencies", []string{"CNY", "cny"})), 400, "currencies_invalid", "currencies[1]"},
		{"no fee_bps", accountBody(del("fee_bps")), 400, "parameter_missing", "fee_bps"},
		{"fee_bps too high", accountBody(set("fee_bps", 10001)), 400, "fee_bps_invalid", "fee_bps"},
		{"negative fee_bps", accountBody(set("fee_bps", -1)), 400, "fee_bps_invalid", "fee_bps"},
		{"negative min_amount", accountBody(set("min_amount", -1)), 400, "min_amount_invalid", "min_amount"},
		{"negative max_amount", accountBody(set("max_amount", -1)), 400, "max_amount_invalid", "max_amount"},
		{"min above max", accountBody(set("min_amount", 500), set("max_amount", 100)), 400, "min_amount_invalid", "min_amount"},
		{"live over http", accountBody(set("livemode", true), set("base_url", "http://api.fakepay.example")), 400, "base_url_invalid", "base_url"},
		{"relative base_url", accountBody(set("base_url", "/v3")), 400, "base_url_invalid", "base_url"},
		{"ftp base_url", accountBody(set("base_url", "ftp://files.example")), 400, "base_url_invalid", "base_url"},
		{"base_url with credentials", accountBody(set("base_url", "https://u:p@api.example")), 400, "base_url_invalid", "base_url"},
		{"key the provider refuses", accountBody(set("secrets", map[string]any{"private_key": "bad"})), 400, "channel_account_invalid", ""},
		{"unknown field", accountBody(set("secret", "x")), 400, "unknown_parameter", "secret"},
		{"not JSON", "{", 400, "json_invalid", ""},
	} {
		f.wantError(c.what, c.status, c.code, c.param, "POST", "/admin/v1/channel-accounts", c.body)
	}
	_, raw := f.do("POST", "/admin/v1/channel-accounts", accountBody(set("secrets", map[string]any{"private_key": "bad"})))
	var e client.ErrorBody
	json.Unmarshal(raw, &e)
	if !strings.Contains(e.Error.Message, "private_key is not a PKCS#8 PEM key") {
		t.Errorf("channel_account_invalid: want the provider's reason in the message, got %q", e.Error.Message)
	}
	var l list[client.ChannelAccount]
	f.ok(http.StatusOK, "GET", "/admin/v1/channel-accounts", nil, &l)
	if len(l.Data) != 0 || f.changed.Load() != 0 {
		t.Fatalf("after refused creates: want no account and no ChannelsChanged, got %d accounts and %d calls", len(l.Data), f.changed.Load())
	}
}

func TestChannelAccountUpdate(t *testing.T) {
	t.Parallel()
	f := newChannelFixture(t)
	a := f.createAccount()
	path := "/admin/v1/channel-accounts/" + a.ID
	before, err := f.st.ChannelAccountGet(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}

	var up client.ChannelAccount
	raw := f.ok(http.StatusOK, "POST", path, map[string]any{
		"name": " Renamed ", "base_url": "http://127.0.0.1:9200", "config": map[string]any{"appid": "wx99"},
		"secrets": map[string]any{"api_key": "NEW-API-KEY"}, "methods": []string{"wechat.jsapi"}, "currencies": []string{"USD"},
		"fee_bps": 60, "min_amount": 100, "max_amount": 0, "disabled": true,
	}, &up)
	if bytes.Contains(raw, []byte("NEW-API-KEY")) || bytes.Contains(raw, []byte("TOP-SECRET")) {
		t.Fatalf("update response shows a secret value: %s", raw)
	}
	want := a
	want.Name, want.BaseURL, want.Config = "Renamed", "http://127.0.0.1:9200", map[string]string{"mchid": "1900000109", "appid": "wx99"}
	want.Methods, want.Currencies, want.FeeBps, want.MinAmount, want.Disabled = []string{"wechat.jsapi"}, []string{"USD"}, 60, 100, true
	want.UpdatedAt = up.UpdatedAt
	equalJSON(t, up, want, "channel account after the update")
	var got client.ChannelAccount
	f.ok(http.StatusOK, "GET", path, nil, &got)
	equalJSON(t, got, want, "updated channel account read back")

	stored, err := f.st.ChannelAccountGet(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored.SealedSecrets, before.SealedSecrets) || bytes.Contains(stored.SealedSecrets, []byte("NEW-API-KEY")) {
		t.Fatalf("secrets after the update: want them sealed again, got %q", stored.SealedSecrets)
	}
	plain, err := f.box.Open(string(stored.SealedSecrets))
	if err != nil {
		t.Fatal(err)
	}
	var secrets map[string]string
	json.Unmarshal([]byte(plain), &secrets)
	if secrets["api_key"] != "NEW-API-KEY" || secrets["private_key"] != secretValue {
		t.Fatalf("secrets after replacing api_key: want the new api_key and the old private_key, got %v", secrets)
	}
	if n := f.changed.Load(); n != 2 {
		t.Fatalf("ChannelsChanged calls after a create and an update: want 2, got %d", n)
	}

	// An optional key given as "" is removed; a base_url of "" is the default.
	got = client.ChannelAccount{}
	f.ok(http.StatusOK, "POST", path, map[string]any{"config": map[string]any{"appid": ""}, "secrets": map[string]any{"api_key": ""}, "base_url": ""}, &got)
	if len(got.Config) != 1 || got.Config["mchid"] != "1900000109" || strings.Join(got.Secrets, ",") != "private_key" || got.BaseURL != "https://api.fakepay.example/v3" {
		t.Fatalf("after removing appid and api_key and resetting base_url: got config %v, secrets %v, base_url %q", got.Config, got.Secrets, got.BaseURL)
	}

	for _, c := range []struct {
		what   string
		body   any
		status int
		code   string
		param  string
	}{
		{"provider", map[string]any{"provider": "otherpay"}, 400, "parameter_immutable", "provider"},
		{"livemode", map[string]any{"livemode": false}, 400, "parameter_immutable", "livemode"},
		{"remove a required config key", map[string]any{"config": map[string]any{"mchid": ""}}, 400, "parameter_missing", "config.mchid"},
		{"remove a required secret", map[string]any{"secrets": map[string]any{"private_key": ""}}, 400, "parameter_missing", "secrets.private_key"},
		{"unknown config key", map[string]any{"config": map[string]any{"zz": "1"}}, 400, "unknown_parameter", "config.zz"},
		{"key the provider refuses", map[string]any{"secrets": map[string]any{"private_key": "bad"}}, 400, "channel_account_invalid", ""},
		{"method the provider does not serve", map[string]any{"methods": []string{"alipay.qr"}}, 400, "methods_invalid", "methods[0]"},
		{"empty methods", map[string]any{"methods": []string{}}, 400, "methods_invalid", "methods"},
		{"max below min", map[string]any{"max_amount": 50}, 400, "min_amount_invalid", "min_amount"},
		{"fee_bps", map[string]any{"fee_bps": 20000}, 400, "fee_bps_invalid", "fee_bps"},
		{"blank name", map[string]any{"name": ""}, 400, "parameter_missing", "name"},
		{"unknown field", map[string]any{"nickname": "x"}, 400, "unknown_parameter", "nickname"},
	} {
		f.wantError("update: "+c.what, c.status, c.code, c.param, "POST", path, c.body)
	}
	var after client.ChannelAccount
	f.ok(http.StatusOK, "GET", path, nil, &after)
	equalJSON(t, after, got, "channel account after refused updates (unchanged)")
	if n := f.changed.Load(); n != 3 {
		t.Fatalf("ChannelsChanged calls after refused updates: want still 3, got %d", n)
	}

	// An account whose keys the provider no longer takes can still be
	// disabled; changing what its connector is built from is checked.
	broken, err := f.st.ChannelAccountGet(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sealedBad, err := f.box.Seal(`{"private_key":"bad"}`)
	if err != nil {
		t.Fatal(err)
	}
	broken.SealedSecrets = []byte(sealedBad)
	if err := f.st.ChannelAccountUpdate(context.Background(), broken); err != nil {
		t.Fatal(err)
	}
	f.ok(http.StatusOK, "POST", path, map[string]any{"disabled": false, "name": "Broken"}, nil)
	f.wantError("change the base_url of a broken account", 400, "channel_account_invalid", "", "POST", path, map[string]any{"base_url": "https://api.fakepay.example/v4"})

	live := f.createAccount(set("livemode", true))
	f.wantError("live account to http", 400, "base_url_invalid", "base_url", "POST", "/admin/v1/channel-accounts/"+live.ID, map[string]any{"base_url": "http://api.example"})
	f.wantError("update a missing account", 404, "channel_account_not_found", "", "POST", "/admin/v1/channel-accounts/cha_01hwrp3c7d5k9m2x4v8t1n6qea", map[string]any{"name": "x"})
	f.wantError("update a malformed id", 404, "channel_account_not_found", "", "POST", "/admin/v1/channel-accounts/nope", map[string]any{"name": "x"})
}

func TestChannelAccountList(t *testing.T) {
	t.Parallel()
	f := newChannelFixture(t)
	var all, fake []string
	for i := range 5 {
		opts := []func(map[string]any){set("name", fmt.Sprint("A", i))}
		if i%2 == 1 {
			opts = append(opts, set("provider", "otherpay"), set("methods", []string{"alipay.qr"}))
		}
		a := f.createAccount(opts...)
		all = append([]string{a.ID}, all...) // newest first
		if a.Provider == "fakepay" {
			fake = append([]string{a.ID}, fake...)
		}
	}
	page := func(query string) ([]string, bool) {
		t.Helper()
		var l list[client.ChannelAccount]
		f.ok(http.StatusOK, "GET", "/admin/v1/channel-accounts"+query, nil, &l)
		ids := make([]string, len(l.Data))
		for i, a := range l.Data {
			ids[i] = a.ID
		}
		return ids, l.HasMore
	}
	got, more := page("")
	equalJSON(t, [2]any{got, more}, [2]any{all, false}, "every channel account, newest first")
	got, more = page("?limit=2")
	equalJSON(t, [2]any{got, more}, [2]any{all[:2], true}, "first page of 2")
	got, more = page("?limit=2&starting_after=" + all[1])
	equalJSON(t, [2]any{got, more}, [2]any{all[2:4], true}, "second page of 2")
	got, more = page("?limit=2&starting_after=" + all[3])
	equalJSON(t, [2]any{got, more}, [2]any{all[4:], false}, "last page")
	got, more = page("?limit=2&ending_before=" + all[2])
	equalJSON(t, [2]any{got, more}, [2]any{all[:2], false}, "page before the third account")
	got, _ = page("?provider=fakepay")
	equalJSON(t, got, fake, "fakepay accounts")
	got, more = page("?provider=fakepay&limit=1&starting_after=" + fake[0])
	equalJSON(t, [2]any{got, more}, [2]any{fake[1:2], true}, "second page of 1 of the fakepay accounts")

	f.wantError("unknown provider filter", 400, "provider_unknown", "provider", "GET", "/admin/v1/channel-accounts?provider=nopay", nil)
	f.wantError("unknown query parameter", 400, "unknown_parameter", "livemode", "GET", "/admin/v1/channel-accounts?livemode=true", nil)
	f.wantError("bad limit", 400, "limit_invalid", "limit", "GET", "/admin/v1/channel-accounts?limit=0", nil)
	f.wantError("get a missing account", 404, "channel_account_not_found", "", "GET", "/admin/v1/channel-accounts/cha_01hwrp3c7d5k9m2x4v8t1n6qea", nil)
	f.wantError("query on get", 400, "unknown_parameter", "", "GET", "/admin/v1/channel-accounts/"+all[0]+"?x=1", nil)
}

func TestRoutesAdmin(t *testing.T) {
	t.Parallel()
	f := newChannelFixture(t)
	m := f.createMerchant()
	a := f.createAccount(set("currencies", []string{"CNY"}))
	b := f.createAccount(set("name", "Backup"))
	jsapiOnly := f.createAccount(set("methods", []string{"wechat.jsapi"}))
	live := f.createAccount(set("livemode", true))
	disabled := f.createAccount()
	f.ok(http.StatusOK, "POST", "/admin/v1/channel-accounts/"+disabled.ID, map[string]any{"disabled": true}, nil)
	changed := f.changed.Load()
	base := "/admin/v1/merchants/" + m.ID + "/routes"

	var rt client.Route
	f.ok(http.StatusOK, "PUT", base+"/wechat.native", map[string]any{
		"livemode": false,
		"candidates": []map[string]any{
			{"channel_account": a.ID, "fee_bps": 0, "max_amount": 100000, "currencies": []string{"CNY"}},
			{"channel_account": b.ID},
			{"channel_account": disabled.ID},
		},
	}, &rt)
	zero := 0
	want := client.Route{Object: "route", MerchantID: m.ID, Method: "wechat.native", Strategy: "priority",
		Candidates: []client.RouteCandidate{
			{ChannelAccount: a.ID, FeeBps: &zero, MaxAmount: 100000, Currencies: []string{"CNY"}},
			{ChannelAccount: b.ID, Currencies: []string{}},
			{ChannelAccount: disabled.ID, Currencies: []string{}},
		},
		CreatedAt: rt.CreatedAt, UpdatedAt: rt.CreatedAt,
	}
	equalJSON(t, rt, want, "route put")
	if f.changed.Load() != changed+1 {
		t.Fatalf("ChannelsChanged after a route put: want %d calls, got %d", changed+1, f.changed.Load())
	}
	var got client.Route
	f.ok(http.StatusOK, "GET", base+"/wechat.native?livemode=false", nil, &got)
	equalJSON(t, got, want, "route read back")
	f.wantError("route of the other mode", 404, "merchant_route_not_found", "", "GET", base+"/wechat.native?livemode=true", nil)

	// Replace it with a weighted route; then add a live one and another method.
	f.ok(http.StatusOK, "PUT", base+"/wechat.native", map[string]any{
		"livemode": false, "strategy": "weighted",
		"candidates": []map[string]any{{"channel_account": b.ID, "weight": 3}, {"channel_account": a.ID, "weight": 1}},
	}, &got)
	if got.Strategy != "weighted" || len(got.Candidates) != 2 || got.Candidates[0].Weight != 3 || !got.CreatedAt.Equal(rt.CreatedAt) {
		t.Fatalf("replaced route: want weighted, 2 candidates, b's weight 3, CreatedAt kept, got %+v", got)
	}
	f.ok(http.StatusOK, "PUT", base+"/wechat.native", map[string]any{"livemode": true, "candidates": []map[string]any{{"channel_account": live.ID}}}, nil)
	f.ok(http.StatusOK, "PUT", base+"/wechat.jsapi", map[string]any{"livemode": false, "strategy": "lowest_cost", "candidates": []map[string]any{{"channel_account": jsapiOnly.ID}}}, nil)
	var l list[client.Route]
	f.ok(http.StatusOK, "GET", base, nil, &l)
	var keys []string
	for _, r := range l.Data {
		keys = append(keys, fmt.Sprintf("%s/%v", r.Method, r.Livemode))
	}
	equalJSON(t, [2]any{keys, l.HasMore}, [2]any{[]string{"wechat.jsapi/false", "wechat.native/false", "wechat.native/true"}, false}, "routes by method then mode")

	candidates := func(cs ...map[string]any) map[string]any { return map[string]any{"livemode": false, "candidates": cs} }
	acct := func(id string, kv ...any) map[string]any {
		c := map[string]any{"channel_account": id}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	many := make([]map[string]any, 21)
	for i := range many {
		many[i] = acct(a.ID)
	}
	for _, c := range []struct {
		what   string
		path   string
		body   any
		status int
		code   string
		param  string
	}{
		{"unknown merchant", "/admin/v1/merchants/mch_01hwrj9e4s7b2q6w8m1x3k5tcz/routes/wechat.native", candidates(acct(a.ID)), 404, "merchant_not_found", ""},
		{"unknown method", base + "/bitcoin", candidates(acct(a.ID)), 400, "method_invalid", "method"},
		{"no livemode", base + "/wechat.native", map[string]any{"candidates": []any{acct(a.ID)}}, 400, "parameter_missing", "livemode"},
		{"unknown strategy", base + "/wechat.native", map[string]any{"livemode": false, "strategy": "cheapest", "candidates": []any{acct(a.ID)}}, 400, "strategy_invalid", "strategy"},
		{"no candidates", base + "/wechat.native", map[string]any{"livemode": false}, 400, "parameter_missing", "candidates"},
		{"empty candidates", base + "/wechat.native", candidates([]map[string]any{}...), 400, "candidates_invalid", "candidates"},
		{"21 candidates", base + "/wechat.native", candidates(many...), 400, "candidates_invalid", "candidates"},
		{"candidate without account", base + "/wechat.native", candidates(acct(a.ID), map[string]any{"weight": 1}), 400, "parameter_missing", "candidates[1].channel_account"},
		{"missing account", base + "/wechat.native", candidates(acct("cha_01hwrp3c7d5k9m2x4v8t1n6qea")), 400, "candidates_invalid", "candidates[0].channel_account"},
		{"duplicate account", base + "/wechat.native", candidates(acct(a.ID), acct(b.ID), acct(a.ID)), 400, "candidates_invalid", "candidates[2].channel_account"},
		{"account of the other mode", base + "/wechat.native", candidates(acct(a.ID), acct(live.ID)), 400, "candidates_invalid", "candidates[1].channel_account"},
		{"account that does not serve the method", base + "/wechat.native", candidates(acct(jsapiOnly.ID)), 400, "candidates_invalid", "candidates[0].channel_account"},
		{"weighted without weight", base + "/wechat.native", map[string]any{"livemode": false, "strategy": "weighted", "candidates": []any{acct(a.ID, "weight", 2), acct(b.ID)}}, 400, "candidates_invalid", "candidates[1].weight"},
		{"negative weight", base + "/wechat.native", candidates(acct(a.ID, "weight", -1)), 400, "candidates_invalid", "candidates[0].weight"},
		{"fee_bps too high", base + "/wechat.native", candidates(acct(a.ID, "fee_bps", 10001)), 400, "candidates_invalid", "candidates[0].fee_bps"},
		{"min above max", base + "/wechat.native", candidates(acct(a.ID, "min_amount", 10, "max_amount", 5)), 400, "candidates_invalid", "candidates[0].min_amount"},
		{"bad currency", base + "/wechat.native", candidates(acct(b.ID, "currencies", []string{"yen"})), 400, "candidates_invalid", "candidates[0].currencies[0]"},
		{"currency the account does not take", base + "/wechat.native", candidates(acct(a.ID, "currencies", []string{"USD"})), 400, "candidates_invalid", "candidates[0].currencies[0]"},
		{"unknown candidate field", base + "/wechat.native", candidates(acct(a.ID, "priority", 1)), 400, "unknown_parameter", "priority"},
		{"weight a string", base + "/wechat.native", candidates(acct(a.ID, "weight", "1")), 400, "candidates_invalid", "candidates.weight"},
	} {
		f.wantError("put route: "+c.what, c.status, c.code, c.param, "PUT", c.path, c.body)
	}
	f.ok(http.StatusOK, "GET", base+"/wechat.native?livemode=false", nil, &got)
	if got.Strategy != "weighted" {
		t.Fatalf("route after refused puts: want it unchanged (weighted), got %+v", got)
	}

	f.wantError("get without livemode", 400, "parameter_missing", "livemode", "GET", base+"/wechat.native", nil)
	f.wantError("get with a bad livemode", 400, "livemode_invalid", "livemode", "GET", base+"/wechat.native?livemode=yes", nil)
	f.wantError("get with another parameter", 400, "unknown_parameter", "mode", "GET", base+"/wechat.native?livemode=true&mode=x", nil)
	f.wantError("list of an unknown merchant", 404, "merchant_not_found", "", "GET", "/admin/v1/merchants/mch_01hwrj9e4s7b2q6w8m1x3k5tcz/routes", nil)

	var del client.DeletedRoute
	changed = f.changed.Load()
	f.ok(http.StatusOK, "DELETE", base+"/wechat.native?livemode=false", nil, &del)
	equalJSON(t, del, client.DeletedRoute{Object: "route", MerchantID: m.ID, Method: "wechat.native", Deleted: true}, "deleted route")
	if f.changed.Load() != changed+1 {
		t.Fatalf("ChannelsChanged after a route delete: want %d calls, got %d", changed+1, f.changed.Load())
	}
	f.wantError("get a deleted route", 404, "merchant_route_not_found", "", "GET", base+"/wechat.native?livemode=false", nil)
	f.wantError("delete it again", 404, "merchant_route_not_found", "", "DELETE", base+"/wechat.native?livemode=false", nil)
	f.wantError("delete without livemode", 400, "parameter_missing", "livemode", "DELETE", base+"/wechat.native", nil)
	f.ok(http.StatusOK, "GET", base+"/wechat.native?livemode=true", nil, &got)
	f.ok(http.StatusOK, "GET", base, nil, &l)
	if len(l.Data) != 2 {
		t.Fatalf("routes after the delete: want 2, got %d", len(l.Data))
	}
}

func TestChannelAdminNeedsOperator(t *testing.T) {
	t.Parallel()
	f := newChannelFixture(t)
	m := f.createMerchant()
	a := f.createAccount()
	for _, r := range []struct{ method, path string }{
		{"POST", "/admin/v1/channel-accounts"},
		{"GET", "/admin/v1/channel-accounts"},
		{"GET", "/admin/v1/channel-accounts/" + a.ID},
		{"POST", "/admin/v1/channel-accounts/" + a.ID},
		{"GET", "/admin/v1/merchants/" + m.ID + "/routes"},
		{"PUT", "/admin/v1/merchants/" + m.ID + "/routes/wechat.native"},
		{"GET", "/admin/v1/merchants/" + m.ID + "/routes/wechat.native?livemode=false"},
		{"DELETE", "/admin/v1/merchants/" + m.ID + "/routes/wechat.native?livemode=false"},
	} {
		for _, c := range []struct{ token, code string }{
			{"", "authentication_required"},
			{"sk_test_51merchantsecretkeyvalue0000000000", "operator_token_invalid"},
			{testOperatorToken + "x", "operator_token_invalid"},
		} {
			code, raw := f.doAs(c.token, r.method, r.path, accountBody())
			var e client.ErrorBody
			json.Unmarshal(raw, &e)
			if code != http.StatusUnauthorized || e.Error.Code != c.code {
				t.Errorf("%s %s with token %q: want 401 %s, got %d %s", r.method, r.path, c.token, c.code, code, raw)
			}
		}
	}
	var l list[client.ChannelAccount]
	f.ok(http.StatusOK, "GET", "/admin/v1/channel-accounts", nil, &l)
	if len(l.Data) != 1 {
		t.Fatalf("accounts after refused calls: want 1, got %d", len(l.Data))
	}
}

// equalJSON fails the test unless got and want encode to the same JSON.
func equalJSON(t *testing.T, got, want any, what string) {
	t.Helper()
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: encode: %v, %v", what, err1, err2)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}
