package gateway

import (
	"log/slog"
	"net"
	"time"

	"github.com/paygate/paygate/internal/clock"
)

// DefaultRetrySchedule is the notification retry schedule of the API
// reference (docs/api.md), the default of notify_retry_schedule.
var DefaultRetrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// Config is everything `paygate serve` takes. The fields that are settings
// (flag, PAYGATE_* variable and config-file key) are described, with their
// defaults, once: in Settings. A zero field gets its setting's default when
// the gateway opens, so code that builds a Config by hand sets only what it
// changes.
type Config struct {
	// Addr is the listen address (setting addr); "127.0.0.1:0" picks a free port.
	Addr string
	// Database is "sqlite:<path>" or a postgres:// URL (setting database).
	Database string
	// PublicURL is how payers reach the gateway (setting public_url); empty:
	// http://localhost:<port of Addr>.
	PublicURL string
	// NotifyRetrySchedule is the delay before each notification retry
	// (setting notify_retry_schedule).
	NotifyRetrySchedule []time.Duration
	// NotifyTimeout bounds one notification attempt (setting notify_timeout).
	NotifyTimeout time.Duration
	// NotifyLease is how long a node holds the deliveries it claimed (setting
	// notify_lease); a lease shorter than NotifyTimeout is raised to NotifyTimeout+5s.
	NotifyLease time.Duration
	// NotifyConcurrency bounds the notification attempts in flight on this
	// node (setting notify_concurrency).
	NotifyConcurrency int
	// NotifyPerTarget bounds the attempts in flight to one webhook endpoint
	// or one notify_url host on this node (setting notify_per_target).
	NotifyPerTarget int
	// AdminToken is the operator token (setting admin_token); empty: generated
	// at first start, printed once, its hash kept.
	AdminToken string
	// MasterKey seals secrets at rest (setting master_key); empty with SQLite:
	// the key in "<database path>.masterkey", generated at first start.
	MasterKey string
	// OldMasterKeys are former master keys, comma-separated (setting
	// old_master_keys; default none): values they sealed still open, new
	// ones are sealed with MasterKey. Given during a master key rotation.
	OldMasterKeys string
	// NoDemo skips creating the demo merchant on an empty database (setting no_demo).
	NoDemo bool
	// Hosted says the gateway serves merchants from a machine they do not
	// own (setting hosted): test-mode notifications, like live ones, then go
	// to public addresses only, never to loopback, so a test key cannot make
	// the gateway call services on its own host. Off: local development and
	// the demo, where a test-mode notify_url or webhook endpoint may be
	// http://localhost:…. Private, link-local and metadata addresses are
	// refused either way.
	Hosted bool
	// WorkerInterval is how often background jobs run (setting worker_interval).
	WorkerInterval time.Duration
	// Simulators runs the WeChat Pay, Alipay and UnionPay simulators in the
	// process, on loopback, with a test-mode channel account each (setting
	// simulators): test orders of their methods then go through the real
	// protocols (the sandbox keeps "sandbox" and "card"). Without it, those
	// demo accounts are disabled at start, since nothing answers at their
	// addresses any more.
	Simulators bool
	// MicropayDeadline is how long a micropay may wait for its payer to
	// confirm before the worker reverses it (setting micropay_deadline).
	MicropayDeadline time.Duration
	// RiskRuleMaxCost, RiskMerchantRuleMaxCost and RiskMerchantMaxRules
	// bound risk rules (settings risk_rule_max_cost,
	// risk_merchant_rule_max_cost, risk_merchant_max_rules).
	RiskRuleMaxCost         int
	RiskMerchantRuleMaxCost int
	RiskMerchantMaxRules    int
	// LogLevel is debug, info, warn or error (setting log_level).
	LogLevel string
	// DunningSchedule is the delay before each retry of a subscription's
	// invoice whose charge failed (setting dunning_schedule).
	DunningSchedule []time.Duration
	// InvoiceClaim is how long a node holds an invoice it is collecting
	// (setting invoice_claim).
	InvoiceClaim time.Duration
	// RefundFeePolicy is what a refund does with its payment's fee (setting
	// refund_fee_policy): "keep" (the default) or "pro_rata".
	RefundFeePolicy string
	// SettleAt is the time of day, HH:MM in each merchant's time zone, after
	// which a merchant's due day is settled (setting settle_at, default 12:00).
	SettleAt string
	// ReconBillReady is when channels' bills are reconciled (setting
	// recon_bill_ready, default 10:00 the next day).
	ReconBillReady string
	// FXMarkupBps is the platform's markup on exchange rates (setting
	// fx_markup_bps); FXRatesURL, when set, a CSV feed of rates loaded every
	// FXRatesInterval (settings fx_rates_url, fx_rates_interval).
	FXMarkupBps     int
	FXRatesURL      string
	FXRatesInterval time.Duration
	// ProfitSharingReleaseAfter is how long after its payment an order
	// paid with profit sharing and never finished has its rest released
	// to the merchant (setting profit_sharing_release_after, default
	// 4320h: 180 days, WeChat Pay's limit).
	ProfitSharingReleaseAfter time.Duration

	// Version names this build on the home page (paygate version).
	Version string
	// Listener, when set, is the bound listener to serve on (Addr is then
	// ignored); otherwise Open binds Addr first of all.
	Listener net.Listener
	// NotifyManual leaves the notification dispatcher stopped; tests drive
	// Gateway.Notifier.RunOnce with a fake clock.
	NotifyManual bool
	// Clock is the time source. Default clock.Real; tests inject a clock.Fake.
	Clock clock.Clock
	// Logger receives the logs. Default: JSON on stderr at LogLevel.
	Logger *slog.Logger

	// RateLimits are the rate limits by class (setting rate_limits,
	// api.ParseRates).
	RateLimits string
	// RedisURL, when set, shares the rate limits through Redis (setting redis_url).
	RedisURL string
	// MaxInFlight and MaxQueueTime bound the requests served at once and
	// the wait for a slot (settings max_in_flight, default InFlightPerCPU
	// per CPU; max_queue_time, default 25ms).
	MaxInFlight  int
	MaxQueueTime time.Duration
	// ShedLatencyTarget is the scheduling latency past which the shedder
	// admits fewer (setting shed_latency_target; ratelimit.Adapter);
	// negative: off.
	ShedLatencyTarget time.Duration

	// AdminAddr is the operator listener's address (setting admin_addr):
	// /metrics and /debug/pprof/. Empty or "off": none (serve sets
	// DefaultAdminAddr when nothing sets it).
	AdminAddr string
	// LogFormat is json or text (setting log_format).
	LogFormat string
	// LedgerVerifyInterval is how often the ledger_verify job runs (setting
	// ledger_verify_interval); it runs only with metrics on.
	LedgerVerifyInterval time.Duration
	// NoMetrics turns the Prometheus metrics off (paygate bench --no-metrics
	// measures what they cost); the admin listener then serves pprof only.
	NoMetrics bool
	// AdminListener, when set, is the bound operator listener (AdminAddr is
	// then ignored).
	AdminListener net.Listener
}
