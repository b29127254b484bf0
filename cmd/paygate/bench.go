package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/paygate/paygate/internal/store/postgres"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/loadgen"
	"github.com/paygate/paygate/internal/risk"
)

func (c cli) benchCommand() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a gateway (or a temporary one) and report throughput and latency",
		Long: `Load a gateway: the one at --url (with --key, or --signed with an HMAC key), or
one it starts on a temporary database. It prints the successful requests
per second, the failures by code with the first message of each, and
latency percentiles of the successful requests.

A request counts only when it succeeds (2xx; in the cycle scenario, when
its webhook arrives with a valid signature). Before the run, one request
checks that the gateway answers and takes the key. Exit status: 0, or 1
when no request succeeded or more than half of them failed.

The flags are options of this run, not settings: they have no environment
variables.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return c.bench(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.cfg.URL, "url", "", "gateway to load; empty: start one on a temporary database")
	f.StringVar(&o.cfg.SecretKey, "key", "", "Bearer secret key (with --url)")
	f.StringVar(&o.cfg.AppID, "app-id", "", "sign requests with HMAC-SHA256: app id (with --url and --signed)")
	f.StringVar(&o.cfg.KeyID, "key-id", "", "signing key id (with --url and --signed)")
	f.StringVar(&o.cfg.HMACSecret, "hmac-secret", "", "signing key secret (with --url and --signed)")
	f.StringVar(&o.cfg.WebhookSecret, "webhook-secret", "", "the app's whsec_ secret, to verify webhooks in the cycle scenario (required with --url)")
	f.BoolVar(&o.signed, "signed", false, "sign requests with the app's HMAC key instead of the Bearer key")
	f.StringVar(&o.database, "database", "sqlite", `temporary gateway's store: "sqlite" or a postgres:// URL (a temporary schema is made in it)`)
	f.StringVar(&o.cfg.Scenario, "scenario", "create", "create, query, mixed or cycle")
	f.IntVar(&o.cfg.Concurrency, "concurrency", 64, "requests in flight (closed loop)")
	f.IntVar(&o.cfg.Rate, "rate", 0, "requests per second (open loop); 0 for closed loop")
	f.DurationVar(&o.cfg.Duration, "duration", 10*time.Second, "how long to run")
	f.BoolVar(&o.floor, "floor", false, "also load a bare Go HTTP server (JSON decode, one HMAC, JSON encode) the same way and print the ratio")
	f.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	f.IntVar(&o.perTarget, "notify-per-target", 0, "temporary gateway: notification attempts in flight per endpoint (default as serve)")
	f.IntVar(&o.notifyConc, "notify-concurrency", 0, "temporary gateway: notification attempts in flight (default as serve)")
	f.IntVar(&o.riskRules, "risk-rules", 0, "temporary gateway: enforce this many of the 20 benchmark risk rules (internal/risk.BenchmarkRules; ten use counters), 0 to 20")
	f.IntVar(&o.cfg.Payers, "payers", 0, "give each order a payer (id, IP, device) drawn from this many, so risk counters see real histories; 0: no payer")
	f.BoolVar(&o.noMetrics, "no-metrics", false, "temporary gateway: turn the Prometheus metrics off (to measure what they cost)")
	f.StringVar(&o.rateLimits, "gateway-rate-limits", "", "temporary gateway: its rate_limits (e.g. create=500/s to show overload: run --rate above it); default: no limits, to measure the gateway rather than the limiter")
	f.IntVar(&o.maxInFlight, "gateway-max-in-flight", 0, "temporary gateway: its max_in_flight (default 8192: a closed loop is never shed)")
	f.DurationVar(&o.maxQueueTime, "gateway-max-queue-time", 0, "temporary gateway: its max_queue_time (default 1s)")
	f.DurationVar(&o.shedTarget, "gateway-shed-latency-target", 0, "temporary gateway: its shed_latency_target (default off, so that a closed loop is never shed)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole process (gateway and load) to this file")
	cmd.AddCommand(c.benchSeedCommand(), c.benchScaleCommand(), c.benchSoakCommand())
	return cmd
}

type benchOptions struct {
	cfg                   loadgen.Config
	signed, floor, asJSON bool
	database, cpuProfile  string
	perTarget, notifyConc int
	riskRules             int
	noMetrics             bool
	rateLimits            string
	maxInFlight           int
	maxQueueTime          time.Duration
	shedTarget            time.Duration
}

// bench runs the load generator against a gateway: the one at --url, or one
// it starts on a temporary database (SQLite by default; a fresh schema of
// --database when that is a postgres:// URL).
func (c cli) bench(ctx context.Context, o benchOptions) error {
	tuneGC()
	cfg := o.cfg
	if cfg.Concurrency < 1 || cfg.Rate < 0 || cfg.Duration <= 0 {
		return usagef("--concurrency must be 1 or more, --rate 0 or more and --duration positive")
	}
	if !o.asJSON {
		cfg.Progress = c.stderr
	}
	if o.riskRules < 0 || o.riskRules > len(risk.BenchmarkRules) || (o.riskRules > 0 && cfg.URL != "") {
		return usagef("--risk-rules must be 0 to %d, and only with a temporary gateway (no --url)", len(risk.BenchmarkRules))
	}
	if cfg.URL == "" {
		g, stop, err := startTempGateway(ctx, o)
		if err != nil {
			return err
		}
		defer stop()
		for _, r := range risk.BenchmarkRules[:o.riskRules] {
			name, expr := r.Name, r.Expression
			if _, err := g.Risk.CreateRule(ctx, risk.Platform, risk.RuleParams{Name: &name, Expression: &expr}); err != nil {
				return fmt.Errorf("risk rule %s: %w", name, err)
			}
		}
		cfg.URL, cfg.SecretKey, cfg.WebhookSecret = g.URL(), g.Demo.SecretKey, g.Demo.WebhookSecret
		if o.signed {
			cfg.AppID, cfg.KeyID, cfg.HMACSecret = g.Demo.App.ID, g.Demo.SigningKey.ID, g.Demo.SigningSecret
		}
	} else if cfg.SecretKey == "" && cfg.HMACSecret == "" {
		return usagef("--url needs --key (or --signed with --app-id, --key-id, --hmac-secret)")
	} else if cfg.Scenario == "cycle" && cfg.WebhookSecret == "" {
		return usagef("--scenario cycle with --url needs --webhook-secret (the app's whsec_ secret): each cycle waits for its webhook and verifies it")
	}
	if !o.signed {
		cfg.AppID, cfg.KeyID, cfg.HMACSecret = "", "", ""
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	res, err := loadgen.Run(ctx, cfg)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	out := map[string]any{"gateway": res}
	if o.floor && !res.Failing() {
		url, stop, err := loadgen.StartFloor()
		if err != nil {
			return err
		}
		fcfg := cfg
		fcfg.URL, fcfg.Scenario, fcfg.HMACSecret, fcfg.NoPreflight = url, "create", "", true
		fres, err := loadgen.Run(ctx, fcfg)
		stop()
		if err != nil {
			return err
		}
		out["floor"] = fres
		out["ratio"] = res.RPS / fres.RPS
	}
	out["peak_rss_mb"] = peakRSSMB()
	if o.asJSON {
		if err := json.NewEncoder(c.stdout).Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "gateway  %s\n", res)
		if f, ok := out["floor"].(*loadgen.Result); ok {
			fmt.Fprintf(c.stdout, "floor    %s\n", f)
			fmt.Fprintf(c.stdout, "ratio    %.1f%% of the floor\n", 100*out["ratio"].(float64))
		}
		fmt.Fprintf(c.stdout, "peak RSS %.0f MB (this process: the gateway when it started one, and the load)\n", out["peak_rss_mb"])
	}
	if res.Failing() {
		fmt.Fprintf(c.stderr, "paygate bench: the run failed: %s\n", res.Explain())
		return exitError{exitFailed}
	}
	return nil
}

// peakRSSMB is this process's peak resident memory (VmHWM), 0 when unknown.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// unlimitedRates lifts every rate limit.
const unlimitedRates = "create=unlimited,read=unlimited,refund=unlimited,admin=unlimited,callback_ip=unlimited,oauth_ip=unlimited,cashier_ip=unlimited"

// startTempGateway starts a gateway on a throwaway database and returns it
// with a function that stops it and removes the database.
func startTempGateway(ctx context.Context, o benchOptions) (*gateway.Gateway, func(), error) {
	cfg, cleanup, err := tempDatabase(ctx, o.database)
	if err != nil {
		return nil, nil, err
	}
	cfg.NotifyPerTarget, cfg.NotifyConcurrency, cfg.NoMetrics = o.perTarget, o.notifyConc, o.noMetrics
	if o.maxInFlight > 0 {
		cfg.MaxInFlight = o.maxInFlight
	}
	if o.maxQueueTime > 0 {
		cfg.MaxQueueTime = o.maxQueueTime
	}
	if o.shedTarget != 0 {
		cfg.ShedLatencyTarget = o.shedTarget
	}
	if o.rateLimits != "" {
		cfg.RateLimits = o.rateLimits
	}
	g, stop, err := serveGateway(ctx, cfg)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return g, func() { stop(); cleanup() }, nil
}

// tempDatabase makes a throwaway database: a SQLite file in a temporary
// directory, or a fresh schema of database when that is a postgres:// URL.
// It returns a gateway configuration on it (loopback, any port, warnings
// only) and a function that removes the database.
func tempDatabase(ctx context.Context, database string) (gateway.Config, func(), error) {
	dir, err := os.MkdirTemp("", "paygate-bench")
	if err != nil {
		return gateway.Config{}, nil, err
	}
	cleanup := []func(){func() { os.RemoveAll(dir) }}
	removeAll := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	cfg := gateway.Config{Addr: "127.0.0.1:0", Database: "sqlite:" + filepath.Join(dir, "bench.db"), Logger: quietLogger(),
		// The benchmarks measure the gateway, not its limiter: no rate
		// limits unless asked (bench --gateway-rate-limits shows overload),
		// and a bound on requests in flight above any --concurrency, so
		// that a closed loop is queued rather than shed (bench
		// --gateway-max-in-flight shows shedding).
		RateLimits: unlimitedRates, MaxInFlight: 8192, MaxQueueTime: time.Second, ShedLatencyTarget: -1}
	if strings.HasPrefix(database, "postgres") {
		b := make([]byte, 6)
		rand.Read(b)
		schema := "paygate_bench_" + hex.EncodeToString(b)
		db, err := sql.Open("pgx", postgres.ServerURL(database)) // a pool setting, not the server's
		if err != nil {
			removeAll()
			return gateway.Config{}, nil, err
		}
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			db.Close()
			removeAll()
			return gateway.Config{}, nil, err
		}
		cleanup = append(cleanup, func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
		sep := "?"
		if strings.Contains(database, "?") {
			sep = "&"
		}
		cfg.Database = database + sep + "search_path=" + schema
		key := make([]byte, 32)
		rand.Read(key)
		cfg.MasterKey = hex.EncodeToString(key)
	} else if database != "sqlite" {
		removeAll()
		return gateway.Config{}, nil, usagef(`--database must be "sqlite" or a postgres:// URL, not %q`, database)
	}
	return cfg, removeAll, nil
}

// serveGateway opens the gateway of cfg and serves it until the returned
// function is called.
func serveGateway(ctx context.Context, cfg gateway.Config) (*gateway.Gateway, func(), error) {
	g, err := gateway.Open(ctx, cfg, io.Discard)
	if err != nil {
		return nil, nil, err
	}
	if err := g.Listen(); err != nil {
		g.Shutdown(ctx)
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Serve(sctx); close(done) }()
	return g, func() { cancel(); <-done }, nil
}

// quietLogger logs warnings and errors to stderr.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
