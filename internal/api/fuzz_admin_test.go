package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// FuzzAdminBodies posts fuzzed bodies to the operator API's routes that
// take one, on a real Server over loopback HTTP and SQLite (a fake channel
// provider, as the real ones live in their own packages): the handlers
// behind the decoding are fuzzed too (FuzzRequestBodies covers the
// decoding alone). No answer is a 5xx, and every error is the API's error
// shape with a code.
func FuzzAdminBodies(f *testing.F) {
	st := sqlitetest.Open(f)
	box, err := cryptobox.New(bytes.Repeat([]byte{5}, cryptobox.KeySize))
	if err != nil {
		f.Fatal(err)
	}
	const opToken = "op_fuzz_admin"
	clk := clock.Real{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fake := channel.Provider{Name: "fakepay", Methods: []string{"wechat.native"}, Config: []string{"mchid"}, Secrets: []string{"private_key"},
		DefaultBaseURL: "https://api.fakepay.example/v3",
		New:            func(channel.Account) (channel.Connector, error) { return fakeConnector{}, nil }}
	s := &Server{Store: st, Box: box, OperatorTokenHash: auth.HashSecret(opToken), Clock: clk, Log: log,
		Accounts:       &account.Service{Store: st, Box: box, Clock: clk},
		Channels:       &channelaccount.Service{Store: st, Box: box, Clock: clk, Providers: map[string]channel.Provider{"fakepay": fake}},
		MerchantRoutes: &routing.Routes{Store: st, Clock: clk},
		Risk:           &risk.Service{Store: st, Clock: clk, Log: log, CardKey: box.DeriveKey(risk.CardKeyLabel)},
		Settlements:    &settlement.Service{Store: st, Clock: clk, Log: log},
	}
	srv := httptest.NewServer(s)
	f.Cleanup(srv.Close)
	call := func(method, path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+opToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	made := func(path, body string) string {
		st, b, err := call("POST", path, []byte(body))
		var o struct {
			ID string `json:"id"`
		}
		if err != nil || st != http.StatusCreated || json.Unmarshal(b, &o) != nil {
			f.Fatalf("POST %s: %d %s %v", path, st, b, err)
		}
		return o.ID
	}
	m := made("/admin/v1/merchants", `{"name":"Shop","fee_rate_bps":60}`)
	a := made("/admin/v1/merchants/"+m+"/apps", `{"name":"app","mode":"test"}`)
	ca := made("/admin/v1/channel-accounts", `{"provider":"fakepay","name":"fp","livemode":false,"config":{"mchid":"1"},"secrets":{"private_key":"k"},"methods":["wechat.native"],"fee_bps":38}`)
	routes := []struct{ method, path string }{
		{"POST", "/admin/v1/merchants"},
		{"POST", "/admin/v1/merchants/" + m + "/apps"},
		{"POST", "/admin/v1/apps/" + a + "/keys"},
		{"POST", "/admin/v1/channel-accounts"},
		{"POST", "/admin/v1/channel-accounts/" + ca},
		{"PUT", "/admin/v1/apps/" + a + "/rate-limits"},
		{"POST", "/admin/v1/oauth-clients"},
		{"PUT", "/admin/v1/merchants/" + m + "/routes/wechat.native"},
		{"POST", "/admin/v1/risk/rules"},
		{"POST", "/admin/v1/risk/rules/test"},
		{"POST", "/admin/v1/risk/lists"},
		{"POST", "/admin/v1/merchants/" + m + "/settlement-settings"},
	}
	for _, s := range []string{
		`{"name":"Shop 2","fee_rate_bps":60,"timezone":"Asia/Shanghai","settlement_currency":"CNY"}`,
		`{"name":"app 2","mode":"live","require_signature":true}`,
		`{"alg":"hmac-sha256"}`,
		`{"provider":"fakepay","name":"fp2","livemode":true,"config":{"mchid":"2"},"secrets":{"private_key":"k"},"methods":["wechat.native"],"fee_bps":38,"min_amount":1,"max_amount":100}`,
		`{"disabled":true,"fee_bps":-1}`,
		`{"create":"10/s","read":null,"refund":"unlimited"}`,
		`{"name":"partner","merchants":["` + m + `"],"scopes":["orders:read"],"public_key":"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"}`,
		`{"candidates":[{"channel_account":"` + ca + `","weight":100}]}`,
		`{"name":"big","expression":"order.amount > 100000","action":"review","score":10}`,
		`{"expression":"` + strings.Repeat("1+", 200) + `1 > 0","order":{"amount":1}}`,
		`{"name":"blocked","kind":"ip"}`,
		`{"settlement_days":1,"min_payout":100,"bank_account":{"name":"x"}}`,
		`{}`, `[]`, `null`, `{"a":1,"a":2}`, "\xff", `{"name":"` + strings.Repeat("x", 300) + `"}`,
	} {
		for i := range routes {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		st, got, err := call(rt.method, rt.path, body)
		if err != nil {
			t.Fatalf("%s %s: %v", rt.method, rt.path, err)
		}
		if st >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, body, st, got)
		}
		if st >= 400 {
			var e struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if json.Unmarshal(got, &e) != nil || e.Error.Code == "" {
				t.Fatalf("%s %s %q: %d %s, want the API's error shape", rt.method, rt.path, body, st, got)
			}
		}
	})
}
