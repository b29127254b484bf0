package billing

import (
	"encoding/json"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store"
)

// The API's objects of recurring payments.

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

func meta(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// CustomerObject renders a customer.
func CustomerObject(c *store.Customer) client.Customer {
	return client.Customer{ID: c.ID, Object: "customer", Name: c.Name, Email: c.Email, Description: c.Description,
		TestClock: optional(c.TestClockID), Metadata: meta(c.Metadata), Livemode: c.Livemode, CreatedAt: c.CreatedAt.UTC()}
}

// PaymentMethodObject renders a saved payment method (never its token).
func PaymentMethodObject(pm *store.PaymentMethod) client.PaymentMethod {
	return client.PaymentMethod{ID: pm.ID, Object: "payment_method", Customer: pm.CustomerID, Type: pm.Type,
		Card:   &client.SavedCard{Brand: pm.Brand, Last4: pm.Last4, ExpMonth: pm.ExpMonth, ExpYear: pm.ExpYear, Fingerprint: pm.Fingerprint},
		Status: pm.Status, Livemode: pm.Livemode, CreatedAt: pm.CreatedAt.UTC(), DetachedAt: utc(pm.DetachedAt)}
}

// AgreementObject renders an agreement.
func AgreementObject(a *store.Agreement) client.Agreement {
	out := client.Agreement{ID: a.ID, Object: "agreement", AppID: a.AppID, Customer: optional(a.CustomerID), Method: a.Method,
		Channel: a.Channel, ChannelAccount: a.ChannelAccountID, ChannelAgreementNo: a.ChannelAgreementNo, Status: string(a.Status),
		Plan:         client.AgreementPlan{Description: a.Description, MaxAmountPerCharge: a.MaxAmountPerCharge, Currency: a.Currency, Period: a.Period},
		TerminatedBy: optional(a.TerminatedBy), FailureCode: optional(a.FailureCode), ReturnURL: a.ReturnURL, NotifyURL: a.NotifyURL,
		Metadata: meta(a.Metadata), Livemode: a.Livemode, CreatedAt: a.CreatedAt.UTC(), ActivatedAt: utc(a.ActivatedAt), TerminatedAt: utc(a.TerminatedAt)}
	if a.Payer != (store.Payer{}) {
		out.Payer = &client.Payer{ID: a.Payer.ID, IP: a.Payer.IP, Country: a.Payer.Country}
	}
	if len(a.NextAction) > 0 && a.Status == store.AgreementPending {
		var na client.NextAction
		if json.Unmarshal(a.NextAction, &na) == nil && na.Type != "" {
			out.NextAction = &na
		}
	}
	return out
}

// ProductObject renders a product.
func ProductObject(p *store.Product) client.Product {
	return client.Product{ID: p.ID, Object: "product", Name: p.Name, Description: p.Description, Active: p.Active,
		Metadata: meta(p.Metadata), Livemode: p.Livemode, CreatedAt: p.CreatedAt.UTC()}
}

// PriceObject renders a price.
func PriceObject(p *store.Price) client.Price {
	return client.Price{ID: p.ID, Object: "price", Product: p.ProductID, Amount: p.Amount, Currency: p.Currency,
		Interval: p.Interval, IntervalCount: p.IntervalCount, TrialDays: p.TrialDays, Active: p.Active,
		Metadata: meta(p.Metadata), Livemode: p.Livemode, CreatedAt: p.CreatedAt.UTC()}
}

func lines(ls []store.InvoiceLine) []client.InvoiceLine {
	out := make([]client.InvoiceLine, len(ls))
	for i, l := range ls {
		out[i] = client.InvoiceLine{Description: l.Description, Amount: l.Amount, Quantity: l.Quantity, Price: optional(l.PriceID),
			PeriodStart: l.PeriodStart.UTC(), PeriodEnd: l.PeriodEnd.UTC(), Proration: l.Proration}
	}
	return out
}

// SubscriptionObject renders a subscription.
func SubscriptionObject(s *store.Subscription) client.Subscription {
	return client.Subscription{ID: s.ID, Object: "subscription", AppID: s.AppID, Customer: s.CustomerID, Price: s.PriceID,
		Quantity: s.Quantity, Status: string(s.Status), Agreement: optional(s.AgreementID), PaymentMethod: optional(s.PaymentMethodID),
		TestClock: optional(s.TestClockID), BillingCycleAnchor: s.BillingCycleAnchor.UTC(), CurrentPeriodStart: s.CurrentPeriodStart.UTC(),
		CurrentPeriodEnd: s.CurrentPeriodEnd.UTC(), TrialEnd: utc(s.TrialEnd), CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		CanceledAt: utc(s.CanceledAt), EndedAt: utc(s.EndedAt), AfterDunning: s.AfterDunning, PendingItems: lines(s.PendingItems),
		NotifyURL: s.NotifyURL, Metadata: meta(s.Metadata), Livemode: s.Livemode, CreatedAt: s.CreatedAt.UTC()}
}

// InvoiceObject renders an invoice.
func InvoiceObject(inv *store.Invoice) client.Invoice {
	return client.Invoice{ID: inv.ID, Object: "invoice", AppID: inv.AppID, Subscription: inv.SubscriptionID, Customer: inv.CustomerID,
		Status: string(inv.Status), Currency: inv.Currency, AmountDue: inv.AmountDue, AmountPaid: inv.AmountPaid, Lines: lines(inv.Lines),
		BillingReason: inv.BillingReason, PeriodStart: inv.PeriodStart.UTC(), PeriodEnd: inv.PeriodEnd.UTC(), AttemptCount: inv.AttemptCount,
		NextAttemptAt: utc(inv.NextAttemptAt), Order: optional(inv.OrderID), LastFailureCode: optional(inv.LastFailureCode),
		Livemode: inv.Livemode, CreatedAt: inv.CreatedAt.UTC(), FinalizedAt: utc(inv.FinalizedAt), PaidAt: utc(inv.PaidAt)}
}

// TestClockObject renders a test clock.
func TestClockObject(c *store.TestClock) client.TestClock {
	return client.TestClock{ID: c.ID, Object: "test_clock", Name: c.Name, FrozenTime: c.FrozenTime.UTC(), Status: c.Status,
		Livemode: c.Livemode, CreatedAt: c.CreatedAt.UTC()}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
