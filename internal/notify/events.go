package notify

import "slices"

// Event types. Each is announced in the transaction of the change it
// describes; the table below is the one list of them.
const (
	OrderSucceeded  = "order.succeeded"
	OrderFailed     = "order.failed"
	OrderClosed     = "order.closed"
	RefundSucceeded = "refund.succeeded"
	RefundFailed    = "refund.failed"
	SettlementPaid  = "settlement.paid"
	// RiskReviewOpened: a risk rule sent an order to review.
	RiskReviewOpened = "risk.review_opened"
)

// Audiences of event types.
const (
	// AudienceMerchant: delivered to the merchant's notify_url and webhook
	// endpoints.
	AudienceMerchant = "merchant"
	// AudienceOperator: for the platform's operators (reconciliation,
	// settlement runs); merchants cannot subscribe to them.
	AudienceOperator = "operator"
)

// EventType describes one type of event.
type EventType struct {
	Name string
	// Object is the type of the object in the event's data ("order", …).
	Object   string
	Audience string
	// Description says when the event is sent, for the API reference.
	Description string
}

// eventTypes is the one table of event types.
var eventTypes = []EventType{
	{OrderSucceeded, "order", AudienceMerchant, "An order was paid."},
	{OrderFailed, "order", AudienceMerchant, "An order's payment failed for good."},
	{OrderClosed, "order", AudienceMerchant, "An unpaid order was closed by the merchant or expired."},
	{RefundSucceeded, "refund", AudienceMerchant, "A refund went through at the channel."},
	{RefundFailed, "refund", AudienceMerchant, "A refund failed; its amount is refundable again."},
	{SettlementPaid, "settlement", AudienceMerchant, "A settlement's payout reached the merchant's bank (the operator confirmed it with the bank's reference). The event is the merchant's, not one app's: it goes to the subscribed endpoints of each of the merchant's apps in its mode."},
	{RiskReviewOpened, "order", AudienceMerchant, "A risk rule sent an order to review: it waits (requires_review) until the operator approves or rejects it, or it expires."},
}

// EventTypes returns every event type, in the table's order.
func EventTypes() []EventType { return slices.Clone(eventTypes) }

// MerchantEventTypes returns the names of the event types merchants may
// subscribe their webhook endpoints to.
func MerchantEventTypes() []string {
	var out []string
	for _, t := range eventTypes {
		if t.Audience == AudienceMerchant {
			out = append(out, t.Name)
		}
	}
	return out
}

// LookupEventType returns the event type named name.
func LookupEventType(name string) (EventType, bool) {
	for _, t := range eventTypes {
		if t.Name == name {
			return t, true
		}
	}
	return EventType{}, false
}
