package settlement

import (
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// Object renders st as the API's settlement object; operator adds what
// only the platform sees (the merchant, the channels' fees, the margin).
func Object(st *store.Settlement, operator bool) client.Settlement {
	out := client.Settlement{
		ID: st.ID, Object: "settlement", Livemode: st.Livemode, Currency: st.Currency, Date: st.Day,
		SettleDate: st.SettleDate, Timezone: st.Timezone, Status: st.Status, Gross: st.Gross, Refunds: st.Refunds,
		Fees: st.Fees, Adjustments: st.Adjustments, ReserveHeld: st.ReserveHeld, ReserveReleased: st.ReserveReleased,
		Net: st.Net, PaymentCount: st.PaymentCount, RefundCount: st.RefundCount,
		Waiting: client.SettlementWaiting{
			Payments: client.Tally{Count: st.Waiting.Payments.Count, Amount: st.Waiting.Payments.Amount},
			Refunds:  client.Tally{Count: st.Waiting.Refunds.Count, Amount: st.Waiting.Refunds.Amount},
		},
		ReserveReleaseDate: optional(st.ReserveReleaseDate), CarriedTo: optional(st.CarriedTo),
		BankReference: optional(st.BankReference), PayoutStartedAt: utc(st.PayoutStartedAt), PaidAt: utc(st.PaidAt),
		CreatedAt: st.CreatedAt.UTC(),
	}
	if f := st.FX; f != nil {
		out.FX = &client.SettlementFX{Currency: f.Currency, Net: f.Net, Rate: f.Rate, RateID: f.RateID, Markup: f.Markup}
	}
	if st.Waiting.Payments.Count+st.Waiting.Refunds.Count > 0 {
		out.Waiting.Reason = "not_reconciled"
	}
	if operator {
		channelFees, margin := st.ChannelFees, st.Fees-st.ChannelFees
		out.MerchantID, out.ChannelFees, out.Margin = st.MerchantID, &channelFees, &margin
	}
	return out
}

// LineObject renders a settlement line.
func LineObject(l *store.SettlementLine, operator bool) client.SettlementLine {
	out := client.SettlementLine{Object: "settlement_line", Kind: l.Kind, RefID: l.RefID, Currency: l.Currency,
		Amount: l.Amount, Fee: l.Fee, Net: l.Net, OccurredAt: l.OccurredAt.UTC()}
	if operator {
		fee := l.ChannelFee
		out.ChannelFee = &fee
	}
	return out
}

// SettingsObject renders a merchant's settlement settings.
func SettingsObject(m *store.Merchant, st *store.SettlementSettings) client.SettlementSettings {
	out := client.SettlementSettings{
		Object: "settlement_settings", MerchantID: m.ID, SettleDays: st.SettleDays, ReserveBps: st.ReserveBps,
		ReserveDays: st.ReserveDays, FeeRateBps: m.FeeRateBps, FixedFee: st.FixedFee, MethodFees: []client.MethodFee{},
	}
	for _, mf := range st.MethodFees {
		out.MethodFees = append(out.MethodFees, client.MethodFee{Method: mf.Method, FeeRateBps: mf.FeeRateBps, FixedFee: mf.FixedFee})
	}
	if !st.UpdatedAt.IsZero() {
		t := st.UpdatedAt.UTC()
		out.UpdatedAt = &t
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
