// Package metrics holds every Prometheus collector of Paygate, in one place,
// and the small typed methods through which the other packages feed them.
//
// Naming follows Prometheus: a paygate_ prefix, base units (_seconds),
// _total on counters. Labels are bounded: HTTP routes are the router's
// patterns ("POST /v1/orders", never an order id), status codes are classes
// (2xx…5xx), channel accounts are the operator's few accounts, risk rules are
// named only when the platform owns them (a merchant's rules count as
// "merchant"). Nothing that identifies a payer, an order or a secret is ever
// a label value.
//
// A nil *Metrics is valid and records nothing: the packages call its methods
// unconditionally, and `paygate bench --no-metrics` measures what they cost.
// Hot paths use children bound once (HTTPRoute binds a route's counters and
// histogram when the router is built), so a request costs a few atomic adds
// and no allocation.
//
// Some figures are read at scrape time instead of counted (collect.go): the
// webhook backlog and the age of its oldest due delivery (two indexed
// queries), the breaker state and success rate of each channel account (the
// router's memory), and the database pools (database/sql's Stats).
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the gateway's collectors and the registry that serves them.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	ordersCreated  *prometheus.CounterVec
	ordersFinished *prometheus.CounterVec

	channelCalls    *prometheus.CounterVec
	channelDuration *prometheus.HistogramVec

	riskDecisions *prometheus.CounterVec
	riskRuleHits  *prometheus.CounterVec

	webhookDeliveries *prometheus.CounterVec
	webhookDuration   prometheus.Histogram

	commitBatch    prometheus.Histogram
	commitDuration prometheus.Histogram

	jobRuns        *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	jobLag         *prometheus.GaugeVec
	jobLastSuccess *prometheus.GaugeVec

	settlements       *prometheus.CounterVec
	settlementAmounts *prometheus.CounterVec

	ledgerProblems prometheus.Gauge
	ledgerLastRun  prometheus.Gauge
	ledgerLastOK   prometheus.Gauge
}

// Latency buckets: requests and store turns take milliseconds, channel
// calls and webhooks up to their timeouts (10 s and more).
var (
	httpBuckets    = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	channelBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	batchBuckets   = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
	jobBuckets     = []float64{.01, .1, 1, 10, 60, 300, 1800}
)

// New makes the collectors and registers them, with the Go runtime and
// process collectors, in a registry of their own.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{Registry: r}

	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status class."}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "paygate_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern and method.", Buckets: httpBuckets}, []string{"route", "method"})
	m.httpInFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "paygate_http_requests_in_flight",
		Help: "HTTP requests being answered."})

	m.ordersCreated = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_orders_created_total",
		Help: "Payment orders created, by method, provider and mode (live or test)."}, []string{"method", "provider", "mode"})
	m.ordersFinished = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_orders_finished_total",
		Help: "Payment orders that reached a final status (succeeded, failed, closed), by method, provider and mode."},
		[]string{"method", "provider", "mode", "status"})

	m.channelCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_channel_calls_total",
		Help: "Calls to payment channels, by channel account, provider, operation and outcome (ok, declined, unavailable, unknown, error)."},
		[]string{"channel_account", "provider", "operation", "outcome"})
	m.channelDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "paygate_channel_call_duration_seconds",
		Help: "Time a channel call took, by channel account and operation.", Buckets: channelBuckets},
		[]string{"channel_account", "operation"})

	m.riskDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_risk_decisions_total",
		Help: "Risk decisions, by decision (allow, review, block)."}, []string{"decision"})
	m.riskRuleHits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_risk_rule_hits_total",
		Help: "Risk rules that fired, by rule (platform rules by name; merchants' rules as \"merchant\"), action and mode."},
		[]string{"rule", "action", "mode"})

	m.webhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_webhook_deliveries_total",
		Help: "Webhook delivery attempts, by outcome (succeeded, retry, failed)."}, []string{"outcome"})
	m.webhookDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paygate_webhook_delivery_duration_seconds",
		Help: "Time a webhook attempt took, connection and answer.", Buckets: channelBuckets})

	m.commitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paygate_store_group_commit_batch_size",
		Help: "Writers per group-commit transaction (SQLite).", Buckets: batchBuckets})
	m.commitDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "paygate_store_group_commit_duration_seconds",
		Help: "Time from a group-commit batch's BEGIN to its COMMIT returning (SQLite).", Buckets: httpBuckets})

	m.jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_job_runs_total",
		Help: "Scheduled job runs on this node, by job and outcome (ok, error)."}, []string{"scheduled_job", "outcome"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "paygate_job_duration_seconds",
		Help: "Time a scheduled job run took, by job.", Buckets: jobBuckets}, []string{"scheduled_job"})
	m.jobLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "paygate_job_lag_seconds",
		Help: "How late the job's last run on this node started after it was due."}, []string{"scheduled_job"})
	m.jobLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "paygate_job_last_success_timestamp_seconds",
		Help: "When the job last finished without error on this node (Unix time)."}, []string{"scheduled_job"})

	m.settlements = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_settlements_total",
		Help: "Merchant-days settled on this node, by currency."}, []string{"currency"})
	m.settlementAmounts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_settlement_net_amount_total",
		Help: "Net amounts settled to merchants, in the currency's minor unit, by currency."}, []string{"currency"})

	m.ledgerProblems = prometheus.NewGauge(prometheus.GaugeOpts{Name: "paygate_ledger_verify_problems",
		Help: "Problems the last ledger verification found (0: the ledger balances); -1 before the first run."})
	m.ledgerProblems.Set(-1)
	m.ledgerLastRun = prometheus.NewGauge(prometheus.GaugeOpts{Name: "paygate_ledger_verify_last_run_timestamp_seconds",
		Help: "When the ledger was last verified on this node (Unix time)."})
	m.ledgerLastOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "paygate_ledger_verify_ok",
		Help: "1 when the last ledger verification found the ledger balanced, 0 when it found problems or could not run."})

	for _, c := range []prometheus.Collector{
		m.httpRequests, m.httpDuration, m.httpInFlight, m.ordersCreated, m.ordersFinished,
		m.channelCalls, m.channelDuration, m.riskDecisions, m.riskRuleHits, m.webhookDeliveries, m.webhookDuration,
		m.commitBatch, m.commitDuration, m.jobRuns, m.jobDuration, m.jobLag, m.jobLastSuccess,
		m.settlements, m.settlementAmounts, m.ledgerProblems, m.ledgerLastRun, m.ledgerLastOK,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		f(c)
	}
	return m
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Register adds a collector (a scrape-time one from collect.go); nil-safe.
func (m *Metrics) Register(c prometheus.Collector) {
	if m != nil {
		m.Registry.MustRegister(c)
	}
}

// HTTPRoute is one route's collectors, bound once: Observe costs atomic
// adds only.
type HTTPRoute struct {
	byClass  [6]prometheus.Counter // index status/100; 0 for anything odd
	duration prometheus.Observer
	inFlight prometheus.Gauge
}

// HTTPRoute binds the collectors of route (a pattern) and method. A nil
// Metrics gives a nil *HTTPRoute, whose methods do nothing.
func (m *Metrics) HTTPRoute(route, method string) *HTTPRoute {
	if m == nil {
		return nil
	}
	h := &HTTPRoute{duration: m.httpDuration.WithLabelValues(route, method), inFlight: m.httpInFlight}
	for i, class := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		h.byClass[i] = m.httpRequests.WithLabelValues(route, method, class)
	}
	return h
}

// Start counts a request in flight.
func (h *HTTPRoute) Start() {
	if h != nil {
		h.inFlight.Inc()
	}
}

// Observe records an answered request started at start.
func (h *HTTPRoute) Observe(status int, start time.Time) {
	if h == nil {
		return
	}
	h.inFlight.Dec()
	c := status / 100
	if c < 1 || c > 5 {
		c = 0
	}
	h.byClass[c].Inc()
	h.duration.Observe(time.Since(start).Seconds())
}

// mode names livemode as a label value.
func mode(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

// OrderCreated counts a created order.
func (m *Metrics) OrderCreated(method, provider string, live bool) {
	if m != nil {
		m.ordersCreated.WithLabelValues(orEmpty(method), orEmpty(provider), mode(live)).Inc()
	}
}

// OrderFinished counts an order reaching a final status.
func (m *Metrics) OrderFinished(method, provider string, live bool, status string) {
	if m != nil {
		m.ordersFinished.WithLabelValues(orEmpty(method), orEmpty(provider), mode(live), status).Inc()
	}
}

func orEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ChannelCall records one call to a channel.
func (m *Metrics) ChannelCall(account, provider, operation, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.channelCalls.WithLabelValues(account, provider, operation, outcome).Inc()
	m.channelDuration.WithLabelValues(account, operation).Observe(took.Seconds())
}

// RiskRule is a fired rule as the metrics see it.
type RiskRule struct {
	Name, Action, Mode string
	Platform           bool
}

// RiskDecision counts a decision and the rules that fired in it.
func (m *Metrics) RiskDecision(decision string, fired []RiskRule) {
	if m == nil {
		return
	}
	m.riskDecisions.WithLabelValues(decision).Inc()
	for _, r := range fired {
		name := "merchant"
		if r.Platform {
			name = r.Name
		}
		m.riskRuleHits.WithLabelValues(name, r.Action, r.Mode).Inc()
	}
}

// WebhookAttempt records a webhook attempt's outcome (succeeded, retry,
// failed) and, when it reached the network, how long it took.
func (m *Metrics) WebhookAttempt(outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.webhookDeliveries.WithLabelValues(outcome).Inc()
	if took > 0 {
		m.webhookDuration.Observe(took.Seconds())
	}
}

// GroupCommit records one group-commit batch.
func (m *Metrics) GroupCommit(writers int, took time.Duration) {
	if m == nil {
		return
	}
	m.commitBatch.Observe(float64(writers))
	m.commitDuration.Observe(took.Seconds())
}

// JobRun records a scheduled job's run: when it was due, when it started
// and how long it took, and its error.
func (m *Metrics) JobRun(job string, due, started time.Time, took time.Duration, err error) {
	if m == nil {
		return
	}
	lag := 0.0
	if !due.IsZero() && started.After(due) {
		lag = started.Sub(due).Seconds()
	}
	m.jobLag.WithLabelValues(job).Set(lag)
	m.jobDuration.WithLabelValues(job).Observe(took.Seconds())
	if err != nil {
		m.jobRuns.WithLabelValues(job, "error").Inc()
		return
	}
	m.jobRuns.WithLabelValues(job, "ok").Inc()
	m.jobLastSuccess.WithLabelValues(job).Set(float64(started.Add(took).Unix()))
}

// Settled counts a settled merchant-day and its net amount.
func (m *Metrics) Settled(currency string, net int64) {
	if m == nil {
		return
	}
	m.settlements.WithLabelValues(currency).Inc()
	if net > 0 {
		m.settlementAmounts.WithLabelValues(currency).Add(float64(net))
	}
}

// LedgerVerified records a ledger verification: its problems, or that it
// could not run (problems < 0).
func (m *Metrics) LedgerVerified(at time.Time, problems int) {
	if m == nil {
		return
	}
	m.ledgerLastRun.Set(float64(at.Unix()))
	m.ledgerProblems.Set(float64(problems))
	if problems == 0 {
		m.ledgerLastOK.Set(1)
	} else {
		m.ledgerLastOK.Set(0)
	}
}
