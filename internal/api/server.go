// Package api is Paygate's access layer: the merchant API under /v1, the
// operator API under /admin/v1, and the health and OpenAPI endpoints.
//
// Handlers decode, call a business service, and render: the rules live in
// the business packages — orders and refunds in payment, merchants, apps
// and keys in account, channel accounts (and their secrets) in
// channelaccount, merchants' routes in routing, webhook endpoints and event
// types in notify, balances in ledger, settlements, payouts and statements
// in settlement. Handlers return errors; one wrapper (serve) renders them in
// the error shape through the one table from error kinds to HTTP statuses
// (errors.go), signs merchant responses, applies Idempotency-Key, sets the
// request id, logs, and recovers panics. No handler writes its own error
// JSON. Routes marked Stream (statements) send their answer as they write
// it, signed by a trailer (stream.go).
//
// Answers kept for Idempotency-Key replays are sealed with the master key,
// and the requests' fingerprints are keyed by it and leave the card's CVC
// out (idempotency.go says why). JSON bodies are read strictly: exact member
// names, no name twice, UTF-8 text only (decodeJSON).
package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/profitsharing"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/tracing"
	"github.com/paygate/paygate/internal/transfer"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Server serves the HTTP API.
type Server struct {
	Store    store.Store
	Payments *payment.Service
	// Accounts manages merchants, apps and keys.
	Accounts *account.Service
	// Endpoints manages apps' webhook endpoints.
	Endpoints *notify.Endpoints
	Auth      *auth.Authenticator
	// Signer signs every /v1 response with the current platform key.
	Signer *auth.ResponseSigner
	// PlatformKeys are listed by GET /v1/platform-keys.
	PlatformKeys []*store.PlatformKey
	// OperatorTokenHash is auth.HashSecret of the operator token.
	OperatorTokenHash string
	Box               *cryptobox.Box
	// Channels manages channel accounts.
	Channels *channelaccount.Service
	// MerchantRoutes manages merchants' routes.
	MerchantRoutes *routing.Routes
	// Settlements settles merchants' days, pays them out and writes statements.
	Settlements *settlement.Service
	// Risk manages risk rules, lists and tables, and reads attempts.
	Risk *risk.Service
	// ChannelHealth, when set, reports a channel account's health (circuit
	// breaker state, recent success rate) for the operator API.
	ChannelHealth func(accountID string) *client.ChannelHealth
	Clock         clock.Clock
	Log           *slog.Logger
	// Billing runs recurring payments: customers, agreements, subscriptions.
	Billing *billing.Service
	// Recon reconciles channel accounts' bills (对账).
	Recon *recon.Service
	// Limits, when set, rate-limits requests and sheds load (limits.go).
	Limits *Limits
	// Transfers pays merchants' money out to payees (internal/transfer).
	Transfers *transfer.Service
	// ProfitSharing shares orders' money (internal/profitsharing).
	ProfitSharing *profitsharing.Service
	// FX loads exchange rates and makes quotes (internal/fx).
	FX *fx.Service
	// Metrics records every request by route pattern (nil: none).
	Metrics *metrics.Metrics

	// The router is built once, on first use (Routes or the first
	// request); many first requests can arrive at once.
	once   sync.Once
	mux    *http.ServeMux
	routes []route
	// gets routes GET requests to the bare handlers, for the audit log's
	// "before" (audit.go).
	gets *http.ServeMux
	// unmatched answers requests no route takes (404, 405).
	unmatched        route
	unmatchedHandler http.Handler
	// hashKey keys Idempotency-Key request fingerprints (requestHash).
	hashKeyOnce sync.Once
	hashKey     []byte
	// live are the platform keys after a rotation (keys.go).
	live atomic.Pointer[live]
}

// access says who may call a route.
type access int

const (
	public access = iota
	merchant
	operator
)

// route is one endpoint; the table of them is what the OpenAPI test checks.
type route struct {
	Method  string
	Pattern string
	Access  access
	Handler func(w http.ResponseWriter, r *http.Request) error
	// Query is set on routes that read query parameters (lists, filters);
	// every other route refuses a query string rather than ignoring it.
	Query bool
	// Stream is set on routes that stream their answer (stream.go) instead
	// of having serve buffer and sign it.
	Stream bool
	// Class is the route's rate-limit class; when empty, classOf derives
	// it from Access and Method (limits.go).
	Class class
	// obs is the route's metrics, bound when the router is built.
	obs *metrics.HTTPRoute
}

// Routes lists "METHOD /pattern" of every endpoint, for the OpenAPI check.
func (s *Server) Routes() []string {
	s.init()
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.Method + " " + rt.Pattern
	}
	return out
}

func (s *Server) init() { s.once.Do(s.build) }

// build makes the route table and the router.
func (s *Server) build() {
	// Each resource's file lists its own routes; a new resource adds its
	// list here.
	s.routes = slices.Concat(
		s.publicRoutes(),
		s.orderRoutes(),
		s.refundRoutes(),
		s.eventRoutes(),
		s.webhookEndpointRoutes(),
		s.merchantAdminRoutes(),
		s.channelAccountRoutes(),
		s.routeAdminRoutes(),
		s.settlementRoutes(),
		s.riskRoutes(),
		s.customerRoutes(), s.agreementRoutes(), s.catalogRoutes(), s.subscriptionRoutes(), s.testClockRoutes(),
		s.reconRoutes(),
		s.limitRoutes(), s.auditRoutes(), s.oauthRoutes(),
		s.transferRoutes(), s.fxRoutes(), s.profitSharingRoutes(),
	)
	s.mux = http.NewServeMux()
	s.gets = http.NewServeMux()
	for i := range s.routes {
		rt := &s.routes[i]
		rt.obs = s.Metrics.HTTPRoute(rt.Pattern, rt.Method)
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.serve(*rt))
		if rt.Method == http.MethodGet && !rt.Stream {
			s.gets.Handle(rt.Method+" "+rt.Pattern, rawHandler(*rt))
		}
	}
	s.unmatched = route{Pattern: "unmatched", Access: public, Handler: s.noRoute, obs: s.Metrics.HTTPRoute("unmatched", "any")}
	s.unmatchedHandler = s.serve(s.unmatched)
}

// ServeHTTP routes r; unknown routes and wrong methods get the error shape too.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.init()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unmatchedHandler.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{"GET", "POST", "DELETE", "PATCH", "PUT"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		return errs.New(errs.KindMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+".")
	}
	return errs.NotFound("route_not_found", "Unrecognized request URL ("+r.Method+" "+r.URL.Path+").")
}

type ctxKey int

const (
	principalKey ctxKey = iota
	requestIDKey
)

func principalOf(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(principalKey).(*auth.Principal)
	return p
}

// scopeOf is the payment scope of the authenticated app.
func scopeOf(r *http.Request) payment.Scope {
	p := principalOf(r)
	return payment.Scope{MerchantID: p.App.MerchantID, AppID: p.App.ID, Livemode: p.App.Livemode}
}

// bufferedWriter holds a response until serve has signed and recorded it;
// a streamed route's writes go to its stream instead.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	stream *streamWriter
	// app is the authenticated app, for the request's log line.
	app string
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.write(p) }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }

// serve wraps a route's handler: request id, body, authentication,
// idempotency, error rendering, response signing, panics and logging.
func (s *Server) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := id.New(id.Request, start)
		ctx := context.WithValue(r.Context(), requestIDKey, reqID)
		var span trace.Span
		if tracing.Enabled() {
			ctx, span = tracing.Tracer().Start(tracing.Extract(ctx, r.Header), rt.Method+" "+rt.Pattern,
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.route", rt.Pattern), attribute.String("http.request.method", r.Method)))
		}
		r = r.WithContext(ctx)
		bw := &bufferedWriter{header: w.Header(), status: http.StatusOK}
		bw.header.Set("Request-Id", reqID)
		if rt.Stream {
			bw.stream = s.newStream(w, r, rt)
		}
		rt.obs.Start()
		defer func() {
			rt.obs.Observe(bw.status, start)
			if span != nil {
				span.SetAttributes(attribute.Int("http.response.status_code", bw.status))
				if bw.status >= 500 {
					span.SetStatus(codes.Error, http.StatusText(bw.status))
				}
				span.End()
			}
			s.logRequest(r, rt, bw, reqID, start)
		}()

		err := s.run(bw, r, rt)
		if bw.stream.sent(err, s.Log, reqID) {
			return // streamed: it is out
		}
		if err != nil && r.Context().Err() != nil && (errors.Is(err, context.Canceled) || HTTPStatus(errs.As(err)) >= 500) {
			// The client went away mid-request; nobody reads the answer. A
			// 5xx then is the cancellation's doing (a database driver may
			// report a query it abandoned as a bad connection, not as
			// context.Canceled), so it is no server failure to log as one.
			s.Log.Debug("request abandoned by the client", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "err", err)
			bw.status = statusClientClosed
			return
		}
		if err != nil {
			e := errs.As(err)
			status := HTTPStatus(e)
			if status >= 500 && e.Code != "overloaded" { // shed load is counted, not logged one by one
				s.Log.Error("request failed", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
			}
			bw.body.Reset()
			bw.status = status
			bw.header.Set("Content-Type", "application/json")
			if status == http.StatusTooManyRequests && bw.header.Get("Retry-After") == "" {
				bw.header.Set("Retry-After", "1")
			}
			bw.body.Write(renderError(e, reqID))
		}
		if sg := s.signer(); rt.Access != operator && sg != nil && len(r.URL.Path) >= 4 && r.URL.Path[:4] == "/v1/" {
			sg.Sign(bw.header, bw.body.Bytes())
		}
		bw.header.Set("Content-Length", strconv.Itoa(bw.body.Len()))
		w.WriteHeader(bw.status)
		w.Write(bw.body.Bytes())
	})
}

// statusClientClosed is what the metrics and the log record for a request
// the client abandoned (nginx's 499): nobody received an answer.
const statusClientClosed = 499

// logRequest writes the request's one log line: its id, the app, the route
// pattern, the status and the time it took, and the trace id when tracing.
// The path is there (ids in it are no secrets); the query string and the
// body are not.
func (s *Server) logRequest(r *http.Request, rt route, bw *bufferedWriter, reqID string, start time.Time) {
	if !s.Log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", reqID), slog.String("method", r.Method), slog.String("route", rt.Pattern),
		slog.String("path", r.URL.Path), slog.Int("status", bw.status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	if bw.app != "" {
		attrs = append(attrs, slog.String("app", bw.app))
	}
	if tid := tracing.TraceID(r.Context()); tid != "" {
		attrs = append(attrs, slog.String("trace_id", tid))
	}
	s.Log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// run authenticates and calls the handler, applying Idempotency-Key.
func (s *Server) run(w *bufferedWriter, r *http.Request, rt route) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
		}
	}()
	body, err := readBody(r)
	if err != nil {
		return err
	}
	// Admission comes after the body is read: a client sending its body
	// slowly must not hold one of the slots meanwhile.
	c := classOf(rt)
	release, err := s.admit(w, r, c)
	if err != nil {
		return err
	}
	defer release()
	if r.URL.RawQuery != "" && !rt.Query {
		return errs.Invalid("unknown_parameter", "This endpoint takes no query parameters.")
	}
	r.Body = http.NoBody
	r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
	switch rt.Access {
	case operator:
		if err := auth.CheckOperator(r, s.OperatorTokenHash); err != nil {
			return err
		}
		if err := s.limitApp(w, r, c, operatorScope); err != nil {
			return err
		}
		return s.recordAudit(w, r, rt, func() error { return s.withIdempotency(w, r, rt, operatorScope, body) })
	case merchant:
		var p *auth.Principal
		if token, ok := oauthBearer(r); ok {
			var c *store.OAuthClient
			if p, c, err = s.oauthAuthenticate(r, rt, token); err != nil {
				return err
			}
			r = r.WithContext(context.WithValue(r.Context(), oauthClientKey{}, c))
		} else if p, err = s.Auth.Authenticate(r.Context(), r, body); err != nil {
			return err
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		w.app = p.App.ID
		if err := s.limitApp(w, r, c, p.App.ID); err != nil {
			return err
		}
		return s.recordAudit(w, r, rt, func() error { return s.withIdempotency(w, r, rt, p.App.ID, body) })
	}
	return rt.Handler(w, r)
}

// operatorScope is the idempotency scope of the operator API.
const operatorScope = "operator"

// withIdempotency runs the handler, under Idempotency-Key when a POST has one.
func (s *Server) withIdempotency(w *bufferedWriter, r *http.Request, rt route, scope string, body []byte) error {
	if key := r.Header.Get("Idempotency-Key"); key != "" && r.Method == http.MethodPost {
		return s.idempotent(w, r, rt, scope, key, body)
	}
	return rt.Handler(w, r)
}

type bodyKey struct{}

// bodyOf returns the request body serve read.
func bodyOf(r *http.Request) []byte {
	b, _ := r.Context().Value(bodyKey{}).([]byte)
	return b
}

// publicRoutes need no credentials: health, the OpenAPI description, the
// platform's keys and the channels' callbacks.
func (s *Server) publicRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/healthz", Access: public, Handler: s.healthz},
		{Method: "GET", Pattern: "/readyz", Access: public, Handler: s.readyz},
		{Method: "GET", Pattern: "/openapi.yaml", Access: public, Handler: serveOpenAPI},
		{Method: "GET", Pattern: "/v1/platform-keys", Access: public, Handler: s.listPlatformKeys},
		{Method: "POST", Pattern: "/channels/{provider}/notify/{account}", Access: public, Handler: s.channelCallback},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.Store.SettingGet(ctx, "schema"); err != nil && !errors.Is(err, store.ErrNotFound) {
		return errs.Unavailable("not_ready", "The database is not reachable.").Wrap(err)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
