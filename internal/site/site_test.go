package site

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paygate/paygate/docs"
)

func get(t *testing.T, h http.Handler, path, accept string) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(r *http.Response) string { b, _ := io.ReadAll(r.Body); return string(b) }

// TestHome: browsers get the home page with its links; a JSON client gets
// the API's 404; the console and the cashier demo appear only when they exist.
func TestHome(t *testing.T) {
	t.Parallel()
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		io.WriteString(w, `{"error":{"code":"route_not_found"}}`)
	})
	h, err := New(Config{Version: "paygate v1.2.3", NotFound: notFound, ConsoleURL: "/console/",
		DemoCashier: func(context.Context) (string, error) { return "/pay/ord_x", nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, accept := range []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/*", ""} {
		res := get(t, h, "/", accept)
		b := body(res)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("Accept %q: %d %s", accept, res.StatusCode, res.Header.Get("Content-Type"))
		}
		for _, want := range []string{`href="/docs"`, `href="/openapi.yaml"`, `href="/console/"`, `action="/demo/cashier"`, "paygate v1.2.3"} {
			if !strings.Contains(b, want) {
				t.Errorf("Accept %q: home page lacks %s", accept, want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(b, "<script") || strings.Contains(b, "style=") {
			t.Errorf("CSP %q, or inline script or style in the page", csp)
		}
	}
	if res := get(t, h, "/", "application/json"); res.StatusCode != 404 || !strings.Contains(body(res), "route_not_found") {
		t.Fatalf("JSON client: %d", res.StatusCode)
	}
	bare, _ := New(Config{NotFound: notFound})
	if b := body(get(t, bare, "/", "text/html")); strings.Contains(b, "/console/") || strings.Contains(b, "/demo/cashier") {
		t.Fatal("the home page links a console or a cashier demo that does not exist")
	}
	if bare.Serves(httptest.NewRequest("POST", "/demo/cashier", nil)) || bare.Serves(httptest.NewRequest("GET", "/v1/orders", nil)) {
		t.Fatal("serves what it should leave to the API")
	}
}

// TestDocs: /docs renders docs/api.md: a heading for every route, tables
// as tables, code as code.
func TestDocs(t *testing.T) {
	t.Parallel()
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	res := get(t, h, "/docs", "")
	b := body(res)
	if res.StatusCode != 200 || !strings.Contains(b, "<table>") || !strings.Contains(b, "<pre><code") || !strings.Contains(b, `href="/site.css"`) {
		t.Fatalf("/docs: %d, %.300s", res.StatusCode, b)
	}
	for _, r := range docs.Routes() {
		if !strings.Contains(b, "<code>"+strings.ReplaceAll(r, "&", "&amp;")+"</code></h3>") {
			t.Errorf("/docs has no heading for %s", r)
		}
	}
	if res := get(t, h, "/site.css", ""); res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("/site.css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
