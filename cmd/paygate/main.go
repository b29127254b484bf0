// Command paygate is the Paygate payment gateway: one binary that serves the
// API (serve), migrates the database (migrate) and checks the ledger
// (ledger verify), loads a gateway (bench) and plays a channel (sim). See README.md and API.md "Running it".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // merchant time zones work on machines without zoneinfo

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store/sqlite"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: paygate <command> [flags]

commands:
  serve          start the gateway (creates a demo merchant on an empty database)
  migrate        bring the database schema up to date
  ledger verify  check that every journal entry balances and every balance equals its entries
  bench          load a gateway (or a temporary one) and report throughput and latency
  sim            run a channel simulator: paygate sim wechatpay|alipay|unionpay

Run "paygate <command> -h" for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stdout, stderr)
	case "bench":
		err = bench(ctx, args[1:], stdout, stderr)
	case "sim":
		err = simulate(ctx, args[1:], stdout, stderr)
	case "ledger":
		if len(args) < 2 || args[1] != "verify" {
			fmt.Fprint(stderr, "usage: paygate ledger verify [--database …]\n")
			return 2
		}
		return ledgerVerify(ctx, args[2:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "paygate: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "paygate: %v\n", err)
		return 1
	}
	return 0
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}

// envDuration returns the duration in the environment variable name, or def
// when it is unset or not a duration.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// envInt returns the integer in the environment variable name, or def when
// it is unset or not an integer.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// databaseFlag registers --database on fs.
func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database", env("PAYGATE_DATABASE", "sqlite:paygate.db"), "sqlite:<path> or a postgres:// URL (PAYGATE_DATABASE)")
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	tuneGC()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg gateway.Config
	fs.StringVar(&cfg.Addr, "addr", env("PAYGATE_ADDR", ":8080"), "listen address (PAYGATE_ADDR)")
	db := databaseFlag(fs)
	fs.StringVar(&cfg.PublicURL, "public-url", env("PAYGATE_PUBLIC_URL", ""), "how payers reach the cashier (PAYGATE_PUBLIC_URL); default http://localhost:<port>")
	schedule := fs.String("notify-retry-schedule", env("PAYGATE_NOTIFY_RETRY_SCHEDULE", "15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h"), "notification retry delays (PAYGATE_NOTIFY_RETRY_SCHEDULE)")
	fs.BoolVar(&cfg.NoDemo, "no-demo", envBool("PAYGATE_NO_DEMO"), "do not create the demo merchant on an empty database (PAYGATE_NO_DEMO)")
	fs.BoolVar(&cfg.Hosted, "hosted", envBool("PAYGATE_HOSTED"), "the gateway serves merchants from a machine they do not own: test-mode notifications go to public addresses only, never loopback (PAYGATE_HOSTED)")
	fs.BoolVar(&cfg.Simulators, "simulators", envBool("PAYGATE_SIMULATORS"), "run the WeChat Pay, Alipay and UnionPay simulators in the process and route test orders of their methods through them (PAYGATE_SIMULATORS)")
	fs.StringVar(&cfg.LogLevel, "log-level", env("PAYGATE_LOG_LEVEL", "info"), "debug, info, warn or error (PAYGATE_LOG_LEVEL)")
	fs.DurationVar(&cfg.WorkerInterval, "worker-interval", 5*time.Second, "how often background jobs run")
	fs.DurationVar(&cfg.NotifyTimeout, "notify-timeout", envDuration("PAYGATE_NOTIFY_TIMEOUT", 10*time.Second), "how long a notification attempt may take; a 2xx within it acknowledges (PAYGATE_NOTIFY_TIMEOUT)")
	fs.DurationVar(&cfg.NotifyLease, "notify-lease", envDuration("PAYGATE_NOTIFY_LEASE", 60*time.Second), "how long a node holds claimed deliveries; after a crash they are sent again once it ends (PAYGATE_NOTIFY_LEASE)")
	fs.IntVar(&cfg.NotifyConcurrency, "notify-concurrency", envInt("PAYGATE_NOTIFY_CONCURRENCY", 32), "notification attempts in flight per node (PAYGATE_NOTIFY_CONCURRENCY)")
	fs.IntVar(&cfg.NotifyPerTarget, "notify-per-target", envInt("PAYGATE_NOTIFY_PER_TARGET", 4), "notification attempts in flight per endpoint or notify host, per node (PAYGATE_NOTIFY_PER_TARGET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Database = *db
	cfg.AdminToken = os.Getenv("PAYGATE_ADMIN_TOKEN")
	cfg.MasterKey = os.Getenv("PAYGATE_MASTER_KEY")
	var err error
	if cfg.NotifyRetrySchedule, err = gateway.ParseSchedule(*schedule); err != nil {
		return err
	}
	g, err := gateway.Open(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	if err := g.Listen(); err != nil {
		g.Store.Close()
		return err
	}
	fmt.Fprintf(stdout, "paygate listening on %s (%s)\n", g.Addr(), g.Payments.PublicURL)
	if !strings.HasPrefix(cfg.Database, "postgres") {
		fmt.Fprintf(stdout, "store: %s\n", sqlite.Driver)
	}
	return g.Serve(ctx)
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := databaseFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := gateway.OpenStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "schema is up to date")
	return nil
}

func ledgerVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledger verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := databaseFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	st, err := gateway.OpenStore(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "paygate: %v\n", err)
		return 1
	}
	defer st.Close()
	rep, err := st.LedgerVerify(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "paygate: ledger verify: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "entries: %d, lines: %d\n", rep.Entries, rep.Lines)
	for _, group := range []struct {
		name  string
		items []string
	}{{"unbalanced entries", rep.UnbalancedEntries}, {"balance mismatches", rep.BalanceMismatches}, {"missing or stray entries", rep.MissingEntries}} {
		for _, s := range group.items {
			fmt.Fprintf(stdout, "%s: %s\n", group.name, s)
		}
	}
	if !rep.Clean() {
		fmt.Fprintln(stdout, "ledger verify: FAILED")
		return 1
	}
	fmt.Fprintln(stdout, "ledger verify: ok")
	return 0
}
