package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite"
)

const testPassword = "correct horse battery staple"

// testMasterKey is the test gateways' master key (hex).
const testMasterKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// stores runs fn once on SQLite and, when PAYGATE_TEST_POSTGRES is set, once
// on PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) store.Store {
			st, err := sqlite.Open(filepath.Join(t.TempDir(), "paygate.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := postgrestest.URL(t)
		fn(t, func(t *testing.T) store.Store { return postgrestest.Open(t, url) })
	})
}

// startGateway runs a whole gateway (real clock, demo merchant) on
// loopback over st. Webhook deliveries fail after two attempts.
func startGateway(t *testing.T, st store.Store) *gateway.Gateway {
	t.Helper()
	g, err := gateway.OpenWith(context.Background(), gateway.Config{
		Addr: "127.0.0.1:0", Database: "sqlite:" + filepath.Join(t.TempDir(), "unused.db"), AdminToken: "op_console_test",
		MasterKey: testMasterKey,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerInterval: time.Hour,
		NotifyRetrySchedule: []time.Duration{time.Millisecond},
	}, st, io.Discard)
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && err != http.ErrServerClosed {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("gateway did not stop within 30 s")
		}
	})
	return g
}

// addUser adds a console user with testPassword.
func addUser(t *testing.T, g *gateway.Gateway, kind, merchantID, email, role string) *store.ConsoleUser {
	t.Helper()
	u, _, err := (&console.Users{Store: g.Store, Clock: g.Clock}).Add(context.Background(), console.NewUser{Kind: kind,
		MerchantID: merchantID, Email: email, Role: role, Password: testPassword})
	if err != nil {
		t.Fatalf("add user %s: %v", email, err)
	}
	return u
}

// user is a browser-like HTTP client: a cookie jar, redirects not followed.
type user struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newUser(t *testing.T, base string) *user {
	jar, _ := cookiejar.New(nil)
	return &user{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (u *user) do(req *http.Request) response {
	u.t.Helper()
	res, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}

func (u *user) get(path string) response {
	u.t.Helper()
	req, _ := http.NewRequest("GET", u.base+path, nil)
	r := u.do(req)
	if m := csrfField.FindStringSubmatch(r.body); m != nil {
		u.csrf = m[1]
	}
	return r
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post submits a form as a page of the console does (same origin); the
// session's CSRF token is added unless form has one.
func (u *user) post(path string, form url.Values) response {
	u.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", u.csrf)
	}
	req, _ := http.NewRequest("POST", u.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return u.do(req)
}

// login signs in and fails the test unless it worked.
func (u *user) login(email string) {
	u.t.Helper()
	if r := u.tryLogin(email, testPassword); r.status != http.StatusSeeOther {
		u.t.Fatalf("login %s: %d %s", email, r.status, errorText(r.body))
	}
	if r := u.get("/console/"); r.status != http.StatusOK {
		u.t.Fatalf("after login: %d %s", r.status, errorText(r.body))
	}
}

func (u *user) tryLogin(email, password string) response {
	u.t.Helper()
	u.get("/console/login")
	return u.post("/console/login", url.Values{"email": {email}, "password": {password}})
}

var errorTextRE = regexp.MustCompile(`(?s)id="error-text"[^>]*>(.*?)</p>`)

// errorText is an error page's message, or the start of the body.
func errorText(body string) string {
	if m := errorTextRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	if len(body) > 300 {
		return body[:300]
	}
	return body
}

// paidOrder creates a test-mode order of the demo app and pays it.
func paidOrder(t *testing.T, g *gateway.Gateway, outTradeNo string, amount int64) *store.Order {
	t.Helper()
	ctx := context.Background()
	sc := payment.Scope{MerchantID: g.Demo.App.MerchantID, AppID: g.Demo.App.ID}
	o, _, err := g.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: outTradeNo, Amount: amount,
		Currency: "CNY", Subject: "Console test " + outTradeNo, Method: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = g.Payments.TestPay(ctx, sc, o.ID, true); err != nil {
		t.Fatal(err)
	}
	return o
}

// offsetClock is the real clock moved by an offset a test sets.
type offsetClock struct{ d atomic.Int64 }

func (c *offsetClock) Now() time.Time { return time.Now().UTC().Add(time.Duration(c.d.Load())) }

// receiver is a merchant's webhook endpoint that fails until told to succeed.
type receiver struct {
	url  string
	ok   atomic.Bool
	hits atomic.Int32
}

// webhookReceiver subscribes an endpoint of the demo app to every event.
func webhookReceiver(t *testing.T, g *gateway.Gateway) *receiver {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.hits.Add(1)
		if !rc.ok.Load() {
			http.Error(w, "merchant is down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hooks"
	u := rc.url
	if _, _, err := g.API.Endpoints.Create(context.Background(), store.Scope{MerchantID: g.Demo.App.MerchantID, AppID: g.Demo.App.ID},
		notify.EndpointParams{URL: &u, EnabledEvents: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	return rc
}

// waitDeliveries waits (up to 20 s) until every delivery of the event has status.
func waitDeliveries(t *testing.T, g *gateway.Gateway, eventID, status string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, err := g.Store.DeliveryList(context.Background(), eventID)
		if err != nil {
			t.Fatal(err)
		}
		all := len(ds) > 0
		for _, d := range ds {
			all = all && d.Status == status
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries of %s did not become %s: %+v", eventID, status, ds)
		}
		g.Notifier.Kick()
		time.Sleep(20 * time.Millisecond)
	}
}

// eventOf returns the order's event of type typ.
func eventOf(t *testing.T, g *gateway.Gateway, o *store.Order, typ string) *store.Event {
	t.Helper()
	evs, _, err := g.Store.EventList(context.Background(), store.EventFilter{MerchantID: o.MerchantID, Livemode: o.Livemode,
		ObjectID: o.ID, Type: typ, ListParams: store.ListParams{Limit: 10}})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %s of %s: %v %v", typ, o.ID, evs, err)
	}
	return evs[0]
}
