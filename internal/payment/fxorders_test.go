package payment_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/payment/paymenttest"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// fxStart is 09:00 on 2026-03-14 in Shanghai.
var fxStart = time.Date(2026, 3, 14, 1, 0, 0, 0, time.UTC)

// onBothStores runs f on SQLite and on PostgreSQL.
func onBothStores(t *testing.T, f func(t *testing.T, env *paymenttest.Env)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var st store.Store
			if kind == "postgres" {
				st = postgrestest.Open(t, postgrestest.URL(t))
			} else {
				st = sqlitetest.Open(t)
			}
			f(t, paymenttest.New(t, paymenttest.Options{Store: st, Start: fxStart}))
		})
	}
}

func balanceOf(t *testing.T, env *paymenttest.Env, account, currency string) int64 {
	t.Helper()
	bs, err := env.Store.Balances(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Account == account && b.Currency == currency {
			return b.Amount
		}
	}
	return 0
}

func wantBalance(t *testing.T, env *paymenttest.Env, account, currency string, want int64) {
	t.Helper()
	if got := balanceOf(t, env, account, currency); got != want {
		t.Fatalf("%s %s = %d, want %d", account, currency, got, want)
	}
}

type rawExec interface {
	ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
}

// reconciled writes the row reconciliation writes for a matched
// transaction of the sandbox, so that settlement takes it.
func reconciled(t *testing.T, env *paymenttest.Env, refID, kind, currency string) {
	t.Helper()
	if _, err := env.Store.(rawExec).ExecRaw(context.Background(), `INSERT INTO reconciled (ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
		VALUES (?, ?, 'cha_00000000000000000000sandbx', '2026-03-14', 0, ?, 'matched', 'rcn_test', ?)`, refID, kind, currency, fxStart.UnixMicro()); err != nil {
		t.Fatal(err)
	}
}

// TestOrderWithFXQuote pays a USD order for a merchant that settles in CNY
// at a locked quote: the quote is taken with the order, the payment's
// entry goes through the platform's FX position (the merchant credited
// the quote's CNY less its fee, the markup the platform's), the batch
// settles it in CNY and the statement names the quote and its rate;
// partial refunds convert back at the payment's rate until every FX
// account is back at zero. Bad quotes are refused with their codes.
func TestOrderWithFXQuote(t *testing.T) {
	onBothStores(t, func(t *testing.T, env *paymenttest.Env) {
		ctx := context.Background()
		m, sc, _ := env.Merchant(t, "Exporter", 60)
		if m.SettlementCurrency != "CNY" {
			t.Fatalf("settlement currency %q", m.SettlementCurrency)
		}
		fxs := &fx.Service{Store: env.Store, Clock: env.Clock}
		if _, err := fxs.ImportRates(ctx, []fx.RateInput{
			{Base: "USD", Quote: "CNY", Rate: "7.1234", Source: "boc", AsOf: fxStart.Add(-time.Hour)},
			{Base: "USD", Quote: "JPY", Rate: "149.87", Source: "boc", AsOf: fxStart.Add(-time.Hour)},
		}); err != nil {
			t.Fatal(err)
		}
		q, err := fxs.CreateQuote(ctx, sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 10000})
		if err != nil {
			t.Fatal(err)
		}
		// $100 at 7.1234 less 50 bps = 7.087783 → ¥708.78 (70877.83 fen,
		// half-even), ¥712.34 at the mid rate: ¥3.56 of markup.
		if q.ToAmount != 70878 || q.MarkupAmount != 356 {
			t.Fatalf("quote %+v", q)
		}
		p := payment.CreateOrderParams{OutTradeNo: "FX1", Amount: 10000, Currency: "USD", Subject: "Lamp", Method: "sandbox", FXQuote: q.ID}
		o, created, err := env.Payments.CreateOrder(ctx, sc, p)
		if err != nil || !created || o.FXQuoteID != q.ID || o.SettleCurrency != "CNY" || o.SettleAmount != 70878 {
			t.Fatalf("create: %v %v %+v", err, created, o)
		}
		obj := payment.OrderObject(o)
		if obj.FXQuote == nil || *obj.FXQuote != q.ID || obj.SettlementAmount != 70878 || obj.SettlementCurrency != "CNY" {
			t.Fatalf("order object %+v", obj)
		}
		// A repeat of the same create is the same order, quote and all.
		again, created, err := env.Payments.CreateOrder(ctx, sc, p)
		if err != nil || created || again.ID != o.ID {
			t.Fatalf("repeat: %v %v %+v", err, created, again)
		}
		// The quote pays for one order.
		p2 := p
		p2.OutTradeNo = "FX2"
		_, _, err = env.Payments.CreateOrder(ctx, sc, p2)
		wantCode(t, err, "fx_quote_used", "")

		if o, err = env.Payments.TestPay(ctx, sc, o.ID, true); err != nil || o.Status != store.OrderSucceeded {
			t.Fatalf("pay: %v %+v", err, o)
		}
		fee, _ := money.Fee(70878, 60) // ¥4.25, in the settlement currency
		pending := ledger.MerchantPending(m.ID, false)
		wantBalance(t, env, pending, "CNY", 70878-fee)
		wantBalance(t, env, pending, "USD", 0)
		wantBalance(t, env, ledger.ChannelReceivable(o.ChannelAccountID, false), "USD", -10000)
		wantBalance(t, env, ledger.PlatformFX(false), "USD", 10000)
		wantBalance(t, env, ledger.PlatformFX(false), "CNY", -(70878 + 356))
		wantBalance(t, env, ledger.PlatformFXMarkup(false), "CNY", 356)
		wantBalance(t, env, ledger.PlatformFees(false), "CNY", fee)
		verifyLedger(t, env)

		// Settled in the CNY batch, and the statement says which quote.
		reconciled(t, env, o.ID, "payment", "USD")
		env.Clock.Set(time.Date(2026, 3, 15, 5, 0, 0, 0, time.UTC))
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		stl := &settlement.Service{Store: env.Store, Clock: env.Clock, Log: quiet, Holder: "node-a"}
		rep, err := stl.Run(ctx, settlement.RunParams{Day: "2026-03-14", MerchantID: m.ID})
		if err != nil || len(rep.Settlements) != 1 {
			t.Fatalf("settle: %v %+v", err, rep)
		}
		if b := rep.Settlements[0]; b.Currency != "CNY" || b.Gross != 70878 || b.Fees != fee || b.Net != 70878-fee {
			t.Fatalf("batch %+v", b)
		}
		wantBalance(t, env, ledger.MerchantAvailable(m.ID, false), "CNY", 70878-fee)
		wantBalance(t, env, pending, "CNY", 0)
		var csv bytes.Buffer
		st, err := stl.Statement(ctx, sc, "2026-03-14", "trades")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(ctx, &csv); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(csv.String(), ",CNY,70878,425,70453,0,"+rep.Settlements[0].ID+",USD,10000,"+q.ID+",7.1234\n") {
			t.Fatalf("statement:\n%s", csv.String())
		}

		// Refunds at the payment's rate: $30 then $70 undo it exactly.
		r1, _, err := env.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: "R1", Amount: 3000})
		if err != nil || r1.Status != store.RefundSucceeded || r1.SettleCurrency != "CNY" || r1.SettleAmount != 21263 {
			// 3000 × 7.087783 = 21263.349 → ¥212.63
			t.Fatalf("refund 1: %v %+v", err, r1)
		}
		r2, _, err := env.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: "R2", Amount: 7000})
		if err != nil || r2.Status != store.RefundSucceeded || r2.SettleAmount != 70878-21263 {
			t.Fatalf("refund 2: %v %+v", err, r2)
		}
		wantBalance(t, env, ledger.ChannelReceivable(o.ChannelAccountID, false), "USD", 0)
		wantBalance(t, env, ledger.PlatformFX(false), "USD", 0)
		wantBalance(t, env, ledger.PlatformFX(false), "CNY", 0)
		wantBalance(t, env, ledger.PlatformFXMarkup(false), "CNY", 0)
		wantBalance(t, env, pending, "CNY", -70878) // the merchant gives it back; the platform keeps its fee
		verifyLedger(t, env)

		// Bad quotes.
		env.Clock.Set(time.Date(2026, 3, 15, 6, 0, 0, 0, time.UTC))
		bad := func(no string, mutate func(*payment.CreateOrderParams), code string) {
			t.Helper()
			q, err := fxs.CreateQuote(ctx, sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 500})
			if err != nil {
				t.Fatal(err)
			}
			p := payment.CreateOrderParams{OutTradeNo: no, Amount: 500, Currency: "USD", Subject: "Lamp", Method: "sandbox", FXQuote: q.ID}
			mutate(&p)
			_, _, err = env.Payments.CreateOrder(ctx, sc, p)
			wantCode(t, err, code, "")
		}
		bad("B1", func(p *payment.CreateOrderParams) { p.Amount = 501 }, "fx_quote_mismatch")
		bad("B2", func(p *payment.CreateOrderParams) { p.Currency = "EUR" }, "fx_quote_mismatch")
		bad("B3", func(p *payment.CreateOrderParams) { p.FXQuote = "fxq_nonsense" }, "fx_quote_not_found")
		bad("B4", func(p *payment.CreateOrderParams) { env.Clock.Advance(fx.DefaultQuoteTTL) }, "fx_quote_expired")
		jpy, err := fxs.CreateQuote(ctx, sc, fx.QuoteParams{From: "USD", To: "JPY", Amount: 500})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = env.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "B5", Amount: 500, Currency: "USD", Subject: "Lamp", Method: "sandbox", FXQuote: jpy.ID})
		wantCode(t, err, "fx_quote_mismatch", "fx_quote") // not into the merchant's settlement currency
		_, other, _ := env.Merchant(t, "Other", 0)
		mine, err := fxs.CreateQuote(ctx, sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 500})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = env.Payments.CreateOrder(ctx, other, payment.CreateOrderParams{OutTradeNo: "B6", Amount: 500, Currency: "USD", Subject: "Lamp", Method: "sandbox", FXQuote: mine.ID})
		wantCode(t, err, "fx_quote_not_found", "")
		verifyLedger(t, env)
	})
}

// TestSettlementConvertsAtTheDaysRate: a USD order without a quote, for a
// merchant that settles in CNY, settles in a USD batch whose net converts
// into CNY at the day's rate (less the markup) into the available
// balance; the batch says which rate, and its payout is in CNY. Without a
// rate for the pair the batch stays in USD.
func TestSettlementConvertsAtTheDaysRate(t *testing.T) {
	onBothStores(t, func(t *testing.T, env *paymenttest.Env) {
		ctx := context.Background()
		m, sc, _ := env.Merchant(t, "Importer", 60)
		fxs := &fx.Service{Store: env.Store, Clock: env.Clock}
		o, _, err := env.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "U1", Amount: 10000, Currency: "USD", Subject: "Lamp", Method: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		if o, err = env.Payments.TestPay(ctx, sc, o.ID, true); err != nil || o.Status != store.OrderSucceeded {
			t.Fatalf("pay: %v %+v", err, o)
		}
		reconciled(t, env, o.ID, "payment", "USD")
		env.Clock.Set(time.Date(2026, 3, 15, 5, 0, 0, 0, time.UTC))
		n, err := fxs.ImportRates(ctx, []fx.RateInput{{Base: "USD", Quote: "CNY", Rate: "7.1234", Source: "boc", AsOf: env.Clock.Now().Add(-time.Hour)}})
		if err != nil || n != 1 {
			t.Fatal(err)
		}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		stl := &settlement.Service{Store: env.Store, Clock: env.Clock, Log: quiet, Holder: "node-a", FX: fxs}
		rep, err := stl.Run(ctx, settlement.RunParams{Day: "2026-03-14", MerchantID: m.ID})
		if err != nil || len(rep.Settlements) != 1 {
			t.Fatalf("settle: %v %+v", err, rep)
		}
		b := rep.Settlements[0]
		// 9940 cents at 7.1234 less 50 bps: 70452.56 → ¥704.53; at the mid
		// rate ¥708.07: ¥3.54 of markup.
		if b.Currency != "USD" || b.Net != 9940 || b.FX == nil || *b.FX != (store.SettlementFX{Currency: "CNY", Net: 70453, Rate: "7.1234", RateID: b.FX.RateID, Markup: 354}) || b.FX.RateID == "" {
			t.Fatalf("batch %+v fx %+v", b, b.FX)
		}
		available := ledger.MerchantAvailable(m.ID, false)
		wantBalance(t, env, available, "USD", 0)
		wantBalance(t, env, available, "CNY", 70453)
		wantBalance(t, env, ledger.PlatformFXMarkup(false), "CNY", 354)
		got, err := env.Store.SettlementGet(ctx, b.ID)
		if err != nil || got.FX == nil || *got.FX != *b.FX {
			t.Fatalf("stored batch: %v %+v", err, got)
		}
		var csv bytes.Buffer
		statement, err := stl.Statement(ctx, sc, "2026-03-14", "settlements")
		if err != nil {
			t.Fatal(err)
		}
		if err := statement.Write(ctx, &csv); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(csv.String(), "fx_conversion,2026-03-15T13:00:00+08:00,"+b.FX.RateID+",7.1234,"+b.ID+",2026-03-15,pending,CNY,70807,354,70453\n") {
			t.Fatalf("statement:\n%s", csv.String())
		}
		if _, err := stl.Pay(ctx, b.ID, "BANK-1"); err != nil {
			t.Fatal(err)
		}
		wantBalance(t, env, available, "CNY", 0)
		wantBalance(t, env, ledger.PaidOut(false), "CNY", 70453)
		verifyLedger(t, env)
	})
}

// TestQuotePaysForOneOrderUnderConcurrency: eight creates of different
// orders at one quote, at once: exactly one is made, the others get
// fx_quote_used, and the quote names the one.
func TestQuotePaysForOneOrderUnderConcurrency(t *testing.T) {
	onBothStores(t, func(t *testing.T, env *paymenttest.Env) {
		ctx := context.Background()
		_, sc, _ := env.Merchant(t, "Racer", 0)
		fxs := &fx.Service{Store: env.Store, Clock: env.Clock}
		if _, err := fxs.ImportRates(ctx, []fx.RateInput{{Base: "USD", Quote: "CNY", Rate: "7.1234", Source: "boc", AsOf: fxStart.Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		q, err := fxs.CreateQuote(ctx, sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 2500})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		made := make(chan string, 8)
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, _, err := env.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: fmt.Sprintf("C%d", i), Amount: 2500, Currency: "USD",
					Subject: "Lamp", Method: "sandbox", FXQuote: q.ID})
				if err != nil {
					errs <- err
					return
				}
				made <- o.ID
			}()
		}
		wg.Wait()
		close(made)
		close(errs)
		var ids []string
		for id := range made {
			ids = append(ids, id)
		}
		if len(ids) != 1 {
			t.Fatalf("%d orders made at one quote: %v", len(ids), ids)
		}
		for err := range errs {
			wantCode(t, err, "fx_quote_used", "")
		}
		got, err := fxs.GetQuote(ctx, sc, q.ID)
		if err != nil || got.UsedBy != ids[0] {
			t.Fatalf("quote: %v %+v", err, got)
		}
		verifyLedger(t, env)
	})
}
