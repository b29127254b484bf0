package transfer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/transfer"
)

func (e *env) rates(rates ...fx.RateInput) {
	e.t.Helper()
	if _, err := e.fx.ImportRates(ctx, rates); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) quote(sc store.Scope, p fx.QuoteParams) *store.FXQuote {
	e.t.Helper()
	q, err := e.fx.CreateQuote(ctx, sc, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return q
}

func platform(t *testing.T, e *env, account, currency string) int64 {
	t.Helper()
	bs, err := e.Store.Balances(ctx, account)
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

// TestTransferWithFXQuote pays a payee in CNY from a USD balance at a
// locked quote: the USD leaves available, the platform's position takes it
// and pays the CNY, its markup is income; a refused payee gets the exchange
// undone at the same rate; quotes are single-use, expire, and belong to
// their merchant.
func TestTransferWithFXQuote(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m, sc, _ := e.Merchant(t, "Exporter", 0)
		e.fund(m, sc, 100000, "USD") // $1,000.00
		e.rates(fx.RateInput{Base: "USD", Quote: "CNY", Rate: "7.1234", Source: "boc", AsOf: e.Clock.Now().Add(-time.Hour)})

		q := e.quote(sc, fx.QuoteParams{From: "USD", To: "CNY", ToAmount: 50000}) // ¥500.00
		// ¥500 at 7.1234 less 50 bps = 7.087783: $70.5440… → 7055 cents,
		// worth ¥502.56 at the mid rate (7055 × 7.1234 = 50255.587 fen): ¥2.56 of markup.
		if q.Amount != 7055 || q.ToAmount != 50000 || q.MarkupBps != 50 || q.MarkupAmount != 256 || q.Rate != "7.1234" || q.RateSource != "boc" {
			t.Fatalf("quote = %+v", q)
		}
		p := transfer.CreateParams{OutTransferNo: "X1", FXQuote: q.ID, Destination: client.TransferDestination{Method: "alipay", Account: "seller@example.com"}}
		tr, _, err := e.svc.Create(ctx, sc, p)
		if err != nil || tr.Status != store.TransferSucceeded || tr.Amount != 50000 || tr.Currency != "CNY" ||
			tr.SourceAmount != 7055 || tr.SourceCurrency != "USD" || tr.FXQuoteID != q.ID {
			t.Fatalf("transfer: %v %+v", err, tr)
		}
		check(t, e.available(m, false, "USD"), 100000-7055, "USD available")
		check(t, e.available(m, false, "CNY"), 0, "CNY available")
		check(t, platform(t, e, ledger.PlatformFX(false), "USD"), 7055, "the platform's USD position")
		check(t, platform(t, e, ledger.PlatformFX(false), "CNY"), -50256, "the platform's CNY position")
		check(t, platform(t, e, ledger.PlatformFXMarkup(false), "CNY"), 256, "markup income")

		_, _, err = e.svc.Create(ctx, sc, transfer.CreateParams{OutTransferNo: "X2", FXQuote: q.ID, Destination: p.Destination})
		wantCode(t, err, "fx_quote_used")
		q2 := e.quote(sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 1000})
		_, _, err = e.svc.Create(ctx, sc, transfer.CreateParams{OutTransferNo: "X3", FXQuote: q2.ID, Amount: 1, Destination: p.Destination})
		wantCode(t, err, "fx_quote_mismatch")
		_, other, _ := e.Merchant(t, "Other", 0)
		_, _, err = e.svc.Create(ctx, other, transfer.CreateParams{OutTransferNo: "X4", FXQuote: q2.ID, Destination: p.Destination})
		wantCode(t, err, "fx_quote_not_found")

		// A refused payee: the exchange is undone at its own rate.
		refused, _, err := e.svc.Create(ctx, sc, transfer.CreateParams{OutTransferNo: "X5", FXQuote: q2.ID,
			Destination: client.TransferDestination{Method: "alipay", Account: sandbox.PayeeInvalid}})
		if err != nil || refused.Status != store.TransferFailed {
			t.Fatalf("refused: %v %+v", err, refused)
		}
		check(t, e.available(m, false, "USD"), 100000-7055, "USD available after a refused transfer")
		check(t, platform(t, e, ledger.PlatformFXMarkup(false), "CNY"), 256, "markup income after a refused transfer")

		e.Clock.Advance(fx.DefaultQuoteTTL)
		_, _, err = e.svc.Create(ctx, sc, transfer.CreateParams{OutTransferNo: "X6", FXQuote: e.quote(sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 100}).ID, Destination: p.Destination})
		if err != nil {
			t.Fatalf("a fresh quote: %v", err)
		}
		q3 := e.quote(sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 100})
		e.Clock.Advance(fx.DefaultQuoteTTL)
		_, _, err = e.svc.Create(ctx, sc, transfer.CreateParams{OutTransferNo: "X7", FXQuote: q3.ID, Destination: p.Destination})
		wantCode(t, err, "fx_quote_expired")
		// The rate is now older than fx.DefaultMaxRateAge allows.
		e.Clock.Advance(fx.DefaultMaxRateAge)
		_, err = e.fx.CreateQuote(ctx, sc, fx.QuoteParams{From: "USD", To: "CNY", Amount: 100})
		wantCode(t, err, "fx_rate_unavailable")
		_, err = e.fx.CreateQuote(ctx, sc, fx.QuoteParams{From: "USD", To: "EUR", Amount: 100})
		wantCode(t, err, "fx_rate_unavailable")
		e.verify()
	})
}

// TestFXQuoteReverseRate: a pair loaded one way quotes the other way at
// the inverted rate; JPY (no minor unit) and KWD (three) convert at their
// exponents.
func TestFXQuoteReverseRate(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, sc, _ := e.Merchant(t, "Exporter", 0)
		now := e.Clock.Now()
		e.rates(fx.RateInput{Base: "USD", Quote: "JPY", Rate: "150", Source: "ops", AsOf: now.Add(-time.Hour)},
			fx.RateInput{Base: "KWD", Quote: "USD", Rate: "3.25", Source: "ops", AsOf: now.Add(-time.Hour)})
		q := e.quote(sc, fx.QuoteParams{From: "JPY", To: "USD", Amount: 15000}) // ¥15,000 = $100 at the mid rate
		if q.Rate != "0.0066666666666666666667" || q.ToAmount != 9950 || q.MarkupAmount != 50 {
			t.Fatalf("JPY→USD quote = %+v", q)
		}
		q = e.quote(sc, fx.QuoteParams{From: "USD", To: "KWD", Amount: 325}) // $3.25 = 1.000 KWD
		if q.ToAmount != 995 || q.MarkupAmount != 5 {
			t.Fatalf("USD→KWD quote = %+v", q)
		}
		for _, c := range []struct {
			p    fx.QuoteParams
			code string
		}{
			{fx.QuoteParams{From: "USD", To: "USD", Amount: 1}, "to_invalid"},
			{fx.QuoteParams{From: "usd", To: "JPY", Amount: 1}, "from_invalid"},
			{fx.QuoteParams{From: "USD", To: "JPY"}, "parameter_missing"},
			{fx.QuoteParams{From: "USD", To: "JPY", Amount: 1, ToAmount: 1}, "parameter_missing"},
			{fx.QuoteParams{From: "USD", To: "JPY", Amount: 1_000_000_000_000}, "amount_invalid"}, // more yen than an amount may be
		} {
			_, err := e.fx.CreateQuote(ctx, sc, c.p)
			wantCode(t, err, c.code)
		}
		got, err := e.fx.GetQuote(ctx, sc, q.ID)
		if err != nil || got.ID != q.ID {
			t.Fatalf("get: %v", err)
		}
		_, other, _ := e.Merchant(t, "Other", 0)
		_, err = e.fx.GetQuote(ctx, other, q.ID)
		wantCode(t, err, "fx_quote_not_found")
		_, err = e.fx.ImportRates(ctx, []fx.RateInput{{Base: "USD", Quote: "CNY", Rate: "7", Source: "ops", AsOf: now.Add(time.Hour)}})
		wantCode(t, err, "rates_invalid")
		n, err := e.fx.ImportRates(ctx, []fx.RateInput{{Base: "USD", Quote: "JPY", Rate: "150", Source: "ops", AsOf: now.Add(-time.Hour)}})
		check(t, fmt.Sprint(n, err), "0 <nil>", "importing a rate again")
	})
}
