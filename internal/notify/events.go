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

	// Recurring payments (internal/billing).
	AgreementActivated   = "agreement.activated"
	AgreementTerminated  = "agreement.terminated"
	SubscriptionCreated  = "subscription.created"
	SubscriptionUpdated  = "subscription.updated"
	SubscriptionRenewed  = "subscription.renewed"
	SubscriptionPastDue  = "subscription.past_due"
	SubscriptionCanceled = "subscription.canceled"
	InvoiceCreated       = "invoice.created"
	InvoicePaid          = "invoice.paid"
	InvoicePaymentFailed = "invoice.payment_failed"

	// Reconciliation (internal/recon), for operators.
	ReconciliationCompleted        = "reconciliation.completed"
	ReconciliationDiscrepancyFound = "reconciliation.discrepancy_found"

	// Money movement (internal/transfer).
	TransferCreated   = "transfer.created"
	TransferSucceeded = "transfer.succeeded"
	TransferFailed    = "transfer.failed"

	// Profit sharing (internal/profitsharing).
	ProfitSharingCreated   = "profit_sharing.created"
	ProfitSharingSucceeded = "profit_sharing.succeeded"
	ProfitSharingFailed    = "profit_sharing.failed"
	ProfitSharingFinished  = "profit_sharing.finished"
	ProfitSharingReturned  = "profit_sharing.returned"
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
	{AgreementActivated, "agreement", AudienceMerchant, "The payer signed an agreement at the channel: the merchant may charge on it."},
	{AgreementTerminated, "agreement", AudienceMerchant, "An agreement ended: terminated by the payer at the channel, by the merchant, or by the channel."},
	{SubscriptionCreated, "subscription", AudienceMerchant, "A subscription was created."},
	{SubscriptionUpdated, "subscription", AudienceMerchant, "A subscription changed: its price or quantity, its cancellation at period end, or its status back to active."},
	{SubscriptionRenewed, "subscription", AudienceMerchant, "A subscription's new period began (its invoice follows)."},
	{SubscriptionPastDue, "subscription", AudienceMerchant, "A subscription's invoice could not be collected; it is retried on the dunning schedule."},
	{SubscriptionCanceled, "subscription", AudienceMerchant, "A subscription ended: canceled by the merchant, at its period's end, or after dunning failed."},
	{InvoiceCreated, "invoice", AudienceMerchant, "An invoice was created for a subscription's period or change."},
	{InvoicePaid, "invoice", AudienceMerchant, "An invoice was paid."},
	{InvoicePaymentFailed, "invoice", AudienceMerchant, "A charge of an invoice failed; the next attempt, if any, is its next_attempt_at."},
	{ReconciliationCompleted, "reconciliation", AudienceOperator, "A reconciliation run of a channel account's day completed: its counts and totals per class, and how many discrepancies are open."},
	{ReconciliationDiscrepancyFound, "reconciliation", AudienceOperator, "A completed reconciliation run left discrepancies open for a person (list them with GET /admin/v1/reconciliation-discrepancies?reconciliation=…)."},
	{TransferCreated, "transfer", AudienceMerchant, "A transfer was made: its amount left the available balance and is in transit until the channel pays it."},
	{TransferSucceeded, "transfer", AudienceMerchant, "The channel paid a transfer to its payee."},
	{TransferFailed, "transfer", AudienceMerchant, "The channel refused a transfer for good; its amount is back in the available balance."},
	{ProfitSharingCreated, "profit_sharing", AudienceMerchant, "A profit sharing with receivers at a channel was made: its amount left the order's held money and is in transit until the channel pays it."},
	{ProfitSharingSucceeded, "profit_sharing", AudienceMerchant, "Every receiver of a profit sharing got its share."},
	{ProfitSharingFailed, "profit_sharing", AudienceMerchant, "The channel refused a profit sharing for good; its amount is held for the order again."},
	{ProfitSharingFinished, "profit_sharing_order", AudienceMerchant, "An order's profit sharing finished (asked for, or after the release limit): what was left of it went to the available balance."},
	{ProfitSharingReturned, "profit_sharing_return", AudienceMerchant, "A receiver merchant returned (part of) its share of a profit sharing."},
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
