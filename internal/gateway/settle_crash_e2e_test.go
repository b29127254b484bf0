package gateway_test

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/settlement/settlementtest"
	"github.com/paygate/paygate/internal/store"
)

// TestSIGKILLDuringSettlement kills `paygate settle run` with SIGKILL in the
// middle of a day of many merchants, runs it again, and checks that the
// rerun converges on what one uninterrupted run makes: one batch per
// merchant netting exactly its reconciled transactions, balances to match,
// what waits counted once, and a ledger that verifies.
func TestSIGKILLDuringSettlement(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			database := "sqlite:" + filepath.Join(t.TempDir(), "settle.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			ctx := context.Background()
			day := time.Now().In(shanghai).AddDate(0, 0, -2).Format(time.DateOnly)
			const merchants = 60
			st := openMigrated(t, database)
			exp, err := settlementtest.Seed(ctx, st.(settlementtest.Execer), settlementtest.Day{
				Merchants: merchants, Transactions: 30_000, Day: day, FeeBps: 60, UnreconciledEvery: 50})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()

			// Kill the run once a few batches are committed.
			cmd := exec.Command(paygateBinary(t), "settle", "run", "--date", day, "--database", database, "--log-level", "info")
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			settled := 0
			for settled < 5 && sc.Scan() {
				if strings.Contains(sc.Text(), `"msg":"settled"`) {
					settled++
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			st = openMigrated(t, database)
			made := countSettlements(t, st)
			st.Close()
			if made < 5 || made >= merchants {
				t.Fatalf("killed with %d of %d merchants settled: want the kill in the middle of the run", made, merchants)
			}
			t.Logf("killed after %d of %d merchants", made, merchants)

			// Without --take-over the merchant the dead run held (if it held
			// one when it died) is left until its lease runs out; with it,
			// the rerun finishes the day.
			out, err := exec.Command(paygateBinary(t), "settle", "run", "--date", day, "--database", database, "--log-level", "error").CombinedOutput()
			if err != nil {
				t.Fatalf("rerun without --take-over: %v\n%s", err, out)
			}
			t.Logf("rerun without --take-over: %s", strings.TrimSpace(string(out[max(0, len(out)-300):])))
			out, err = exec.Command(paygateBinary(t), "settle", "run", "--date", day, "--database", database, "--log-level", "error", "--take-over").CombinedOutput()
			if err != nil {
				t.Fatalf("rerun with --take-over: %v\n%s", err, out)
			}
			out, err = exec.Command(paygateBinary(t), "settle", "run", "--date", day, "--database", database, "--log-level", "error").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "0 settlements made") {
				t.Fatalf("a third run: %v\n%s", err, out)
			}

			st = openMigrated(t, database)
			defer st.Close()
			list := allSettlements(t, st)
			if len(list) != merchants {
				t.Fatalf("settlements = %d, want one per merchant (%d)", len(list), merchants)
			}
			waiting := 0
			for _, s := range list {
				if s.Net != exp.Net[s.MerchantID] {
					t.Errorf("%s: net %d, want %d", s.MerchantID, s.Net, exp.Net[s.MerchantID])
				}
				b, err := ledger.MerchantBalances(ctx, st, s.MerchantID, true)
				if err != nil || len(b.Available) != 1 || b.Available[0].Amount != s.Net {
					t.Errorf("%s: balance %+v, %v; want %d available", s.MerchantID, b, err, s.Net)
				}
				waiting += s.Waiting.Payments.Count + s.Waiting.Refunds.Count
			}
			if waiting != exp.Waiting {
				t.Errorf("waiting = %d, want %d", waiting, exp.Waiting)
			}
			out, err = exec.Command(paygateBinary(t), "ledger", "verify", "--database", database).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ledger verify: ok") {
				t.Fatalf("ledger verify after the crash: %v\n%s", err, out)
			}
		})
	}
}

func openMigrated(t *testing.T, database string) store.Store {
	t.Helper()
	st, err := gateway.OpenStore(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func allSettlements(t *testing.T, st store.Store) []*store.Settlement {
	t.Helper()
	var out []*store.Settlement
	after := ""
	for {
		page, more, err := st.SettlementList(context.Background(), store.SettlementFilter{ListParams: store.ListParams{Limit: 100, StartingAfter: after}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if !more {
			return out
		}
		after = page[len(page)-1].ID
	}
}

func countSettlements(t *testing.T, st store.Store) int { return len(allSettlements(t, st)) }
