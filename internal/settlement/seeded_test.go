package settlement_test

import (
	"bufio"
	"flag"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/settlement/settlementtest"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// openStore opens a fresh migrated store of kind.
func openStore(t testing.TB, kind string) store.Store {
	if kind == "postgres" {
		return postgrestest.Open(t, postgrestest.URL(t))
	}
	return sqlitetest.Open(t)
}

// TestSeededDaySettles settles a seeded day of many merchants: each
// merchant's one batch nets what its reconciled transactions net, its
// balance agrees, what is not reconciled waits, and the ledger verifies.
func TestSeededDaySettles(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			st := openStore(t, kind)
			exp, err := settlementtest.Seed(ctx, st.(settlementtest.Execer), settlementtest.Day{
				Merchants: 20, Transactions: 4000, Day: "2026-03-14", FeeBps: 60, UnreconciledEvery: 50})
			if err != nil {
				t.Fatal(err)
			}
			svc := &settlement.Service{Store: st, Clock: clock.NewFake(time.Date(2026, 3, 15, 6, 0, 0, 0, time.UTC)),
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			rep, err := svc.Run(ctx, settlement.RunParams{Day: "2026-03-14"})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Settlements) != 20 {
				t.Fatalf("batches = %d, want one per merchant", len(rep.Settlements))
			}
			waiting := 0
			for _, s := range rep.Settlements {
				if s.Net != exp.Net[s.MerchantID] || s.Status != store.SettlementPending || !s.Livemode {
					t.Fatalf("%s: net %d (%s), want %d", s.MerchantID, s.Net, s.Status, exp.Net[s.MerchantID])
				}
				b, err := ledger.MerchantBalances(ctx, st, s.MerchantID, true)
				if err != nil || len(b.Available) != 1 || b.Available[0].Amount != s.Net {
					t.Fatalf("%s: balance %+v, %v; want %d available", s.MerchantID, b, err, s.Net)
				}
				waiting += s.Waiting.Payments.Count + s.Waiting.Refunds.Count
			}
			if waiting != exp.Waiting {
				t.Fatalf("waiting = %d, want %d", waiting, exp.Waiting)
			}
			rep2, err := svc.Run(ctx, settlement.RunParams{Day: "2026-03-14"})
			if err != nil || len(rep2.Settlements) != 0 {
				t.Fatalf("a second run: %v, %d batches", err, len(rep2.Settlements))
			}
			verify(t, st)
		})
	}
}

func verify(t testing.TB, st store.Store) {
	t.Helper()
	rep, err := st.LedgerVerify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("ledger verify: %+v", rep)
	}
}

var (
	benchMerchants    = flag.Int("settle.merchants", 100, "BenchmarkSettleDay: merchants")
	benchTransactions = flag.Int("settle.transactions", 100_000, "BenchmarkSettleDay: transactions of the day")
)

// BenchmarkSettleDay settles one seeded day: -settle.transactions
// transactions (nine payments to a refund) over -settle.merchants
// merchants, all reconciled. Each iteration seeds a fresh database (not
// timed) and settles its day; it reports transactions settled per second,
// the Go heap's peak while settling, and the process's peak resident set
// (SQLite's page cache included) since the settlement began.
//
//	go test -run '^$' -bench SettleDay -benchtime 1x ./internal/settlement/ -settle.merchants 1000 -settle.transactions 1000000
func BenchmarkSettleDay(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var peakHeap, peakRSS uint64
			var seconds float64
			for range b.N {
				b.StopTimer()
				st := openStore(b, kind)
				if _, err := settlementtest.Seed(ctx, st.(settlementtest.Execer), settlementtest.Day{
					Merchants: *benchMerchants, Transactions: *benchTransactions, Day: "2026-03-14", FeeBps: 60}); err != nil {
					b.Fatal(err)
				}
				svc := &settlement.Service{Store: st, Clock: clock.NewFake(time.Date(2026, 3, 15, 6, 0, 0, 0, time.UTC)),
					Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
				runtime.GC()
				resetPeakRSS()
				stop := watchHeap(&peakHeap)
				b.StartTimer()
				began := time.Now()
				rep, err := svc.Run(ctx, settlement.RunParams{Day: "2026-03-14"})
				seconds += time.Since(began).Seconds()
				b.StopTimer()
				stop()
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Settlements) != *benchMerchants {
					b.Fatalf("batches = %d, want %d", len(rep.Settlements), *benchMerchants)
				}
				peakRSS = max(peakRSS, rssPeak())
			}
			b.ReportMetric(float64(*benchTransactions)*float64(b.N)/seconds, "txns/s")
			b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
			if peakRSS > 0 {
				b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
			}
		})
	}
}

// watchHeap samples the Go heap every 10 ms into peak until stop is called.
func watchHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// resetPeakRSS resets the kernel's peak resident set of this process
// (Linux); elsewhere it does nothing and rssPeak reports 0.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// rssPeak is VmHWM of /proc/self/status, in bytes; 0 when unknown.
func rssPeak() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
