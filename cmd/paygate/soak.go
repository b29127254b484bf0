package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/loadgen"
)

func (c cli) benchSoakCommand() *cobra.Command {
	var o soakOptions
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Run the mixed scenario for a long time and print a line of figures per minute",
		Long: `Start a gateway on a temporary database and load it with the mixed scenario
(70% reads, 30% creates, every third create paid at once) in an open loop
at --rate (default: half of the rate a 10-second closed-loop run reaches),
with each order's notify_url at a local receiver that answers 500 to
--fail-share of the webhooks, so deliveries are retried.

Every --every it prints: successful requests per second, failures, p50
and p99 latency of that window; the process's resident memory, Go heap
in use and goroutines (the process holds the gateway and the load); the
database's size and its write-ahead log; the webhook backlog (deliveries
pending) and the age of the oldest one that is due. The heap is given
twice: in use at the moment (it saws with the collector) and live after
the last collection (what a leak grows). --heap-profiles DIR writes a
heap profile at every line, to compare two minutes with
go tool pprof -base DIR/heap-001.pb.gz DIR/heap-030.pb.gz. Lines that stay flat
are the expected result; memory, goroutines, p99 or a backlog that grow
minute after minute are a leak or a falling-behind to look into.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return c.soak(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.database, "database", "sqlite", `"sqlite" or a postgres:// URL (a temporary schema is made in it)`)
	f.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to run")
	f.DurationVar(&o.every, "every", time.Minute, "how often to print a line")
	f.IntVar(&o.rate, "rate", 0, "requests per second; 0: half the rate a 10 s closed-loop run reaches")
	f.Float64Var(&o.failShare, "fail-share", 0.1, "share of webhooks the receiver answers 500")
	f.BoolVar(&o.asJSON, "json", false, "print each line as a JSON object")
	f.StringVar(&o.heapProfiles, "heap-profiles", "", "write a heap profile to this directory at every line (heap-001.pb.gz, …)")
	return cmd
}

type soakOptions struct {
	database        string
	duration, every time.Duration
	rate            int
	heapProfiles    string
	failShare       float64
	asJSON          bool
}

// soakLine is one window of a soak.
type soakLine struct {
	Minute      float64 `json:"minute"`
	OKPerSecond float64 `json:"ok_per_second"`
	Failed      uint64  `json:"failed"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	RSSMB       float64 `json:"rss_mb"`
	HeapMB      float64 `json:"heap_mb"`
	LiveMB      float64 `json:"live_heap_mb"`
	Goroutines  int     `json:"goroutines"`
	DatabaseMB  float64 `json:"database_mb"`
	WALMB       float64 `json:"wal_mb"`
	Backlog     int64   `json:"backlog"`
	OldestDueS  float64 `json:"oldest_due_seconds"`
	Webhooks    uint64  `json:"webhooks_received"`
}

func (c cli) soak(ctx context.Context, o soakOptions) error {
	tuneGC()
	if o.duration <= 0 || o.every <= 0 || o.rate < 0 || o.failShare < 0 || o.failShare > 1 {
		return usagef("--duration and --every must be positive, --rate 0 or more, --fail-share 0 to 1")
	}
	cfg, cleanup, err := tempDatabase(ctx, o.database)
	if err != nil {
		return err
	}
	defer cleanup()
	g, stop, err := serveGateway(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	hookURL, received, closeHook, err := flakyReceiver(o.failShare)
	if err != nil {
		return err
	}
	defer closeHook()

	lc := loadgen.Config{URL: g.URL(), SecretKey: g.Demo.SecretKey, Scenario: "mixed", PayEvery: 3, NotifyURL: hookURL, Concurrency: 64}
	rate := o.rate
	if rate == 0 {
		probe := lc
		probe.Duration = 10 * time.Second
		res, err := loadgen.Run(ctx, probe)
		if err != nil {
			return err
		}
		rate = max(1, int(res.RPS/2))
		fmt.Fprintf(c.stderr, "closed loop reached %.0f/s; soaking at %d/s for %s\n", res.RPS, rate, o.duration)
	}
	lc.Rate, lc.Duration, lc.Window = rate, o.duration, o.every
	lc.OnWindow = func(w loadgen.Window) {
		line := c.soakSample(ctx, g, cfg, w, o.every)
		line.Webhooks = received.Load()
		if o.heapProfiles != "" {
			if err := writeHeapProfile(filepath.Join(o.heapProfiles, fmt.Sprintf("heap-%03d.pb.gz", int(line.Minute*60/o.every.Seconds()+0.5)))); err != nil {
				fmt.Fprintln(c.stderr, "soak: heap profile:", err)
			}
		}
		if o.asJSON {
			json.NewEncoder(c.stdout).Encode(line)
			return
		}
		if w.Elapsed <= o.every+time.Second {
			fmt.Fprintln(c.stdout, "minute   ok/s  failed  p50 ms  p99 ms  rss MB  heap MB  live MB  goroutines  db MB  wal MB  backlog  oldest due s  webhooks")
		}
		fmt.Fprintf(c.stdout, "%6.1f %6.0f %7d %7.2f %7.2f %7.0f %8.1f %8.1f %11d %6.0f %7.1f %8d %13.1f %9d\n",
			line.Minute, line.OKPerSecond, line.Failed, line.P50, line.P99, line.RSSMB, line.HeapMB, line.LiveMB, line.Goroutines,
			line.DatabaseMB, line.WALMB, line.Backlog, line.OldestDueS, line.Webhooks)
	}
	res, err := loadgen.Run(ctx, lc)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "soak     %s\n", res)
	if res.Failing() {
		return exitError{exitFailed}
	}
	return nil
}

// soakSample reads the process's and the database's figures for one window.
func (c cli) soakSample(ctx context.Context, g *gateway.Gateway, cfg gateway.Config, w loadgen.Window, every time.Duration) soakLine {
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	line := soakLine{Minute: w.Elapsed.Minutes(), OKPerSecond: float64(w.OK) / every.Seconds(), Failed: w.Failed,
		P50: w.P50, P99: w.P99, RSSMB: procStatusMB("VmRSS:"), HeapMB: float64(mem.HeapInuse) / (1 << 20),
		Goroutines: runtime.NumGoroutine(), Backlog: -1, OldestDueS: -1, WALMB: -1}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() == metrics.KindUint64 {
		line.LiveMB = float64(live[0].Value.Uint64()) / (1 << 20)
	}
	line.DatabaseMB, _ = databaseSizeMB(ctx, cfg)
	q, ok := g.Store.(interface {
		QueryRawInt64(ctx context.Context, query string, args ...any) (int64, error)
	})
	if !ok {
		return line
	}
	if n, err := q.QueryRawInt64(ctx, `SELECT COUNT(*) FROM deliveries WHERE status = 'pending'`); err == nil {
		line.Backlog = n
	}
	now := time.Now().UnixMicro()
	if due, err := q.QueryRawInt64(ctx, `SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?`, now); err == nil {
		line.OldestDueS = 0
		if due > 0 {
			line.OldestDueS = float64(now-due) / 1e6
		}
	}
	if path, isSQLite := strings.CutPrefix(cfg.Database, "sqlite:"); isSQLite {
		if fi, err := os.Stat(path + "-wal"); err == nil {
			line.WALMB = float64(fi.Size()) / (1 << 20)
		}
	} else if n, err := q.QueryRawInt64(ctx, `SELECT COALESCE(SUM(size), 0) FROM pg_ls_waldir()`); err == nil {
		line.WALMB = float64(n) / (1 << 20) // the server's whole WAL directory (superuser or pg_monitor)
	}
	return line
}

// writeHeapProfile writes the heap profile (as of the last collection)
// to path, making its directory.
func writeHeapProfile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// procStatusMB reads a memory line of /proc/self/status in MB, 0 when unknown.
func procStatusMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// flakyReceiver takes webhooks on loopback and answers 500 to failShare of
// them; it returns its URL and the count of webhooks it took.
func flakyReceiver(failShare float64) (string, *atomic.Uint64, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	var n atomic.Uint64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if rand.Float64() < failShare {
			http.Error(w, "soak: failing on purpose", http.StatusInternalServerError)
			return
		}
		n.Add(1)
		w.WriteHeader(http.StatusOK)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String() + "/hook", &n, func() { srv.Close() }, nil
}
