package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/sim"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
	"github.com/paygate/paygate/internal/store"
)

// Renewals across processes: two gateways on one PostgreSQL renewing the
// same subscriptions at once, and a gateway killed with SIGKILL in the
// middle of a run of renewals charged through a WeChat Pay simulator that
// outlives it.

// allInvoices lists every invoice of the merchant, oldest first.
func allInvoices(t *testing.T, c *client.Client) []client.Invoice {
	t.Helper()
	var out []client.Invoice
	p := client.ListParams{Limit: 100}
	for {
		l, err := c.ListInvoices(context.Background(), p)
		if err != nil {
			t.Fatalf("list invoices: %v", err)
		}
		out = append(out, l.Data...)
		if !l.HasMore || len(l.Data) == 0 {
			return out
		}
		p.StartingAfter = l.Data[len(l.Data)-1].ID
	}
}

// checkOncePerInvoice checks that each of want invoices was paid by its
// first attempt's order and by no other.
func checkOncePerInvoice(t *testing.T, c *client.Client, want int) {
	t.Helper()
	ctx := context.Background()
	invs := allInvoices(t, c)
	if len(invs) != want {
		t.Fatalf("%d invoices, want %d", len(invs), want)
	}
	for _, inv := range invs {
		if inv.Status != "paid" || inv.AttemptCount != 1 || inv.Order == nil {
			t.Fatalf("invoice %+v; want paid by its first attempt", inv)
		}
		if _, err := c.GetOrderByOutTradeNo(ctx, inv.ID+"-2"); err == nil {
			t.Fatalf("invoice %s has a second attempt", inv.ID)
		}
	}
}

// verifyLedgerOf opens database and checks its ledger.
func verifyLedgerOf(t *testing.T, database string) {
	t.Helper()
	st, err := gateway.OpenStore(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.LedgerVerify(context.Background())
	if err != nil || !rep.Clean() {
		t.Fatalf("ledger verify: %+v, %v", rep, err)
	}
}

// advanceUntilReady advances the clock to `to` and, while the answer is
// that it is still advancing (work left to a node whose claim has not run
// out), asks again.
func advanceUntilReady(t *testing.T, c *client.Client, clockID string, to time.Time) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		clk, err := c.AdvanceTestClock(context.Background(), clockID, to)
		var ae *client.Error
		switch {
		case err == nil && clk.Status == "ready":
			return
		case err == nil, errors.As(err, &ae) && ae.Code == "test_clock_advancing":
		default:
			t.Fatalf("advance: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the clock did not finish advancing")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Two processes on one PostgreSQL advance the same clock at the same time
// (the second resumes the first's advance): every renewal is invoiced
// once, and every invoice charged once.
func TestRecurringTwoProcessesRenewOnce(t *testing.T) {
	t.Parallel()
	database := pgSchemaURL(t)
	flags := []string{"--worker-interval", "1h", "--invoice-claim", "30s"}
	p1 := startProcess(t, database, flags...)
	p2 := startProcess(t, database, flags...)
	ctx := context.Background()
	c1, _ := client.New(p1.url, client.WithSecretKey(p1.secretKey))
	c2, _ := client.New(p2.url, client.WithSecretKey(p1.secretKey))

	start := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	r := newRecurring(t, c1, start, 1000)
	const subs = 15
	for i := range subs {
		c := []*client.Client{c1, c2}[i%2]
		a, err := c.CreateAgreement(ctx, client.CreateAgreementParams{Method: "card.agreement", Customer: r.cus.ID,
			Plan: client.AgreementPlan{Description: "Plan", MaxAmountPerCharge: 1000, Currency: "CNY", Period: "month"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.TestAgreementPayer(ctx, a.ID, "sign"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateSubscription(ctx, client.CreateSubscriptionParams{Customer: r.cus.ID, Price: r.price.ID, Agreement: a.ID}); err != nil {
			t.Fatal(err)
		}
	}
	to := monthEnd(start, 12).Add(time.Hour)
	var wg sync.WaitGroup
	resumed := false
	wg.Go(func() { advanceUntilReady(t, c1, r.clock.ID, to) })
	wg.Go(func() {
		// Until the first node's advance has begun, the second's is refused;
		// then it resumes the same advance beside it.
		for range 200 {
			clk, err := c2.AdvanceTestClock(ctx, r.clock.ID, to)
			if err == nil {
				resumed = true
				if clk.Status == "ready" {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	wg.Wait()
	if !resumed {
		t.Log("the second node's advance never ran beside the first's")
	}
	checkOncePerInvoice(t, c1, subs*13)
	p1.cmd.Process.Signal(syscall.SIGTERM)
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p1.cmd.Wait()
	p2.cmd.Wait()
	verifyLedgerOf(t, database)
}

// A gateway is killed with SIGKILL while it advances a clock through a
// year of WeChat deductions; another starts on the same database and
// finishes the advance. WeChat deducted each invoice exactly once.
func TestRecurringSIGKILLChargesOnce(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			database := "sqlite:" + filepath.Join(t.TempDir(), "renewals.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			// The simulator outlives the gateways; a proxy at a fixed
			// public URL sends its callbacks to whichever runs.
			wx, err := simwx.New(simOptions())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(wx.Close)
			wxSrv := httptest.NewServer(wx)
			t.Cleanup(wxSrv.Close)
			cc := newCallbackCounter(t)
			flags := []string{"--public-url", cc.srv.URL, "--invoice-claim", "2s", "--worker-interval", "1s"}
			p1 := startProcess(t, database, flags...)
			target, _ := url.Parse(p1.url)
			cc.target.Store(target)
			ctx := context.Background()
			c1, _ := client.New(p1.url, client.WithSecretKey(p1.secretKey))
			acct := wx.Account(wxSrv.URL)
			var ca struct {
				ID string `json:"id"`
			}
			adminEnv := &env{t: t, url: p1.url}
			if st, b := adminEnv.admin("POST", "/admin/v1/channel-accounts", map[string]any{"provider": "wechatpay", "name": "WeChat simulator",
				"livemode": false, "base_url": acct.BaseURL, "config": acct.Config, "secrets": acct.Secrets, "methods": []string{"wechat.papay"}, "fee_bps": 38}, &ca); st != 201 {
				t.Fatalf("create channel account: %d %s", st, b)
			}

			start := time.Date(2027, 2, 28, 0, 0, 0, 0, time.UTC)
			r := newRecurring(t, c1, start, 3000)
			const subs = 8
			var agreements []string
			for range subs {
				a := activeAgreement(t, c1, "wechat.papay", r.cus.ID, 3000, wx.SignContract)
				agreements = append(agreements, a.ID)
				if _, err := c1.CreateSubscription(ctx, client.CreateSubscriptionParams{Customer: r.cus.ID, Price: r.price.ID, Agreement: a.ID}); err != nil {
					t.Fatal(err)
				}
			}
			to := monthEnd(start, 12).Add(time.Hour)
			go c1.AdvanceTestClock(ctx, r.clock.ID, to) // dies with its gateway
			eventually(t, "renewals under way", func() bool { return len(allInvoices(t, c1)) >= subs*4 })
			if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p1.cmd.Wait()
			killedAt := len(allInvoicesOf(t, database))
			t.Logf("killed after %d of %d invoices", killedAt, subs*13)

			p2 := startProcess(t, database, flags...)
			target, _ = url.Parse(p2.url)
			cc.target.Store(target)
			c2, _ := client.New(p2.url, client.WithSecretKey(p1.secretKey))
			advanceUntilReady(t, c2, r.clock.ID, to)
			settleDeadline := time.Now().Add(60 * time.Second)
			for {
				var open []string
				for _, inv := range allInvoices(t, c2) {
					if inv.Status != "paid" {
						o := "no order"
						if inv.Order != nil {
							if ord, err := c2.GetOrder(ctx, *inv.Order); err == nil {
								o = fmt.Sprintf("order %s %s %s", ord.ID, ord.Status, ord.FailureCode)
							}
						}
						open = append(open, fmt.Sprintf("%s %s attempts %d next %v (%s)", inv.ID, inv.Status, inv.AttemptCount, inv.NextAttemptAt, o))
					}
				}
				if len(open) == 0 {
					break
				}
				if time.Now().After(settleDeadline) {
					t.Fatalf("invoices not settled:\n%s", strings.Join(open, "\n"))
				}
				time.Sleep(50 * time.Millisecond)
			}
			checkOncePerInvoice(t, c2, subs*13)
			for _, a := range agreements {
				if got := wx.ContractDeductions(a); got != 13 {
					t.Fatalf("agreement %s: %d deductions at WeChat, want 13", a, got)
				}
			}
			p2.cmd.Process.Signal(syscall.SIGTERM)
			p2.cmd.Wait()
			verifyLedgerOf(t, database)
		})
	}
}

// allInvoicesOf reads every invoice from the database itself.
func allInvoicesOf(t *testing.T, database string) []*store.Invoice {
	t.Helper()
	st, err := gateway.OpenStore(context.Background(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []*store.Invoice
	merchants, _, err := st.MerchantList(context.Background(), store.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range merchants {
		p := store.InvoiceFilter{ListParams: store.ListParams{Limit: 100}}
		for {
			l, more, err := st.InvoiceList(context.Background(), store.Scope{MerchantID: m.ID}, p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l...)
			if !more || len(l) == 0 {
				break
			}
			p.StartingAfter = l[len(l)-1].ID
		}
	}
	return out
}

// simOptions are the simulators' options in these tests: retries and
// settlements a two-thousandth of the providers'.
func simOptions() sim.Options { return sim.Options{RetryScale: 0.0005, Hang: 2 * time.Second} }
