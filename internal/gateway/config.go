package gateway

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/clock"
)

// DefaultRetrySchedule is the notification retry schedule of API.md.
var DefaultRetrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// Config is everything `paygate serve` takes. Each field is a flag and a
// PAYGATE_* environment variable (see cmd/paygate).
type Config struct {
	// Addr is the listen address. Default ":8080"; "127.0.0.1:0" picks a free port.
	Addr string
	// Database is "sqlite:<path>" (default "sqlite:paygate.db") or a postgres:// URL.
	Database string
	// PublicURL is how payers reach the gateway (cashier links). Default http://localhost<port of Addr>.
	PublicURL string
	// NotifyRetrySchedule is the delay before each notification retry. Default DefaultRetrySchedule.
	NotifyRetrySchedule []time.Duration
	// NotifyTimeout bounds one notification attempt: a 2xx within it acknowledges. Default 10s.
	NotifyTimeout time.Duration
	// NotifyLease is how long a node holds the deliveries it claimed; after a
	// crash they are delivered again once it runs out. It must exceed
	// NotifyTimeout (a shorter one is raised to NotifyTimeout+5s). Default 60s.
	NotifyLease time.Duration
	// NotifyConcurrency bounds the notification attempts in flight on this node. Default 32.
	NotifyConcurrency int
	// NotifyPerTarget bounds the attempts in flight to one webhook endpoint
	// or one app's notify_url host on this node. Default 4.
	NotifyPerTarget int
	// NotifyManual leaves the notification dispatcher stopped; tests drive
	// Gateway.Notifier.RunOnce with a fake clock.
	NotifyManual bool
	// AdminToken is the operator token. Default: generated at first start, printed once, its hash kept.
	AdminToken string
	// MasterKey (64 hex digits or base64 of 32 bytes) seals secrets at rest. Default for SQLite: generated
	// into "<database path>.masterkey" (mode 0600); required for PostgreSQL.
	MasterKey string
	// NoDemo skips creating the demo merchant on an empty database.
	NoDemo bool
	// Hosted says the gateway serves merchants from a machine they do not
	// own (a platform for many merchants): test-mode notifications, like
	// live ones, then go to public addresses only, never to loopback, so a
	// test key cannot make the gateway call services on its own host.
	// Default false: local development and the demo, where a test-mode
	// notify_url or webhook endpoint may be http://localhost:…. Private,
	// link-local and metadata addresses are refused either way.
	Hosted bool
	// WorkerInterval is how often background jobs run. Default 5s.
	WorkerInterval time.Duration
	// Simulators runs the WeChat Pay, Alipay and UnionPay simulators in the
	// process, on loopback, with a test-mode channel account each: test
	// orders of their methods then go through the real protocols (the
	// sandbox keeps "sandbox" and "card"). For the demo and integration work.
	Simulators bool
	// MicropayDeadline is how long a micropay may wait for its payer to
	// confirm before the worker reverses it. Default 60s.
	MicropayDeadline time.Duration
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// Clock is the time source. Default clock.Real; tests inject a clock.Fake.
	Clock clock.Clock
	// Logger receives the JSON logs. Default: stderr at LogLevel.
	Logger *slog.Logger
}

// ParseSchedule parses a comma-separated list of durations ("15s,15s,30s,3m").
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("notify retry schedule: %q is not a positive duration", part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("notify retry schedule is empty")
	}
	return out, nil
}
