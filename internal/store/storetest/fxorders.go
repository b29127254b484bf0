package storetest

import (
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var fxOrderTests = []test{
	{"FXOrders/QuoteTakenWithTheOrder", testOrderTakesQuote},
	{"FXOrders/InstallmentsRoundTrip", testOrderInstallments},
}

// quote stores an unused USD→CNY quote of the bundle's merchant, expiring
// at expires.
func (b *bundle) quote(expires time.Time) *store.FXQuote {
	b.t.Helper()
	q := &store.FXQuote{ID: id.New(id.FXQuote, t0), MerchantID: b.merchant.ID, From: "USD", To: "CNY", Amount: 10000, ToAmount: 70878,
		Rate: "7.1234", MarkupBps: 50, MarkupAmount: 356, RateID: "fxr_x", RateSource: "boc", RateAsOf: t0, ExpiresAt: expires, CreatedAt: t0}
	b.must(b.s.FXQuoteCreate(b.ctx, q), "create quote")
	return q
}

// testOrderTakesQuote: an order inserted with a quote takes it in the same
// transaction and reads back with its settle amount; a second order with
// the quote, or an order created after the quote expired, is refused with
// ErrFXQuoteTaken (and ErrStale) and not inserted.
func testOrderTakesQuote(t *testing.T, b *bundle) {
	q := b.quote(t0.Add(10 * time.Minute))
	withQuote := func(q *store.FXQuote) func(*store.Order) {
		return func(o *store.Order) {
			o.Amount, o.Currency, o.FXQuoteID, o.SettleCurrency, o.SettleAmount = q.Amount, q.From, q.ID, q.To, q.ToAmount
		}
	}
	o := b.newOrder(t0, withQuote(q))
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	if got.FXQuoteID != q.ID || got.SettleCurrency != "CNY" || got.SettleAmount != 70878 {
		t.Fatalf("order read back %+v", got)
	}
	if amount, cur := got.SettledIn(); amount != 70878 || cur != "CNY" {
		t.Fatalf("settled in %d %s", amount, cur)
	}
	used, err := b.s.FXQuoteGetInScope(b.ctx, b.scope(), q.ID)
	b.must(err, "get quote")
	if used.UsedBy != o.ID {
		t.Fatalf("quote used by %q, want %s", used.UsedBy, o.ID)
	}
	again := b.order(t0, withQuote(q))
	err = b.s.OrderCreate(b.ctx, again)
	wantErr(t, err, store.ErrFXQuoteTaken, "a second order with the quote")
	wantErr(t, err, store.ErrStale, "a second order with the quote")
	_, err = b.s.OrderGet(b.ctx, again.ID)
	wantErr(t, err, store.ErrNotFound, "the refused order")

	expired := b.quote(t0.Add(-time.Second))
	late := b.order(t0, withQuote(expired))
	wantErr(t, b.s.OrderCreate(b.ctx, late), store.ErrFXQuoteTaken, "an order after its quote expired")
	plain, err := b.s.OrderGet(b.ctx, b.newOrder(t0).ID)
	b.must(err, "get order without a quote")
	if plain.FXQuoteID != "" || plain.SettleCurrency != "" || plain.Installments != nil {
		t.Fatalf("order without a quote %+v", plain)
	}
}

// testOrderInstallments: an order's instalment plan reads back as stored.
func testOrderInstallments(t *testing.T, b *bundle) {
	plan := &store.Installments{Count: 6, FeePayer: store.FeePayerMerchant, FeeRateBps: 450, Fee: 2700}
	o := b.newOrder(t0, func(o *store.Order) { o.Installments = plan })
	got, err := b.s.OrderGet(b.ctx, o.ID)
	b.must(err, "get order")
	equal(t, got.Installments, plan, "installments")
}
