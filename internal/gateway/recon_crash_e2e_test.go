package gateway_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/recon/recontest"
	"github.com/paygate/paygate/internal/settlement/settlementtest"
	"github.com/paygate/paygate/internal/store"
)

// TestReconSIGKILLMidRun kills `paygate recon run` with SIGKILL once a few
// chunks of a 60,000-line bill are applied, checks that another run is
// kept off the day by the dead run's lease, takes it over, and checks that
// the rerun converges on what one uninterrupted run makes: every line
// matched once, the settled cash exactly the bill net of fees, and a
// ledger that verifies; a third run (a new pass) posts nothing.
func TestReconSIGKILLMidRun(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			database := "sqlite:" + filepath.Join(dir, "recon.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			const keyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
			key := make([]byte, 32)
			for i := range key {
				key[i] = byte(i)
			}
			ctx := context.Background()
			day := time.Now().In(shanghai).AddDate(0, 0, -2).Format(time.DateOnly)
			st := openMigrated(t, database)
			acct, err := recontest.WeChatAccount(ctx, st, key, 60)
			if err != nil {
				t.Fatal(err)
			}
			d := settlementtest.Day{Merchants: 50, Transactions: 60_000, Day: day, FeeBps: 30, ChannelAccount: acct.ID, NoReconciled: true}
			if _, err := settlementtest.Seed(ctx, st.(settlementtest.Execer), d); err != nil {
				t.Fatal(err)
			}
			st.Close()
			billPath := filepath.Join(dir, "bill.csv")
			f, err := os.Create(billPath)
			if err != nil {
				t.Fatal(err)
			}
			tot, err := recontest.WriteWeChatBill(f, d, 60)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			args := func(extra ...string) []string {
				return append([]string{"recon", "run", "--date", day, "--account", acct.ID, "--bill", billPath, "--database", database,
					"--master-key", keyHex, "--quiet"}, extra...)
			}

			cmd := exec.Command(paygateBinary(t), args("--log-level", "debug")...)
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			chunks := 0
			for chunks < 2 && sc.Scan() {
				if strings.Contains(sc.Text(), "reconciliation chunk applied") {
					chunks++
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			st = openMigrated(t, database)
			run, err := st.ReconRunByDay(ctx, acct.ID, day)
			st.Close()
			if err != nil || run.Status != store.ReconRunning || run.Cursor == 0 || run.Cursor >= tot.Lines {
				t.Fatalf("killed run: %+v, %v; want it running, in the middle of the bill", run, err)
			}
			t.Logf("killed at line %d of %d", run.Cursor, tot.Lines)

			// The dead run's lease keeps a second run off the day …
			out, err := exec.Command(paygateBinary(t), args("--log-level", "error")...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "reconciliation_in_progress") && !strings.Contains(string(out), "Another node") {
				t.Fatalf("a run while the dead run's lease holds: %v\n%s", err, out)
			}
			// … until an operator takes it over: the run resumes and completes.
			if out, err := exec.Command(paygateBinary(t), args("--log-level", "error", "--take-over")...).CombinedOutput(); err != nil {
				t.Fatalf("rerun with --take-over: %v\n%s", err, out)
			}
			check := func(what string) {
				t.Helper()
				st := openMigrated(t, database)
				defer st.Close()
				run, err := st.ReconRunByDay(ctx, acct.ID, day)
				if err != nil {
					t.Fatal(err)
				}
				m := run.Tallies[recon.Matched]
				if run.Status != store.ReconCompleted || run.Cursor != tot.Lines || m.Count != tot.Lines || m.Amount != tot.Amount || m.Fee != tot.Fee || len(run.Tallies) != 1 {
					t.Fatalf("%s: run %+v; want every one of %d lines matched (%d, fees %d)", what, run, tot.Lines, tot.Amount, tot.Fee)
				}
				settled, err := st.Balances(ctx, ledger.ChannelSettled(acct.ID, true))
				if err != nil || len(settled) != 1 || -settled[0].Amount != tot.Amount-tot.Fee {
					t.Fatalf("%s: settled cash %+v, %v; want %d", what, settled, err, tot.Amount-tot.Fee)
				}
				rcv, err := st.Balances(ctx, ledger.ChannelReceivable(acct.ID, true))
				if err != nil || len(rcv) != 1 || rcv[0].Amount != 0 {
					t.Fatalf("%s: receivable %+v, %v; want 0: every transaction proved once", what, rcv, err)
				}
			}
			check("after the crash")
			out, err = exec.Command(paygateBinary(t), "ledger", "verify", "--database", database).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ledger verify: ok") {
				t.Fatalf("ledger verify after the crash: %v\n%s", err, out)
			}
			// A third run is a new pass that converges on the same.
			if out, err := exec.Command(paygateBinary(t), args("--log-level", "error")...).CombinedOutput(); err != nil {
				t.Fatalf("third run: %v\n%s", err, out)
			}
			check("after a rerun")
			out, err = exec.Command(paygateBinary(t), "recon", "report", "--date", day, "--database", database).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "matched") || !strings.Contains(string(out), acct.ID) {
				t.Fatalf("recon report: %v\n%s", err, out)
			}
		})
	}
}
