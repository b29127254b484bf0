package payment

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// noRisk is the risk decision of an order no rule looked at (a service
// without risk control, and every order made before it existed).
var noRisk = json.RawMessage(`{"decision":"allow","rules":[]}`)

// OrderObject renders o as the API's order object.
func OrderObject(o *store.Order) client.Order {
	out := client.Order{
		ID: o.ID, Object: "order", AppID: o.AppID, OutTradeNo: o.OutTradeNo,
		Amount: o.Amount, Currency: o.Currency, Subject: o.Subject, Description: o.Description,
		Method: o.Method, Status: string(o.Status), Channel: o.Channel, ChannelAccount: o.ChannelAccountID, ChannelTradeNo: o.ChannelTradeNo,
		AmountRefunded: o.AmountRefunded, FailureCode: o.FailureCode, FailureMessage: o.FailureMessage,
		Metadata: o.Metadata, NotifyURL: o.NotifyURL, ReturnURL: o.ReturnURL, Livemode: o.Livemode,
		CreatedAt: o.CreatedAt.UTC(), ExpiresAt: o.ExpiresAt.UTC(), PaidAt: utc(o.PaidAt), ClosedAt: utc(o.ClosedAt),
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	out.ProfitSharing = o.ProfitSharing
	if o.FXQuoteID != "" {
		q := o.FXQuoteID
		out.FXQuote, out.SettlementAmount, out.SettlementCurrency = &q, o.SettleAmount, o.SettleCurrency
	}
	if in := o.Installments; in != nil {
		out.Installments = &client.Installments{Count: in.Count, FeePayer: in.FeePayer, FeeRateBps: in.FeeRateBps, Fee: in.Fee}
	}
	if o.PayerCurrency != "" {
		out.PayerAmount = &client.PayerAmount{Amount: o.PayerAmount, Currency: o.PayerCurrency, ExchangeRate: o.ExchangeRate}
	}
	if o.CustomerID != "" {
		c := o.CustomerID
		out.Customer = &c
	}
	if o.Payer != (store.Payer{}) {
		out.Payer = &client.Payer{ID: o.Payer.ID, IP: o.Payer.IP, Country: o.Payer.Country, DeviceID: o.Payer.DeviceID, UserAgent: o.Payer.UserAgent}
	}
	if len(o.NextAction) > 0 && (o.Status == store.OrderPending || o.Status == store.OrderProcessing) {
		var na client.NextAction
		if json.Unmarshal(o.NextAction, &na) == nil && na.Type != "" {
			out.NextAction = &na
		}
	}
	if len(o.Risk) == 0 || bytes.Equal(o.Risk, noRisk) {
		// Every order until the risk engine exists: no need to decode it.
		out.Risk = &client.Risk{Decision: "allow", Rules: []client.RiskRuleFired{}}
		return out
	}
	var r client.Risk
	if json.Unmarshal(o.Risk, &r) == nil {
		if r.Rules == nil {
			r.Rules = []client.RiskRuleFired{}
		}
		out.Risk = &r
	}
	return out
}

// RefundObject renders r as the API's refund object.
func RefundObject(r *store.Refund) client.Refund {
	out := client.Refund{
		ID: r.ID, Object: "refund", OrderID: r.OrderID, OutRefundNo: r.OutRefundNo, Amount: r.Amount,
		Currency: r.Currency, Status: string(r.Status), ChannelRefundNo: r.ChannelRefundNo,
		FailureCode: r.FailureCode, FailureMessage: r.FailureMessage, Reason: r.Reason,
		Metadata: r.Metadata, Livemode: r.Livemode, CreatedAt: r.CreatedAt.UTC(), SucceededAt: utc(r.SucceededAt),
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if r.PayerCurrency != "" {
		out.PayerAmount = &client.PayerAmount{Amount: r.PayerAmount, Currency: r.PayerCurrency}
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
