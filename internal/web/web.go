// Package web serves the hosted cashier page (收银台) that an order's
// next_action sends the payer to, under /pay/:
//
//	GET  /pay/{id}                   the page: merchant, subject, amount, countdown, methods, QR code
//	POST /pay/{id}/method            the payer picks a method (orders created without one)
//	POST /pay/{id}/test              test mode only: pay or fail through the sandbox (outcome=succeeded|failed)
//	POST /pay/{id}/card              pay with a card (orders for a customer), saving it when the payer ticks the box
//	POST /pay/{id}/saved             pay with one of the customer's saved cards
//	GET  /pay/{agr_id}               an agreement's page: the sandbox's test payer signs or refuses there
//	POST /pay/{agr_id}/test          test mode only: sign or refuse (outcome=signed|refused)
//	GET  /pay/{id}/status            the order's state as JSON, which the page polls
//	GET  /pay/{id}/qr.png            the order's QR code, drawn by the server
//	GET  /pay/assets/{hash}/{name}   the page's CSS and JavaScript, embedded in the binary
//
// Once the order has succeeded, the page sends the payer to the order's
// return_url with the parameters of the API reference (docs/api.md) (order_id, out_trade_no, status,
// timestamp) signed with the app's webhook secret by client.SignReturnParams.
//
// The page works without JavaScript (forms post and redirect back); the
// script adds the live countdown, polling and the automatic return. Every
// response carries a strict Content-Security-Policy: no inline script or
// style, nothing from another origin.
//
// Limits: the page reads the order from the database and never asks the
// channel itself (channel notifications and the payment worker move the
// order); a method, once picked, stays (a second open trade could be paid
// twice); picks are serialized per order within one process only.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/id"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config is what the cashier needs.
type Config struct {
	Payments *payment.Service
	// Billing, when set, gives the cashier the customers' saved cards and
	// serves agreements' pages.
	Billing  *billing.Service
	Store    store.Store
	Accounts *account.Service
	Clock    clock.Clock
	// PublicURL is how payers reach the gateway, without a trailing slash. Form
	// posts must come from its origin or from the request's own host.
	PublicURL string
	// Log receives failures. Default slog.Default().
	Log *slog.Logger
	// PollInterval is how often the page asks for the order's status. Default 2s.
	PollInterval time.Duration
	// ReturnDelay is how long the success page shows before it sends the payer
	// to return_url. Default 1.5s.
	ReturnDelay time.Duration
}

// Handler serves /pay/. Build it with New.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	pages  map[string]*template.Template
	assets *assets
	root   http.Handler // mux behind the cross-origin check
	locks  orderLocks
}

// New returns the cashier handler. It panics if the embedded templates do
// not parse, which a test catches.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.ReturnDelay == 0 {
		cfg.ReturnDelay = 1500 * time.Millisecond
	}
	h := &Handler{cfg: cfg, pages: map[string]*template.Template{}, assets: loadAssets(), locks: orderLocks{m: map[string]*orderLock{}}}
	funcs := template.FuncMap{"asset": h.assets.path}
	for _, page := range []string{"cashier", "message", "agreement"} {
		h.pages[page] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html"))
	}
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			cfg.Log.Warn("cashier: public URL is not a usable origin", "public_url", cfg.PublicURL, "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, errs.Permission("cross_origin", "Cross-origin request refused."))
	}))
	h.mux = http.NewServeMux()
	h.mux.Handle("GET /pay/{id}", h.pageRoute(h.cashier))
	h.mux.Handle("POST /pay/{id}/method", h.pageRoute(h.selectMethod))
	h.mux.Handle("POST /pay/{id}/test", h.pageRoute(h.testPay))
	h.mux.Handle("POST /pay/{id}/card", h.pageRoute(h.payCard))
	h.mux.Handle("POST /pay/{id}/saved", h.pageRoute(h.paySaved))
	h.mux.Handle("GET /pay/{id}/status", h.jsonRoute(h.status))
	h.mux.Handle("GET /pay/{id}/qr.png", h.pageRoute(h.qr))
	h.mux.Handle("GET /pay/assets/{hash}/{name}", h.assets)
	// Form posts must come from the cashier's own pages (Sec-Fetch-Site or
	// Origin), so another site cannot pick a method or pay in a payer's name.
	h.root = cop.Handler(h.mux)
	return h
}

// ServeHTTP sets the security headers and routes r; unknown paths get the
// HTML not-found page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	// Every answer carries a request id, as the API's do, so a payer's
	// error page or a failed poll can be matched to the log.
	reqID := id.New(id.Request, h.cfg.Clock.Now())
	w.Header().Set("Request-Id", reqID)
	r.Header.Set("Request-Id", reqID)
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		probe := r.Clone(r.Context())
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			probe.Method = m
			if _, p := h.mux.Handler(probe); p != "" {
				w.Header().Set("Allow", m)
				h.renderError(w, r, errs.New(errs.KindMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here."))
				return
			}
		}
		h.renderError(w, r, errs.OrderNotFound)
		return
	}
	h.root.ServeHTTP(w, r)
}

// securityHeaders are on every response: nothing but our own scripts,
// styles and images; no framing (clickjacking of the pay buttons); no
// referrer, since the return URL carries its signature in the query.
func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// handlerFunc is a route that returns its failure for the wrapper to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// pageRoute wraps a route whose failures are HTML pages.
func (h *Handler) pageRoute(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.run(fn, w, r); err != nil {
			h.renderError(w, r, err)
		}
	})
}

// jsonRoute wraps a route whose failures are JSON in the API's error shape,
// rendered by the API's own table (api.RenderError), request id included.
func (h *Handler) jsonRoute(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.run(fn, w, r); err != nil {
			h.logged(r, err)
			status, body := api.RenderError(err, w.Header().Get("Request-Id"))
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			w.Write(append(body, '\n'))
		}
	})
}

// run calls fn and turns a panic into an internal error.
func (h *Handler) run(fn handlerFunc, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
		}
	}()
	return fn(w, r)
}

// logged returns err as *errs.Error, logging server-side failures (faults,
// channel failures) with their cause, which is never shown.
func (h *Handler) logged(r *http.Request, err error) *errs.Error {
	e := errs.As(err)
	if api.HTTPStatus(e) >= 500 {
		h.cfg.Log.Error("cashier request failed", "request_id", r.Header.Get("Request-Id"), "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
	return e
}

// renderError shows err as a page: the not-found page for 404s, a short
// message otherwise. Internal causes are logged, never shown.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	e := h.logged(r, err)
	status := api.HTTPStatus(e)
	t := textsFor(r)
	v := messageView{base: h.base(r, t), Title: t.ErrorTitle, Text: t.ErrorHint, Kind: "error"}
	if e.Kind == errs.KindNotFound {
		v.Title, v.Text, v.Kind = t.NotFound, t.NotFoundHint, "notfound"
	} else if n, ok := t.Notices[e.Code]; ok && status < 500 {
		v.Text = n
	}
	h.render(w, status, "message", v)
}

// render executes a page into a buffer first, so a template failure never
// sends half a page.
func (h *Handler) render(w http.ResponseWriter, status int, page string, v any) {
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, v); err != nil {
		h.cfg.Log.Error("cashier template failed", "page", page, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Vary", "Accept-Language")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// order loads the order named by the path.
func (h *Handler) order(ctx context.Context, r *http.Request) (*store.Order, error) {
	return h.cfg.Payments.CashierOrder(ctx, r.PathValue("id"))
}

// orderLocks serializes the payer's actions on one order within this
// process, so a double click cannot open two channel trades.
type orderLocks struct {
	mu sync.Mutex
	m  map[string]*orderLock
}

type orderLock struct {
	sync.Mutex
	users int
}

// lock takes the lock of order id and returns its release.
func (l *orderLocks) lock(id string) (unlock func()) {
	l.mu.Lock()
	ol := l.m[id]
	if ol == nil {
		ol = &orderLock{}
		l.m[id] = ol
	}
	ol.users++
	l.mu.Unlock()
	ol.Lock()
	return func() {
		ol.Unlock()
		l.mu.Lock()
		if ol.users--; ol.users == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

// assets are the embedded CSS and JavaScript, served under a hash of their
// content so they can be cached for good.
type assets struct {
	files map[string]asset // by name
}

type asset struct {
	hash, contentType string
	body              []byte
}

func loadAssets() *assets {
	a := &assets{files: map[string]asset{}}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		a.files[e.Name()] = asset{hash: contentHash(b), contentType: contentType(e.Name()), body: b}
	}
	return a
}

// path is the URL of the named asset; the template calls it as {{asset "cashier.css"}}.
func (a *assets) path(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", errors.New("no asset " + name)
	}
	return "/pay/assets/" + f.hash + "/" + name, nil
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.PathValue("name")]
	if !ok || f.hash != r.PathValue("hash") {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(f.body)
}

func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}
