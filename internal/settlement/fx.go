package settlement

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Conversion at settlement
//
// A batch in another currency than the merchant's settlement currency (a
// USD order without an FX quote, for a merchant that settles in CNY)
// converts what it pays (its net, when it pays out) into the settlement
// currency at the day's rate: the latest rate of the pair when the batch
// is made, less the platform's markup (fx.Service.Markup), rounded half to
// even (fx.Quote). The batch records the conversion (Settlement.FX: the
// currency, the converted net, the mid rate and its id, the markup), its
// ledger entry KindSettlementFX moves the net out of the merchant's
// available account in the batch's currency and into it in the settlement
// currency through the platform's position, and its payout is in the
// settlement currency. A batch that carries forward, or whose pair has no
// recent rate (fx.ErrNoRate), is not converted: it stays in its currency,
// and the log says why.

// dayRate is the rate that converts a batch of merchant m in currency cur
// made at now, nil when it is not to be converted.
func (s *Service) dayRate(ctx context.Context, m *store.Merchant, cur string, now time.Time) (*apd.Decimal, *store.FXRate, error) {
	if s.FX == nil || m.SettlementCurrency == "" || cur == m.SettlementCurrency {
		return nil, nil, nil
	}
	rate, src, err := s.FX.RateAt(ctx, cur, m.SettlementCurrency, now)
	if errors.Is(err, fx.ErrNoRate) {
		s.log().Warn("no rate to convert a settlement batch; it settles in its own currency",
			"merchant", m.ID, "currency", cur, "settlement_currency", m.SettlementCurrency)
		return nil, nil, nil
	}
	return rate, src, err
}

// convert sets stl's conversion into to at rate and returns its entry;
// none (and no conversion) when stl pays nothing out.
func (s *Service) convert(stl *store.Settlement, to string, rate *apd.Decimal, src *store.FXRate, now time.Time) (*ledger.Entry, error) {
	if rate == nil || stl.Status != store.SettlementPending || stl.Net <= 0 {
		return nil, nil
	}
	c, err := fx.Quote(stl.Currency, to, stl.Net, 0, rate, s.FX.Markup())
	if err != nil {
		return nil, fmt.Errorf("settlement %s: convert %d %s into %s: %w", stl.ID, stl.Net, stl.Currency, to, err)
	}
	if c.ToAmount <= 0 { // less than a minor unit of the settlement currency: leave it as it is
		return nil, nil
	}
	stl.FX = &store.SettlementFX{Currency: to, Net: c.ToAmount, Rate: fx.FormatRate(rate), RateID: src.ID, Markup: c.Gross - c.ToAmount}
	available := ledger.MerchantAvailable(stl.MerchantID, stl.Livemode)
	return &ledger.Entry{ID: id.New(id.Entry, now), Kind: ledger.KindSettlementFX, RefID: stl.ID, CreatedAt: now,
		Lines: ledger.ExchangeLines(stl.Livemode, available, stl.Currency, stl.Net, available, to, c.ToAmount, c.Gross)}, nil
}
