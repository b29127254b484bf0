package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// consoleAt serves a second console over g's store on a clock the test
// moves, to see sessions expire.
func consoleAt(t *testing.T, g *gateway.Gateway, clk *offsetClock) string {
	h := console.New(console.Config{Store: g.Store, Payments: g.Payments, Accounts: g.API.Accounts, Clock: clk,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), SessionIdle: 30 * time.Minute, SessionMaxAge: 12 * time.Hour})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestConsoleSessions: a session ends after its idle time, at its maximum
// age however busy, at logout, and at "sign out everywhere" on every
// browser; its cookie is HttpOnly and SameSite=Lax.
func TestConsoleSessions(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		clk := &offsetClock{}
		base := consoleAt(t, g, clk)

		a := newUser(t, base)
		a.get("/console/login")
		r := a.post("/console/login", url.Values{"email": {"ops@example.com"}, "password": {testPassword}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", r.status, errorText(r.body))
		}
		cookie := ""
		for _, c := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, console.CookieName+"=") {
				cookie = c
			}
		}
		if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") || !strings.Contains(cookie, "Path=/console") {
			t.Errorf("session cookie %q", cookie)
		}
		if r := a.get("/console/orders"); r.status != http.StatusOK {
			t.Fatalf("signed in: %d", r.status)
		}
		// Used every 20 minutes, the session lives on past its idle time…
		for i := 0; i < 3; i++ {
			clk.d.Add(int64(20 * time.Minute))
			if r := a.get("/console/orders"); r.status != http.StatusOK {
				t.Fatalf("after %d × 20 min of use: %d", i+1, r.status)
			}
		}
		// …and ends 31 minutes after its last use.
		clk.d.Add(int64(31 * time.Minute))
		if r := a.get("/console/orders"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/console/login") {
			t.Errorf("idle session: %d %s", r.status, r.header.Get("Location"))
		}
		if r := a.post("/console/mode", url.Values{"mode": {"live"}}); r.status != http.StatusUnauthorized {
			t.Errorf("POST with an idle session: %d", r.status)
		}

		// Maximum age: busy all along, it still ends after 12 hours.
		clk.d.Store(0)
		b := newUser(t, base)
		b.login("ops@example.com")
		for i := 0; i < 25; i++ {
			clk.d.Add(int64(29 * time.Minute))
			b.get("/console/orders")
		}
		if r := b.get("/console/orders"); r.status != http.StatusSeeOther {
			t.Errorf("a session older than 12 h: %d", r.status)
		}

		// Logout, and sign out everywhere.
		clk.d.Store(0)
		c1, c2 := newUser(t, base), newUser(t, base)
		c1.login("ops@example.com")
		c2.login("ops@example.com")
		c1.get("/console/")
		if r := c1.post("/console/logout-all", nil); r.status != http.StatusSeeOther {
			t.Fatalf("logout-all: %d", r.status)
		}
		for i, u := range []*user{c1, c2} {
			if r := u.get("/console/orders"); r.status != http.StatusSeeOther {
				t.Errorf("browser %d after sign out everywhere: %d", i+1, r.status)
			}
		}
		d := newUser(t, base)
		d.login("ops@example.com")
		d.get("/console/")
		d.post("/console/logout", nil)
		if r := d.get("/console/orders"); r.status != http.StatusSeeOther {
			t.Errorf("after logout: %d", r.status)
		}
	})
}

// TestConsoleRefusesForgedAndReadOnly: a POST without the session's CSRF
// token, with another session's token, or from another origin is refused;
// a viewer cannot change anything; wrong passwords are rate-limited.
func TestConsoleRefusesForgedAndReadOnly(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		addUser(t, g, store.ConsoleOperator, "", "viewer@example.com", store.RoleViewer)
		o := paidOrder(t, g, "forged-1", 1000)
		refund := url.Values{"amount": {"1.00"}, "out_refund_no": {"forged"}, "confirm": {"yes"}}

		op, other := newUser(t, g.URL()), newUser(t, g.URL())
		op.login("ops@example.com")
		other.login("ops@example.com")
		op.get("/console/orders/" + o.ID)
		for name, token := range map[string]string{"none": "", "another session's": other.csrf, "made up": "x" + op.csrf} {
			form := url.Values{"csrf": {token}}
			for k, v := range refund {
				form[k] = v
			}
			if r := op.post("/console/orders/"+o.ID+"/refund", form); r.status != http.StatusForbidden || !strings.Contains(r.body, `data-code="csrf_invalid"`) {
				t.Errorf("%s CSRF token: %d %s", name, r.status, errorText(r.body))
			}
		}
		// Right token, wrong origin.
		req, _ := http.NewRequest("POST", g.URL()+"/console/orders/"+o.ID+"/refund", strings.NewReader(url.Values{"csrf": {op.csrf}, "amount": {"1"},
			"out_refund_no": {"x"}, "confirm": {"yes"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if r := op.do(req); r.status != http.StatusForbidden {
			t.Errorf("cross-site POST: %d", r.status)
		}
		if got, _ := g.Store.OrderGet(context.Background(), o.ID); got.AmountRefunded != 0 {
			t.Fatalf("a refused request refunded %d", got.AmountRefunded)
		}

		v := newUser(t, g.URL())
		v.login("viewer@example.com")
		v.get("/console/orders/" + o.ID)
		if strings.Contains(v.get("/console/orders/"+o.ID).body, `id="refund-form"`) {
			t.Error("a viewer is offered the refund form")
		}
		for path, form := range map[string]url.Values{
			"/console/orders/" + o.ID + "/refund": refund,
			"/console/merchants":                  {"name": {"Sneaky"}},
			"/console/users":                      {"email": {"new@example.com"}},
			"/console/webhooks/resend":            {"hours": {"24"}},
		} {
			if r := v.post(path, form); r.status != http.StatusForbidden || !strings.Contains(r.body, `data-code="read_only"`) {
				t.Errorf("viewer POST %s: %d %s", path, r.status, errorText(r.body))
			}
		}

		// Ten wrong passwords, then even the right one is refused for a while.
		x := newUser(t, g.URL())
		if r := x.tryLogin("viewer@example.com", "wrong password!"); r.status != http.StatusUnauthorized {
			t.Errorf("wrong password: %d", r.status)
		}
		for i := 0; i < 9; i++ {
			x.tryLogin("viewer@example.com", "wrong password!")
		}
		if r := x.tryLogin("viewer@example.com", testPassword); r.status != http.StatusTooManyRequests {
			t.Errorf("after 10 failures: %d %s", r.status, errorText(r.body))
		}
		// A login form posted without its cookie's token is refused too.
		y := newUser(t, g.URL())
		if r := y.post("/console/login", url.Values{"email": {"ops@example.com"}, "password": {testPassword}, "csrf": {"guess"}}); r.status != http.StatusForbidden {
			t.Errorf("login without the form's token: %d", r.status)
		}
	})
}

// TestConsoleCookiesSecureBehindHTTPS: when the public URL is https (TLS
// ends at a proxy), every cookie the console sets is Secure; over plain
// HTTP on loopback none is (the browser would drop it).
func TestConsoleCookiesSecureBehindHTTPS(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "paygate.db"))
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, st)
	for public, want := range map[string]bool{"https://pay.example.com": true, "": false} {
		h := console.New(console.Config{Store: g.Store, Payments: g.Payments, Accounts: g.API.Accounts, PublicURL: public,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		srv := httptest.NewServer(h)
		res, err := http.Get(srv.URL + "/console/login?lang=zh")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cookies := res.Header.Values("Set-Cookie")
		if len(cookies) < 2 {
			t.Fatalf("cookies %v", cookies)
		}
		for _, c := range cookies {
			if strings.Contains(c, "; Secure") != want || !strings.Contains(c, "HttpOnly") {
				t.Errorf("public URL %q: cookie %q", public, c)
			}
		}
	}
}
