// Package console serves the operator and merchant web console under
// /console: server-rendered pages (html/template, embedded assets, no build
// step) for the platform's staff (operators) and merchants' staff.
//
// Who signs in. Console users (store.ConsoleUser) are operators, made by
// `paygate operator add` or by another operator, or merchants' users,
// invited by an operator or by an admin of their merchant. Passwords are
// hashed with argon2id (password.go); a user may add TOTP (totp.go). Roles
// are admin and viewer: a viewer's session refuses every change.
//
// Sessions (session.go) live in the database: the cookie carries a random
// token, the table its SHA-256. They end after an idle time and a maximum
// age, at logout, or at "log out everywhere"; the cookie is HttpOnly,
// SameSite=Lax, and Secure when the console is served over TLS. Every form
// carries the session's CSRF token and every POST is also checked for a
// cross-origin source (http.CrossOriginProtection). Failed sign-ins are
// limited per address and per email (ratelimit.go; per process).
//
// What a user sees. An operator sees every merchant; a merchant's user
// only its merchant's objects: scope checks happen in each query (the
// merchant id is a filter of the SQL, so another merchant's order is "not
// found", never loaded and refused). The mode switch (test/live) is kept in
// the session. Actions (refund, resend, create merchant, keys, webhook
// endpoints, approve a review, mark a settlement paid, resolve a
// discrepancy, start a reconciliation, risk rules and lists) call the
// business services the API calls (payment, account, notify.Endpoints and
// notify's store calls, settlement, recon, risk); handlers never write SQL.
// Reads use the store's console queries (store.ConsoleStore).
//
// Pages: search, orders and refunds (filters, sorting, keyset paging,
// streamed CSV export of the whole filtered set in the same order), an
// order's timeline, webhooks (endpoints with their delivery health,
// failures), channel accounts with hourly charts, merchants and apps,
// settlements, reconciliation runs and discrepancies, risk rules (with the
// dry run before saving) and lists, the review queue and a dashboard of
// charts drawn as SVG on the server. Every response carries a strict
// Content-Security-Policy: no inline script or style.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Health is a channel account's live state, as the router knows it.
type Health struct {
	Breaker     string
	SuccessRate float64
	Samples     int
}

// Config is what the console needs. Store, Payments, Accounts and Clock
// are required; the rest turn pages on.
type Config struct {
	Store    store.Store
	Payments *payment.Service
	Accounts *account.Service
	// Settlements, Risk: their pages show when set.
	Settlements *settlement.Service
	Risk        *risk.Service
	// Recon: the reconciliation pages show when set.
	Recon *recon.Service
	// Endpoints manages webhook endpoints (the API's notify.Endpoints);
	// without it the webhooks page only lists them.
	Endpoints *notify.Endpoints
	// Notify wakes the webhook dispatcher after a resend.
	Notify func()
	// ChannelHealth reports a channel account's breaker and success rate.
	ChannelHealth func(accountID string) Health
	// Seal and Open protect TOTP secrets (the master key's box).
	Seal  func(string) (string, error)
	Open  func(string) (string, error)
	Clock clock.Clock
	Log   *slog.Logger
	// PublicURL is how users reach the gateway; an https URL makes cookies Secure.
	PublicURL string
	// SessionIdle ends a session unused for that long (default 30 min);
	// SessionMaxAge ends any session that old (default 12 h).
	SessionIdle   time.Duration
	SessionMaxAge time.Duration
}

// Handler serves /console/. Build it with New.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	root   http.Handler
	pages  map[string]*template.Template
	assets *assets
	limits *limiter
	users  *Users
	stats  statsCache
	hours  hoursCache
}

// New returns the console. It panics if the embedded templates do not
// parse, which a test catches.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMaxAge == 0 {
		cfg.SessionMaxAge = 12 * time.Hour
	}
	h := &Handler{cfg: cfg, pages: map[string]*template.Template{}, assets: loadAssets(),
		limits: newLimiter(cfg.Clock), users: &Users{Store: cfg.Store, Clock: cfg.Clock, Seal: cfg.Seal, Open: cfg.Open}}
	funcs := h.funcs()
	for _, page := range []string{"login", "message", "home", "search", "orders", "order", "refunds", "refund_confirm",
		"webhooks", "channels", "merchants", "merchant", "users", "invite", "settlements", "reviews", "account", "risk",
		"recon", "recon_run", "risk_list"} {
		h.pages[page] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/tables.html", "templates/"+page+".html"))
	}
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			cfg.Log.Warn("console: public URL is not a usable origin", "public_url", cfg.PublicURL, "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, errCrossOrigin)
	}))
	m := http.NewServeMux()
	m.Handle("GET /console/assets/{hash}/{name}", h.assets)
	m.Handle("GET /console/login", h.public(h.loginPage))
	m.Handle("POST /console/login", h.public(h.login))
	m.Handle("GET /console/invite/{token}", h.public(h.invitePage))
	m.Handle("POST /console/invite/{token}", h.public(h.acceptInvite))

	m.Handle("POST /console/logout", h.signedIn(h.logout))
	m.Handle("POST /console/logout-all", h.signedIn(h.logoutAll))
	m.Handle("POST /console/mode", h.signedIn(h.switchMode))
	m.Handle("GET /console/account", h.signedIn(h.accountPage))
	m.Handle("POST /console/account/password", h.signedIn(h.changePassword))
	m.Handle("POST /console/account/totp", h.signedIn(h.enableTOTP))

	m.Handle("GET /console/{$}", h.signedIn(h.home))
	m.Handle("GET /console/search", h.signedIn(h.search))
	m.Handle("GET /console/orders", h.signedIn(h.orders))
	m.Handle("GET /console/orders.csv", h.signedIn(h.exportOrders))
	m.Handle("GET /console/orders/{id}", h.signedIn(h.order))
	m.Handle("POST /console/orders/{id}/refund", h.admin(h.refund))
	m.Handle("GET /console/refunds", h.signedIn(h.refunds))
	m.Handle("GET /console/refunds.csv", h.signedIn(h.exportRefunds))
	m.Handle("POST /console/events/{id}/resend", h.admin(h.resend))
	m.Handle("GET /console/webhooks", h.signedIn(h.webhooks))
	m.Handle("POST /console/webhooks/resend", h.admin(h.resendFailed))
	m.Handle("POST /console/webhooks/endpoints", h.admin(h.createEndpoint))
	m.Handle("POST /console/webhooks/endpoints/{id}/rotate", h.admin(h.rotateEndpoint))
	m.Handle("POST /console/webhooks/endpoints/{id}/{state}", h.admin(h.setEndpointDisabled))
	m.Handle("GET /console/users", h.signedIn(h.usersPage))
	m.Handle("POST /console/users", h.admin(h.inviteUser))
	m.Handle("POST /console/users/{id}/disable", h.admin(h.disableUser))

	m.Handle("GET /console/channels", h.operator(h.channels))
	m.Handle("GET /console/merchants", h.operator(h.merchants))
	m.Handle("POST /console/merchants", h.operatorAdmin(h.createMerchant))
	m.Handle("GET /console/merchants/{id}", h.operator(h.merchant))
	m.Handle("POST /console/merchants/{id}/apps", h.operatorAdmin(h.createApp))
	m.Handle("POST /console/merchants/{id}/fees", h.operatorAdmin(h.updateFees))
	m.Handle("POST /console/apps/{id}/keys", h.operatorAdmin(h.createKey))
	m.Handle("POST /console/keys/{id}/revoke", h.operatorAdmin(h.revokeKey))
	m.Handle("GET /console/settlements", h.signedIn(h.settlements))
	m.Handle("POST /console/settlements/{id}/paid", h.operatorAdmin(h.markPaid))
	m.Handle("GET /console/reviews", h.operator(h.reviews))
	m.Handle("GET /console/risk", h.operator(h.riskRules))
	// The dry run changes nothing, so a viewer may run it too.
	m.Handle("POST /console/risk", h.operator(h.riskRules))
	m.Handle("POST /console/reviews/{id}/{decision}", h.operatorAdmin(h.decide))
	m.Handle("POST /console/risk/rules", h.operatorAdmin(h.saveRule))
	m.Handle("POST /console/risk/rules/{id}/{state}", h.operatorAdmin(h.toggleRule))
	m.Handle("POST /console/risk/lists", h.operatorAdmin(h.createList))
	m.Handle("GET /console/risk/lists/{id}", h.operator(h.riskList))
	m.Handle("POST /console/risk/lists/{id}/entries", h.operatorAdmin(h.addEntries))
	m.Handle("POST /console/risk/lists/{id}/entries/delete", h.operatorAdmin(h.deleteEntry))
	m.Handle("GET /console/recon", h.operator(h.reconRuns))
	m.Handle("POST /console/recon", h.operatorAdmin(h.startRecon))
	m.Handle("GET /console/recon/{id}", h.operator(h.reconRun))
	m.Handle("POST /console/discrepancies/{id}/resolve", h.operatorAdmin(h.resolveDiscrepancy))
	h.mux = m
	h.root = cop.Handler(m)
	return h
}

// ServeHTTP sets the security headers and routes r.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	reqID := id.New(id.Request, h.cfg.Clock.Now())
	w.Header().Set("Request-Id", reqID)
	r.Header.Set("Request-Id", reqID)
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	}
	// A language picked with the switch (?lang=) is remembered.
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		http.SetCookie(w, &http.Cookie{Name: "paygate_lang", Value: l, Path: "/console", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure(r)})
	}
	if r.URL.Path == "/console" {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.renderError(w, r, errs.NotFound("page_not_found", "No such page."))
		return
	}
	h.root.ServeHTTP(w, r)
}

func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

var (
	errCrossOrigin = errs.Permission("cross_origin", "Cross-origin request refused.")
	errCSRF        = errs.Permission("csrf_invalid", "The form has expired or did not come from this console. Reload the page and try again.")
	errViewer      = errs.Permission("read_only", "Your role can only view.")
	errOperator    = errs.Permission("operators_only", "Only the platform's operators can open this page.")
	errNotFound    = errs.NotFound("not_found", "Not found.")
)

// handlerFunc is a route that returns its failure for the wrapper to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// public wraps a route open without a session.
func (h *Handler) public(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.run(fn, w, r); err != nil {
			h.renderError(w, r, err)
		}
	})
}

// signedIn wraps a route that needs a session; POSTs must carry its CSRF token.
func (h *Handler) signedIn(fn handlerFunc) http.Handler {
	return h.guard(fn, func(*principal) error { return nil })
}

// admin wraps a route that changes something: the user's role must be admin.
func (h *Handler) admin(fn handlerFunc) http.Handler {
	return h.guard(fn, func(p *principal) error {
		if p.User.Role != store.RoleAdmin {
			return errViewer
		}
		return nil
	})
}

// operator wraps a page only operators see.
func (h *Handler) operator(fn handlerFunc) http.Handler {
	return h.guard(fn, func(p *principal) error {
		if !p.Operator() {
			return errOperator
		}
		return nil
	})
}

// operatorAdmin wraps an operator's change.
func (h *Handler) operatorAdmin(fn handlerFunc) http.Handler {
	return h.guard(fn, func(p *principal) error {
		if !p.Operator() {
			return errOperator
		}
		if p.User.Role != store.RoleAdmin {
			return errViewer
		}
		return nil
	})
}

func (h *Handler) guard(fn handlerFunc, allow func(*principal) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authenticate(w, r)
		if err != nil {
			h.renderError(w, r, err)
			return
		}
		if p == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.renderError(w, r, errSignedOut)
			return
		}
		if r.Method == http.MethodPost && !p.checkCSRF(r.PostFormValue("csrf")) {
			h.renderError(w, r, errCSRF)
			return
		}
		if err := allow(p); err != nil {
			h.renderError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if err := h.run(fn, w, r); err != nil {
			h.renderError(w, r, err)
			return
		}
		h.audit(r, p)
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

// renderError shows err as a page. Internal causes are logged, never shown.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	e := errs.As(err)
	status := api.HTTPStatus(e)
	if status >= 500 {
		h.cfg.Log.Error("console request failed", "request_id", r.Header.Get("Request-Id"), "method", r.Method,
			"path", r.URL.Path, "code", e.Code, "err", err)
	}
	tr := translator(r)
	v := h.view(r, tr.T("Error"))
	v.Data = messageData{Code: e.Code, Text: tr.Message(e), Status: status}
	if e.Kind == errs.KindNotFound {
		v.Title = tr.T("Not found")
	}
	if e.Kind == errs.KindRateLimited {
		w.Header().Set("Retry-After", "900")
	}
	h.render(w, status, "message", v)
}

type messageData struct {
	Code, Text string
	Status     int
}

// render executes a page into a buffer first, so a template failure never
// sends half a page.
func (h *Handler) render(w http.ResponseWriter, status int, page string, v *view) {
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, v); err != nil {
		h.cfg.Log.Error("console template failed", "page", page, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// view is what every page's template gets.
type view struct {
	Title string
	Tr    *texts
	P     *principal // nil on the sign-in pages
	Path  string     // the request's path and query, for the language switch
	Lang  string     // the other language's code
	Flash string
	Data  any
}

func (h *Handler) view(r *http.Request, title string) *view {
	tr := translator(r)
	v := &view{Title: title, Tr: tr, P: principalOf(r)}
	// Only the console's own notices show: a link cannot put words of its
	// choosing on the page.
	if done := r.URL.Query().Get("done"); notices[done] {
		v.Flash = tr.T(done)
	}
	q := r.URL.Query()
	q.Del("done")
	q.Set("lang", tr.Other)
	v.Path = r.URL.Path + "?" + q.Encode()
	return v
}

// page renders a page with data.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, name, title string, data any) error {
	v := h.view(r, translator(r).T(title))
	v.Data = data
	h.render(w, http.StatusOK, name, v)
	return nil
}

// back redirects after a POST (post/redirect/get), with a notice.
func back(w http.ResponseWriter, r *http.Request, to, done string) error {
	u, err := url.Parse(to)
	if err != nil {
		u = &url.URL{Path: "/console/"}
	}
	q := u.Query()
	if done != "" {
		q.Set("done", done)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return nil
}

// notices are what back may show after an action.
var notices = map[string]bool{
	"Refund created.": true, "Event queued for delivery again.": true, "Events queued again.": true,
	"Merchant created.": true, "Key revoked.": true, "Fees saved.": true, "User disabled.": true,
	"Settlement marked as paid.": true, "Decision recorded.": true, "Two-step sign-in is on.": true,
	"Reconciliation run.": true, "Discrepancy resolved.": true, "Endpoint enabled.": true, "Endpoint disabled.": true,
	"Rule saved.": true, "List created.": true, "Entries added.": true, "Entry removed.": true,
}

func (h *Handler) now() time.Time { return h.cfg.Clock.Now() }

// notFound maps the store's not found to the console's.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	return err
}
