package recon_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/recon/recontest"
	"github.com/paygate/paygate/internal/settlement/settlementtest"
)

// BenchmarkReconcileDay reconciles a seeded day of N transactions (orders
// and refunds of one WeChat Pay account) against its uploaded trade bill
// of N lines: PAYGATE_RECON_BENCH_N lines (default 100000), on SQLite,
// and on PostgreSQL when PAYGATE_TEST_POSTGRES is set (a schema of its
// own, dropped after). Each iteration is a fresh database. It reports
// lines/s, the run's CPU time and the heap's peak (sampled) during the run.
func BenchmarkReconcileDay(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchDay(b, "") })
	b.Run("postgres", func(b *testing.B) {
		base := os.Getenv("PAYGATE_TEST_POSTGRES")
		if base == "" {
			b.Skip("PAYGATE_TEST_POSTGRES is not set")
		}
		benchDay(b, base)
	})
}

// pgSchema makes a schema in the database at base and returns base with
// its search_path; the schema is dropped when b ends.
func pgSchema(b *testing.B, base string) string {
	db, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("paygate_reconbench_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db, _ := sql.Open("pgx", base)
		defer db.Close()
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func benchDay(b *testing.B, pg string) {
	n := 100_000
	if v := os.Getenv("PAYGATE_RECON_BENCH_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	ctx := context.Background()
	key := make([]byte, 32)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		database := "sqlite:" + filepath.Join(dir, "paygate.db")
		if pg != "" {
			database = pgSchema(b, pg)
		}
		seedSt, err := gateway.OpenStore(ctx, database)
		if err != nil {
			b.Fatal(err)
		}
		if err := seedSt.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		acct, err := recontest.WeChatAccount(ctx, seedSt, key, 60)
		if err != nil {
			b.Fatal(err)
		}
		day := time.Now().In(shanghai).AddDate(0, 0, -2).Format(time.DateOnly)
		d := settlementtest.Day{Merchants: 1000, Transactions: n, Day: day, FeeBps: 30, ChannelAccount: acct.ID, NoReconciled: true}
		if _, err := settlementtest.Seed(ctx, seedSt.(settlementtest.Execer), d); err != nil {
			b.Fatal(err)
		}
		seedSt.Close()
		path := filepath.Join(dir, "bill.csv")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		tot, err := recontest.WriteWeChatBill(f, d, 60)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		svc, closeStore, err := gateway.OpenRecon(ctx, gateway.Config{Database: database, MasterKey: strings.Repeat("00", 32),
			Logger: benchLogger()})
		if err != nil {
			b.Fatal(err)
		}
		st := svc.Store
		bill, _ := os.Open(path)
		fi, _ := bill.Stat()
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		b.StartTimer()
		start := time.Now()
		run, err := svc.Run(ctx, recon.RunParams{ChannelAccountID: acct.ID, Date: day, Bill: &recon.Upload{R: bill, Size: fi.Size()}})
		elapsed := time.Since(start)
		b.StopTimer()
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
		close(stop)
		bill.Close()
		defer closeStore()
		if err != nil {
			b.Fatal(err)
		}
		if got := run.Tallies[recon.Matched]; got.Count != tot.Lines || got.Amount != tot.Amount || got.Fee != tot.Fee {
			b.Fatalf("matched %+v, want %+v", got, tot)
		}
		settled, _ := st.Balances(ctx, ledger.ChannelSettled(acct.ID, true))
		if len(settled) != 1 || -settled[0].Amount != tot.Amount-tot.Fee {
			b.Fatalf("settled cash %+v, want %d", settled, tot.Amount-tot.Fee)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "lines/s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(fi.Size())/(1<<20), "bill-MiB")
	}
}

// benchLogger logs to stderr at debug level when PAYGATE_RECON_BENCH_LOG
// is set (each chunk's time), and nowhere otherwise.
func benchLogger() *slog.Logger {
	if os.Getenv("PAYGATE_RECON_BENCH_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
