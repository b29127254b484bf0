package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/benchseed"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/loadgen"
	"github.com/paygate/paygate/internal/store/postgres"
)

// seedOptions are the history `paygate bench seed` and `bench scale` write.
type seedOptions struct {
	merchants, days, chunk int
}

func (o *seedOptions) flags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&o.merchants, "merchants", 1000, "seeded merchants (besides the demo merchant, which gets every tenth order)")
	cmd.Flags().IntVar(&o.days, "days", 365, "days of history, ending yesterday (UTC)")
	cmd.Flags().IntVar(&o.chunk, "chunk", 100_000, "orders per statement and transaction")
}

func (c cli) benchSeedCommand() *cobra.Command {
	var o seedOptions
	var orders int
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill a gateway's database with history (orders, refunds, events, deliveries, ledger) for measurements at scale",
		Long: `Fill the database of --database (the serve setting) with realistic history,
written straight into the store in set-based statements, not through the
API: orders of many merchants over many days in every final status
(85% succeeded, 10% closed, 5% failed), a refund of half of every
twentieth, each order's and refund's event with a delivered webhook, and
the ledger entries and balances the gateway would have written. Every
tenth order is the demo merchant's, so its keys see a busy history.

Seed an empty database (the demo merchant is created as by serve), then
start the gateway on it: paygate serve --database … . Seeding the same
database twice fails (the seeded ids exist).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, "database", "master_key")
			if err != nil {
				return err
			}
			cfg.Logger = quietLogger()
			cfg.Addr = "127.0.0.1:0"
			g, err := gateway.Open(cmd.Context(), cfg, c.stdout)
			if err != nil {
				return err
			}
			defer g.Shutdown(context.Background())
			start := time.Now()
			_, st, err := seedHistory(cmd.Context(), g, o, orders, c.stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "seeded %d orders (%d the demo merchant's), %d refunds, %d events, %d ledger entries in %.1fs\n",
				st.Orders, st.DemoOrders, st.Refunds, st.Events, st.Entries, time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().IntVar(&orders, "orders", 1_000_000, "orders to write")
	o.flags(cmd)
	bindSettings(cmd.Flags(), "database", "master_key")
	return cmd
}

// seedHistory writes orders of history into g's store, with a progress bar
// on w.
func seedHistory(ctx context.Context, g *gateway.Gateway, o seedOptions, orders int, w io.Writer) (benchseed.History, *benchseed.Stats, error) {
	x, ok := g.Store.(benchseed.Execer)
	if !ok {
		return benchseed.History{}, nil, fmt.Errorf("the store %T cannot run raw statements", g.Store)
	}
	demo, err := gateway.FindDemoApp(ctx, g.Store)
	if err != nil {
		return benchseed.History{}, nil, err
	}
	h := benchseed.History{
		Orders: orders, Merchants: o.merchants, Days: o.days, Chunk: o.chunk, FeeBps: 60,
		DemoMerchant: demo.MerchantID, DemoApp: demo.ID, DemoLive: demo.Livemode,
		ChannelAccount: channelaccount.SandboxAccountID,
	}
	bar := newProgress(w, "seed")
	h.End = time.Now().UTC().Truncate(24 * time.Hour)
	st, err := benchseed.Seed(ctx, x, h, bar.update)
	bar.done()
	return h, st, err
}

// progress is a one-line progress bar on a terminal or a log.
type progress struct {
	w     io.Writer
	what  string
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, start: time.Now()}
}

func (p *progress) update(done, total int) {
	if time.Since(p.last) < 500*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := 0
	if total > 0 {
		filled = width * done / total
	}
	el := time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %.0fs", p.what, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, el)
}

func (p *progress) done() { fmt.Fprintln(p.w) }

func (c cli) benchScaleCommand() *cobra.Command {
	var o seedOptions
	var sizes, database string
	var duration time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "Measure how the gateway's costs grow with its history",
		Long: `For each size of --orders (a comma-separated list, e.g. 0,1000000,10000000), start
a gateway on a fresh temporary database (--database sqlite, or a postgres://
URL where a temporary schema is made), seed that many orders of history
(see paygate bench seed), restart it, and measure: the time to start;
create-order throughput (closed loop, 64 clients, --duration); the latency
of reading an order by id and by out_trade_no, a first page of orders with
a status filter, a page deep in the history, the balance and a busy day's
statement; the time of ledger verify; and the database's size on disk.
Latencies are the median and 99th percentile of sequential requests over
loopback; figures of one run on a shared machine vary by a few percent.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ns []int
			for _, s := range strings.Split(sizes, ",") {
				n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
				if err != nil || n < 0 {
					return usagef("--orders: %q is not a number of orders", s)
				}
				ns = append(ns, n)
			}
			var rows []*scaleResult
			for _, n := range ns {
				r, err := c.measureScale(cmd.Context(), database, n, o, duration)
				if err != nil {
					return err
				}
				rows = append(rows, r)
				if !asJSON {
					fmt.Fprintf(c.stderr, "%d orders measured\n", n)
				}
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(rows)
			}
			printScale(c.stdout, rows)
			return nil
		},
	}
	cmd.Flags().StringVar(&sizes, "orders", "0,1000000", "sizes of history to measure, comma-separated")
	cmd.Flags().StringVar(&database, "database", "sqlite", `"sqlite" or a postgres:// URL (a temporary schema is made in it)`)
	cmd.Flags().DurationVar(&duration, "duration", 5*time.Second, "how long to load create-order at each size")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	o.flags(cmd)
	return cmd
}

// scaleResult is one size's measurements; durations in milliseconds.
type scaleResult struct {
	Orders        int                   `json:"orders"`
	SeedSeconds   float64               `json:"seed_seconds"`
	StartMS       float64               `json:"start_ms"`
	CreatePerSec  float64               `json:"create_per_second"`
	Latency       map[string][2]float64 `json:"latency_ms"` // p50, p99
	VerifySeconds float64               `json:"ledger_verify_seconds"`
	SizeMB        float64               `json:"size_mb"`
}

// scaleOps are the measured reads, in the order they are printed.
var scaleOps = []string{"order by id", "order by out_trade_no", "list, status filter", "list, deep cursor", "balance", "statement of a busy day"}

func (c cli) measureScale(ctx context.Context, database string, n int, o seedOptions, d time.Duration) (*scaleResult, error) {
	cfg, cleanup, err := tempDatabase(ctx, database)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	res := &scaleResult{Orders: n, Latency: map[string][2]float64{}}

	// First start: the demo merchant, then the history.
	g, err := gateway.Open(ctx, cfg, io.Discard)
	if err != nil {
		return nil, err
	}
	secret := g.Demo.SecretKey
	t0 := time.Now()
	h, st, err := seedHistory(ctx, g, o, n, c.stderr)
	if err != nil {
		g.Shutdown(ctx)
		return nil, err
	}
	res.SeedSeconds = time.Since(t0).Seconds()
	if err := g.Shutdown(ctx); err != nil {
		return nil, err
	}

	// The start measured: open (migrations checked, recovery) and listen.
	t0 = time.Now()
	g, stop, err := serveGateway(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer stop()
	res.StartMS = ms(time.Since(t0))

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	cl, err := client.New(g.URL(), client.WithSecretKey(secret), client.WithHTTPClient(hc))
	if err != nil {
		return nil, err
	}
	// Targets: seeded demo orders when there are any, else a few of our own.
	var ids, outs []string
	if st.DemoOrders > 0 {
		for range 200 {
			i := rand.Int64N(st.DemoOrders) * 10
			ids, outs = append(ids, h.OrderID(i)), append(outs, "H"+strconv.FormatInt(i, 10))
		}
	} else {
		for i := range 20 {
			ord, err := cl.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: fmt.Sprintf("scale-%d", i), Amount: 100, Currency: "CNY", Subject: "scale", Method: "sandbox"})
			if err != nil {
				return nil, err
			}
			ids, outs = append(ids, ord.ID), append(outs, ord.OutTradeNo)
		}
	}
	deep := st.DeepOrder
	if deep == "" {
		deep = ids[len(ids)-1]
	}
	day := st.BusiestDemoDay
	if day == "" {
		day = time.Now().UTC().Format(time.DateOnly)
	}
	ops := map[string]func(i int) error{
		"order by id": func(i int) error { _, err := cl.GetOrder(ctx, ids[i%len(ids)]); return err },
		"order by out_trade_no": func(i int) error {
			_, err := cl.GetOrderByOutTradeNo(ctx, outs[i%len(outs)])
			return err
		},
		"list, status filter": func(int) error {
			_, err := cl.ListOrders(ctx, client.ListParams{Limit: 100, Status: "failed"})
			return err
		},
		"list, deep cursor": func(int) error {
			_, err := cl.ListOrders(ctx, client.ListParams{Limit: 100, StartingAfter: deep})
			return err
		},
		"balance": func(int) error { _, err := cl.GetBalance(ctx); return err },
		"statement of a busy day": func(int) error {
			return fetchStatement(ctx, hc, g.URL(), secret, day)
		},
	}
	for _, name := range scaleOps {
		reps := 200
		if name == "statement of a busy day" {
			reps = 10
		}
		p50, p99, err := timeOp(reps, ops[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		res.Latency[name] = [2]float64{p50, p99}
	}

	lr, err := loadgen.Run(ctx, loadgen.Config{URL: g.URL(), SecretKey: secret, Scenario: "create", Concurrency: 64, Duration: d})
	if err != nil {
		return nil, err
	}
	res.CreatePerSec = lr.RPS

	t0 = time.Now()
	rep, err := g.Store.LedgerVerify(ctx)
	if err != nil {
		return nil, err
	}
	res.VerifySeconds = time.Since(t0).Seconds()
	if !rep.Clean() {
		return nil, fmt.Errorf("ledger verify after seeding %d orders: %+v", n, rep)
	}
	res.SizeMB, err = databaseSizeMB(ctx, cfg)
	return res, err
}

// timeOp runs op reps times in a row and returns the median and 99th
// percentile latency in milliseconds.
func timeOp(reps int, op func(int) error) (float64, float64, error) {
	lat := make([]float64, 0, reps)
	for i := range reps {
		t0 := time.Now()
		if err := op(i); err != nil {
			return 0, 0, err
		}
		lat = append(lat, ms(time.Since(t0)))
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fetchStatement reads a day's trades statement to its end.
func fetchStatement(ctx context.Context, hc *http.Client, base, secret, day string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/statements/"+day+"?type=trades", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || n == 0 {
		return fmt.Errorf("statement of %s: status %d, %d bytes", day, resp.StatusCode, n)
	}
	return nil
}

// databaseSizeMB is the size on disk of cfg's database: SQLite's files, or
// the tables and indexes of the PostgreSQL schema.
func databaseSizeMB(ctx context.Context, cfg gateway.Config) (float64, error) {
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok {
		var total int64
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if fi, err := os.Stat(path + suffix); err == nil {
				total += fi.Size()
			}
		}
		return float64(total) / (1 << 20), nil
	}
	db, err := sql.Open("pgx", postgres.ServerURL(cfg.Database))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var size int64
	err = db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&size)
	return float64(size) / (1 << 20), err
}

func printScale(w io.Writer, rows []*scaleResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "orders\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t", r.Orders)
	}
	fmt.Fprintln(tw)
	line := func(name string, f func(*scaleResult) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t", f(r))
		}
		fmt.Fprintln(tw)
	}
	line("seed (s)", func(r *scaleResult) string { return fmt.Sprintf("%.1f", r.SeedSeconds) })
	line("start (ms)", func(r *scaleResult) string { return fmt.Sprintf("%.0f", r.StartMS) })
	line("create (/s)", func(r *scaleResult) string { return fmt.Sprintf("%.0f", r.CreatePerSec) })
	for _, op := range scaleOps {
		line(op+" p50/p99 (ms)", func(r *scaleResult) string {
			l := r.Latency[op]
			return fmt.Sprintf("%.2f/%.2f", l[0], l[1])
		})
	}
	line("ledger verify (s)", func(r *scaleResult) string { return fmt.Sprintf("%.2f", r.VerifySeconds) })
	line("size on disk (MB)", func(r *scaleResult) string { return fmt.Sprintf("%.0f", r.SizeMB) })
	tw.Flush()
}
