package gateway

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store/sqlstore"
	"github.com/paygate/paygate/internal/tracing"
)

// Monitoring: the gateway's metrics (internal/metrics) are wired here, and
// served with net/http/pprof on the operator listener (admin_addr), a
// listener of its own that defaults to loopback: /metrics and the profiles
// are for the operator's Prometheus and engineers, never for the public
// port, which answers them as unknown routes.

// DefaultAdminAddr is where serve's operator listener binds when nothing
// sets admin_addr.
const DefaultAdminAddr = "127.0.0.1:9090"

// ErrAdminAddrInUse says the operator listener's address is taken.
var ErrAdminAddrInUse = errors.New("address already in use")

func validateAdminAddr(v string) error {
	if v == "" || v == "off" {
		return nil
	}
	return validateAddr(v)
}

func validateLogFormat(v string) error {
	if v != "json" && v != "text" {
		return fmt.Errorf("want json or text")
	}
	return nil
}

// NewLoggerFormat returns the gateway's logger on w at level, writing JSON
// lines or logfmt-style text lines (format "text").
func NewLoggerFormat(level, format string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// bindAdmin sets cfg.AdminListener to a listener on cfg.AdminAddr unless it
// has one or the address is empty or "off".
func bindAdmin(cfg *Config) (closeListener func(), err error) {
	if cfg.AdminListener != nil || cfg.AdminAddr == "" || cfg.AdminAddr == "off" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", cfg.AdminAddr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("admin listener on %s: %w: set another with --admin-addr (PAYGATE_ADMIN_ADDR), or off", cfg.AdminAddr, ErrAdminAddrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("admin listener on %s: %w", cfg.AdminAddr, err)
	}
	cfg.AdminListener = l
	return func() { l.Close(); cfg.AdminListener = nil }, nil
}

// newMetrics makes the collectors unless Config.NoMetrics, and has the
// channel accounts' connectors counted and traced.
func (g *Gateway) newMetrics() {
	if !g.Config.NoMetrics {
		g.Metrics = metrics.New()
	}
	if g.Metrics != nil || tracing.Enabled() {
		g.Channels.Wrap = func(accountID string, c channel.Connector) channel.Connector {
			return g.Metrics.Connector(accountID, c)
		}
	}
}

// wireMetrics hands the collectors to the services and registers the
// scrape-time ones, and schedules the ledger's verification.
func (g *Gateway) wireMetrics() {
	m := g.Metrics
	if m == nil {
		return
	}
	g.Payments.Metrics, g.Risk.Metrics, g.Notifier.Metrics = m, m, m
	g.Jobs.Metrics, g.Settlements.Metrics, g.API.Metrics = m, m, m
	if st, ok := g.Store.(*sqlstore.Store); ok {
		st.ObserveCommits(m.GroupCommit)
		m.CollectPools(st.Pools())
		m.CollectBacklog(st, g.Clock.Now)
		m.CollectDiscrepancies(st)
	}
	m.CollectChannelHealth(func() []metrics.ChannelHealth {
		var out []metrics.ChannelHealth
		g.Router.Each(func(id string, h routing.Health) {
			out = append(out, metrics.ChannelHealth{Account: id, Breaker: h.Breaker, SuccessRate: h.SuccessRate, Samples: h.Samples})
		})
		return out
	})
	if l := g.API.Limits; l != nil && l.Shedder != nil {
		sh := l.Shedder
		m.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "paygate_shed_bound",
			Help: "Requests this node admits at once now: max_in_flight, less what shed_latency_target took away."},
			func() float64 { return float64(sh.Bound()) }))
		m.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "paygate_shed_in_flight",
			Help: "Requests admitted by the shedder and not finished."},
			func() float64 { return float64(sh.InFlight()) }))
		m.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "paygate_shed_refused_total",
			Help: "Requests refused with 503 overloaded by this node."},
			func() float64 { return float64(sh.Shed()) }))
		m.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "paygate_shed_stale_total",
			Help: "Requests refused (503 overloaded, counted in paygate_shed_refused_total too) because, while the node was under pressure, they had waited max_queue_time out before the process could read them (in the accept queue, a socket buffer or for a goroutine)."},
			func() float64 { return float64(sh.Stale()) }))
	}
	if g.Config.LedgerVerifyInterval > 0 {
		g.Jobs.Jobs = append(g.Jobs.Jobs, jobs.Job{Name: "ledger_verify", Next: jobs.Every(g.Config.LedgerVerifyInterval),
			Run: g.verifyLedger})
	}
}

// verifyLedger is the ledger_verify job: LedgerVerify, its result exported.
func (g *Gateway) verifyLedger(ctx context.Context, now time.Time) error {
	rep, err := g.Store.LedgerVerify(ctx)
	if err != nil {
		g.Metrics.LedgerVerified(g.Clock.Now(), -1)
		return err
	}
	n := len(rep.UnbalancedEntries) + len(rep.BalanceMismatches) + len(rep.MissingEntries) + len(rep.SettlementMismatches)
	g.Metrics.LedgerVerified(g.Clock.Now(), n)
	if n > 0 {
		g.Log.Error("ledger verification found problems; run paygate admin ledger verify", "problems", n)
	}
	return nil
}

// AdminHandler serves /metrics and /debug/pprof/.
func (g *Gateway) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if g.Metrics != nil {
		mux.Handle("GET /metrics", g.Metrics.Handler())
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "paygate operator listener: /metrics, /debug/pprof/")
	})
	return mux
}

// AdminAddr is the operator listener's address, "" when there is none.
func (g *Gateway) AdminAddr() string {
	if g.Config.AdminListener == nil {
		return ""
	}
	return g.Config.AdminListener.Addr().String()
}

// serveAdmin starts the operator listener's server, when there is one.
func (g *Gateway) serveAdmin() {
	if g.Config.AdminListener == nil {
		return
	}
	// No WriteTimeout: a CPU profile or an execution trace streams for as
	// long as asked (30 s by default).
	g.admin = &http.Server{Handler: g.AdminHandler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn)}
	l := g.Config.AdminListener
	go func() {
		if err := g.admin.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.Log.Error("admin listener stopped", "err", err)
		}
	}()
}

// outerRoute is the metrics of the requests the API does not answer (the
// cashier, the site), bound per method.
type outerRoute struct {
	name                   string
	get, post, head, other *metrics.HTTPRoute
}

func newOuterRoute(m *metrics.Metrics, name string) *outerRoute {
	return &outerRoute{name: name, get: m.HTTPRoute(name, "GET"), post: m.HTTPRoute(name, "POST"),
		head: m.HTTPRoute(name, "HEAD"), other: m.HTTPRoute(name, "other")}
}

func (o *outerRoute) of(method string) *metrics.HTTPRoute {
	switch method {
	case "GET":
		return o.get
	case "POST":
		return o.post
	case "HEAD":
		return o.head
	}
	return o.other
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// measured serves h, recording its requests under o's route (and a span
// named after it when tracing).
func measured(o *outerRoute, h http.Handler, w http.ResponseWriter, r *http.Request) {
	if (o == nil || o.get == nil) && !tracing.Enabled() {
		h.ServeHTTP(w, r)
		return
	}
	var span trace.Span
	if tracing.Enabled() {
		var ctx context.Context
		ctx, span = tracing.Tracer().Start(tracing.Extract(r.Context(), r.Header), r.Method+" "+o.name,
			trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attribute.String("http.route", o.name)))
		r = r.WithContext(ctx)
	}
	obs := o.of(r.Method)
	start := time.Now()
	obs.Start()
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	obs.Observe(rec.status, start)
	if span != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		span.End()
	}
}
