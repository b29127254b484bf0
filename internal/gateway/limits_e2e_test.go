package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// rawCall makes one request with a Bearer key and returns the response
// with its body read.
func rawCall(t *testing.T, method, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// want429 checks a refusal: 429 rate_limit_error with Retry-After and the
// RateLimit headers.
func want429(t *testing.T, res *http.Response, b []byte, limit string) {
	t.Helper()
	var eb struct{ Error struct{ Type, Code string } }
	json.Unmarshal(b, &eb)
	ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != 429 || eb.Error.Type != "rate_limit_error" || eb.Error.Code != "rate_limited" || ra < 1 ||
		res.Header.Get("RateLimit-Limit") != limit || res.Header.Get("RateLimit-Remaining") != "0" || res.Header.Get("RateLimit-Reset") == "" {
		t.Fatalf("want 429 rate_limit_error with Retry-After and RateLimit-Limit %s, got %d %s %v", limit, res.StatusCode, b, res.Header)
	}
}

func createOrderBody(n int) string {
	return fmt.Sprintf(`{"out_trade_no":"rl-%d","amount":100,"currency":"CNY","subject":"Tea","method":"sandbox"}`, n)
}

// TestRateLimitsPerAppAndClass: each app has a budget per class; an
// operator can give one app its own; public endpoints are limited per
// source IP.
func TestRateLimitsPerAppAndClass(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testRateLimits(t, startWith(t, kind, func(c *gateway.Config) {
				c.RateLimits = "create=3/h,refund=2/h,callback_ip=2/h,cashier_ip=2/h"
			}))
		})
	}
}

func testRateLimits(t *testing.T, e *env) {
	{
		key := e.g.Demo.SecretKey
		var orderID string
		for i := range 3 {
			res, b := rawCall(t, "POST", e.url+"/v1/orders", key, createOrderBody(i))
			if res.StatusCode != 201 {
				t.Fatalf("order %d: %d %s", i, res.StatusCode, b)
			}
			if got := res.Header.Get("RateLimit-Remaining"); got != strconv.Itoa(2-i) {
				t.Fatalf("order %d: RateLimit-Remaining %q, want %d", i, got, 2-i)
			}
			var o client.Order
			json.Unmarshal(b, &o)
			orderID = o.ID
		}
		res, b := rawCall(t, "POST", e.url+"/v1/orders", key, createOrderBody(3))
		want429(t, res, b, "3")
		// Reads are another class, other apps other budgets.
		if res, b := rawCall(t, "GET", e.url+"/v1/orders/"+orderID, key, ""); res.StatusCode != 200 {
			t.Fatalf("a read after the creates were limited: %d %s", res.StatusCode, b)
		}
		other := e.newMerchant("test", false)
		if res, b := rawCall(t, "POST", e.url+"/v1/orders", other.app.SecretKey, createOrderBody(9)); res.StatusCode != 201 {
			t.Fatalf("another app: %d %s", res.StatusCode, b)
		}
		// The operator gives the demo app its own create rate.
		appID := e.g.Demo.App.ID
		var rl struct {
			Rates, Effective map[string]string
		}
		if st, b := e.admin("PUT", "/admin/v1/apps/"+appID+"/rate-limits", map[string]any{"create": "10/h"}, &rl); st != 200 ||
			rl.Rates["create"] != "10/h" || rl.Effective["create"] != "10/h" || rl.Effective["refund"] != "2/h" {
			t.Fatalf("put rate limits: %d %s", st, b)
		}
		if res, b := rawCall(t, "POST", e.url+"/v1/orders", key, createOrderBody(4)); res.StatusCode != 201 || res.Header.Get("RateLimit-Limit") != "10" {
			t.Fatalf("after the operator raised the limit: %d %s", res.StatusCode, b)
		}
		if st, b := e.admin("PUT", "/admin/v1/apps/"+appID+"/rate-limits", map[string]any{"create": "often"}, nil); st != 400 {
			t.Fatalf("a bad rate: %d %s", st, b)
		}
		if st, b := e.admin("PUT", "/admin/v1/apps/"+appID+"/rate-limits", map[string]any{"admin": "1/s"}, nil); st != 400 {
			t.Fatalf("a class not per app: %d %s", st, b)
		}
		// Per source IP: the channel callbacks and the cashier.
		for i := range 3 {
			res, b := rawCall(t, "POST", e.url+"/channels/wechat/notify/cha_none", "", `{}`)
			if i < 2 && res.StatusCode == 429 {
				t.Fatalf("callback %d limited: %s", i, b)
			}
			if i == 2 {
				want429(t, res, b, "2")
			}
		}
		for i := range 3 {
			res, b := rawCall(t, "GET", e.url+"/pay/ord_none", "", "")
			if i < 2 && res.StatusCode == 429 {
				t.Fatalf("cashier %d limited: %s", i, b)
			}
			if i == 2 {
				want429(t, res, b, "2")
			}
		}
	}
}

// TestRateLimitsSharedThroughRedis: two nodes on one database and one Redis
// spend one budget per app and class.
func TestRateLimitsSharedThroughRedis(t *testing.T) {
	redisURL := os.Getenv("PAYGATE_TEST_REDIS")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(strings.TrimSuffix(redisURL, "/0"), "redis://"), time.Second); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis: %v", err)
		}
		t.Skipf("Redis: %v", err)
	} else {
		c.Close()
	}
	path := filepath.Join(t.TempDir(), "paygate.db")
	open := func() store.Store {
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	tweak := func(c *gateway.Config) { c.RateLimits = "create=4/h"; c.RedisURL = redisURL }
	a := startOn(t, open(), tweak)
	cfg := gateway.Config{Addr: "127.0.0.1:0", Database: "sqlite:" + path, AdminToken: adminToken,
		MasterKey: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", Logger: a.g.Log, WorkerInterval: time.Hour}
	tweak(&cfg)
	b, err := gateway.OpenWith(context.Background(), cfg, open(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	created := 0
	for i := range 8 {
		url := a.url
		if i%2 == 1 {
			url = b.URL()
		}
		res, body := rawCall(t, "POST", url+"/v1/orders", a.g.Demo.SecretKey, createOrderBody(i))
		switch res.StatusCode {
		case 201:
			created++
		case 429:
		default:
			t.Fatalf("order %d: %d %s", i, res.StatusCode, body)
		}
	}
	if created != 4 {
		t.Fatalf("two nodes admitted %d creates at 4/h, want 4", created)
	}
}
