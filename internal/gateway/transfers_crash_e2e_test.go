package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/settlement"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
	"github.com/paygate/paygate/internal/store"
)

// TestSIGKILLDuringTransfers kills the real binary with SIGKILL while 48
// transfers to Alipay (the simulator, in this process, so it outlives the
// gateway) are being made, some of whose answers Alipay loses. The merchant
// then repeats every request (as a client whose requests failed must) on
// a restarted gateway, whose worker resolves what was left processing
// (asking Alipay, and sending what Alipay never got). In the end each
// transfer exists once and succeeded, Alipay paid each exactly once with
// its amount and nothing else, the available balance is what was funded
// less exactly those amounts, and the ledger verifies.
func TestSIGKILLDuringTransfers(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			database := "sqlite:" + filepath.Join(t.TempDir(), "transfers.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			secretKey, merchantID, funded := fundForCrash(t, database)

			p := startProcess(t, database, "--worker-interval", "100ms")
			s := (&env{t: t, url: p.url}).channelAccount("alipay", "alipay.qr")
			alipaySim := s.sim.(*simalipay.Sim)
			c, err := client.New(p.url, client.WithSecretKey(secretKey))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			const n = 48
			params := func(i int) client.CreateTransferParams {
				account := fmt.Sprintf("payee%02d@example.com", i)
				if i%4 == 3 {
					account = simalipay.PayeeLost
				}
				return client.CreateTransferParams{OutTransferNo: fmt.Sprintf("K%02d", i), Amount: 100 + int64(i), Currency: "CNY",
					Destination: client.TransferDestination{Method: "alipay", Account: account}}
			}
			var answered atomic.Int64
			var wg sync.WaitGroup
			next := make(chan int)
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						if _, err := c.CreateTransfer(ctx, params(i)); err == nil {
							answered.Add(1)
						}
					}
				}()
			}
			go func() {
				for i := range n {
					next <- i
				}
				close(next)
			}()
			for answered.Load() < n/3 {
				time.Sleep(2 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()
			wg.Wait()
			t.Logf("killed with %d of %d transfers answered", answered.Load(), n)
			if answered.Load() >= n {
				t.Fatal("every transfer was answered before the kill: want the kill in the middle")
			}

			p2 := startProcess(t, database, "--worker-interval", "100ms")
			c2, err := client.New(p2.url, client.WithSecretKey(secretKey))
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for i := range n {
				tr, err := c2.CreateTransfer(ctx, params(i))
				if err != nil {
					t.Fatalf("repeat %d after the restart: %v", i, err)
				}
				ids[tr.ID] = true
			}
			if len(ids) != n {
				t.Fatalf("%d transfers for %d out_transfer_nos", len(ids), n)
			}
			// Repeating a request of a transfer still processing asks
			// Alipay about it (a lost answer is the simulator's payee
			// scenario); the worker would too, on its back-off schedule.
			deadline := time.Now().Add(30 * time.Second)
			var all []client.Transfer
			for {
				all = all[:0]
				for i := range n {
					tr, err := c2.CreateTransfer(ctx, params(i))
					if err != nil {
						t.Fatalf("repeat %d: %v", i, err)
					}
					all = append(all, *tr)
				}
				done := 0
				for _, tr := range all {
					if tr.Status == "succeeded" {
						done++
					} else if tr.Status == "failed" {
						t.Fatalf("transfer %s failed: %s", tr.OutTransferNo, tr.FailureCode)
					}
				}
				if done == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d transfers succeeded 30 s after the restart", done, n)
				}
				time.Sleep(100 * time.Millisecond)
			}
			list, err := c2.ListTransfers(ctx, client.ListParams{Limit: 100})
			if err != nil || len(list.Data) != n {
				t.Fatalf("list: %v, %d transfers, want %d", err, len(list.Data), n)
			}
			if len(all) != n {
				t.Fatalf("%d transfers listed, want %d", len(all), n)
			}
			paid := alipaySim.Transfers()
			var sum int64
			for _, tr := range all {
				if paid[tr.ID] != tr.Amount {
					t.Fatalf("Alipay paid %d for transfer %s of %d", paid[tr.ID], tr.ID, tr.Amount)
				}
				sum += tr.Amount
			}
			if len(paid) != n {
				t.Fatalf("Alipay made %d transfers, want %d", len(paid), n)
			}
			p2.cmd.Process.Signal(syscall.SIGTERM)
			p2.cmd.Wait()
			st := openMigrated(t, database)
			b, err := ledger.MerchantBalances(ctx, st, merchantID, false)
			st.Close()
			if err != nil || len(b.Available) != 1 || b.Available[0].Amount != funded-sum || len(b.InTransit) != 1 || b.InTransit[0].Amount != 0 {
				t.Fatalf("balance: %v %+v, want %d available", err, b, funded-sum)
			}
			out, err := exec.Command(paygateBinary(t), "ledger", "verify", "--database", database).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ledger verify: ok") {
				t.Fatalf("ledger verify: %v\n%s", err, out)
			}
		})
	}
}

// fundForCrash makes a merchant with a test app on the database and gives
// it an available balance through the services themselves (a sandbox
// payment two days ago, reconciled, settled), before any gateway process
// runs; it returns the app's secret key, the merchant and the balance.
func fundForCrash(t *testing.T, database string) (secretKey, merchantID string, available int64) {
	t.Helper()
	ctx := context.Background()
	st := openMigrated(t, database)
	defer st.Close()
	day := time.Now().In(shanghai).AddDate(0, 0, -2)
	start := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, shanghai)
	pe := paymenttest.New(t, paymenttest.Options{Store: st, Start: start})
	m, err := pe.Accounts.CreateMerchant(ctx, account.MerchantParams{Name: "Payouts"})
	if err != nil {
		t.Fatal(err)
	}
	na, err := pe.Accounts.CreateApp(ctx, m.ID, account.AppParams{Name: "Payouts test", Mode: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sc := store.Scope{MerchantID: m.ID, AppID: na.App.ID}
	o, _, err := pe.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "fund", Amount: 500000, Currency: "CNY", Subject: "Goods", Method: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = pe.Payments.TestPay(ctx, sc, o.ID, true); err != nil || o.Status != store.OrderSucceeded {
		t.Fatalf("pay: %v", err)
	}
	if _, err := st.(rawExec).ExecRaw(ctx, `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
		VALUES (?, 'payment', 'cha_00000000000000000000sandbx', '2026-01-01', 0, 'CNY', 'matched', 'rcn_crash', ?)`, o.ID, start.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	pe.Clock.Set(start.AddDate(0, 0, 1).Add(3 * time.Hour))
	svc := &settlement.Service{Store: st, Clock: pe.Clock, Holder: "funding", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := svc.Run(ctx, settlement.RunParams{Day: start.Format(time.DateOnly), MerchantID: m.ID}); err != nil {
		t.Fatal(err)
	}
	return na.SecretKey, m.ID, 500000
}
