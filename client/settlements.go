package client

import (
	"context"
	"net/http"
	"time"
)

// Settlement is a settlement batch: a merchant's reconciled payments and
// refunds in one mode and currency up to the end of one of its days
// (Date, in Timezone), paid out on SettleDate (T+N). Net = Gross − Refunds
// − Fees + Adjustments − ReserveHeld + ReserveReleased.
type Settlement struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Livemode bool   `json:"livemode"`
	Currency string `json:"currency"`
	// Date is the merchant's day the batch closes; SettleDate the day it is
	// due to be paid out (Date + the merchant's settle days).
	Date       string `json:"date"`
	SettleDate string `json:"settle_date"`
	Timezone   string `json:"timezone"`
	// Status is pending (settled into the available balance, awaiting
	// payout), in_transit (payout started), paid, or carried_forward
	// (nothing to pay: a negative net is a line of the next batch).
	Status          string `json:"status"`
	Gross           int64  `json:"gross"`
	Refunds         int64  `json:"refunds"`
	Fees            int64  `json:"fees"`
	Adjustments     int64  `json:"adjustments"`
	ReserveHeld     int64  `json:"reserve_held"`
	ReserveReleased int64  `json:"reserve_released"`
	Net             int64  `json:"net"`
	PaymentCount    int    `json:"payment_count"`
	RefundCount     int    `json:"refund_count"`
	// Waiting is what did not settle in this batch because it is not
	// reconciled with the channel's bill yet; it settles in a later batch.
	Waiting            SettlementWaiting `json:"waiting"`
	ReserveReleaseDate *string           `json:"reserve_release_date"`
	CarriedTo          *string           `json:"carried_to"`
	BankReference      *string           `json:"bank_reference"`
	PayoutStartedAt    *time.Time        `json:"payout_started_at"`
	PaidAt             *time.Time        `json:"paid_at"`
	CreatedAt          time.Time         `json:"created_at"`
	// Lines are the batch's first lines, with expand=lines.
	Lines *SettlementLineList `json:"lines,omitempty"`
	// FX is the conversion of a batch in another currency than the
	// merchant's settlement currency at the day's rate, nil when none: its
	// net was paid into the available balance, and is paid out, as FX.Net
	// of FX.Currency.
	FX *SettlementFX `json:"fx"`

	// The operator API's view adds the merchant, what the channels kept
	// and the platform's margin (Fees − ChannelFees).
	MerchantID  string `json:"merchant_id,omitempty"`
	ChannelFees *int64 `json:"channel_fees,omitempty"`
	Margin      *int64 `json:"margin,omitempty"`
}

// SettlementWaiting tallies what waits: Reason is "not_reconciled" when
// something does, "" otherwise. Refunds' Amount is positive.
type SettlementWaiting struct {
	Reason   string `json:"reason,omitempty"`
	Payments Tally  `json:"payments"`
	Refunds  Tally  `json:"refunds"`
}

// Tally is a count and a sum in minor units.
type Tally struct {
	Count  int   `json:"count"`
	Amount int64 `json:"amount"`
}

// SettlementLine is one line of a settlement: a payment (RefID ord_…), a
// refund (rfd_…), a negative net carried forward from an earlier batch
// (carry_forward, its stl_…), or a rolling reserve held (reserve_hold) or
// released (reserve_release, the stl_… that held it). Amount, Fee and Net
// are signed as they move the merchant's money: Net = Amount − Fee.
type SettlementLine struct {
	Object     string    `json:"object"`
	Kind       string    `json:"kind"`
	RefID      string    `json:"ref_id"`
	Currency   string    `json:"currency"`
	Amount     int64     `json:"amount"`
	Fee        int64     `json:"fee"`
	Net        int64     `json:"net"`
	OccurredAt time.Time `json:"occurred_at"`
	// ChannelFee is what the channel kept (operator API only).
	ChannelFee *int64 `json:"channel_fee,omitempty"`
}

// SettlementLineList is a page of a settlement's lines; URL lists the rest.
type SettlementLineList struct {
	Object  string           `json:"object"`
	Data    []SettlementLine `json:"data"`
	HasMore bool             `json:"has_more"`
	URL     string           `json:"url"`
}

// SettlementSettings are a merchant's settlement terms and fee schedule
// (operator API).
type SettlementSettings struct {
	Object     string `json:"object"`
	MerchantID string `json:"merchant_id"`
	// SettleDays is N of T+N.
	SettleDays int `json:"settle_days"`
	// ReserveBps of each batch's positive net is held for ReserveDays
	// after its settle date (a rolling reserve).
	ReserveBps  int `json:"reserve_bps"`
	ReserveDays int `json:"reserve_days"`
	// FeeRateBps is the merchant's default rate (its fee_rate_bps, set
	// when the merchant was created); FixedFee its default fixed fee per
	// payment, in minor units of its settlement currency; MethodFees
	// override both per method.
	FeeRateBps int         `json:"fee_rate_bps"`
	FixedFee   int64       `json:"fixed_fee"`
	MethodFees []MethodFee `json:"method_fees"`
	UpdatedAt  *time.Time  `json:"updated_at"`
}

// MethodFee is a merchant's fee for one payment method.
type MethodFee struct {
	Method     string `json:"method"`
	FeeRateBps int    `json:"fee_rate_bps"`
	FixedFee   int64  `json:"fixed_fee"`
}

// SettlementRun is what a run of settlement did (operator API).
type SettlementRun struct {
	Object      string            `json:"object"`
	Date        string            `json:"date"`
	Merchants   int               `json:"merchants"`
	Settlements []Settlement      `json:"settlements"`
	Skipped     map[string]string `json:"skipped"`
}

// ListSettlements lists the merchant's settlements, newest first
// (p.Status and p.Extra["currency"], p.Extra["date"] filter).
func (c *Client) ListSettlements(ctx context.Context, p ListParams) (*List[Settlement], error) {
	return call[List[Settlement]](ctx, c, http.MethodGet, "/v1/settlements"+p.query(), nil, nil)
}

// GetSettlement retrieves a settlement; withLines expands its first lines.
func (c *Client) GetSettlement(ctx context.Context, id string, withLines bool) (*Settlement, error) {
	seg, err := segment("settlement id", id)
	if err != nil {
		return nil, err
	}
	path := "/v1/settlements/" + seg
	if withLines {
		path += "?expand=lines"
	}
	return call[Settlement](ctx, c, http.MethodGet, path, nil, nil)
}

// ListSettlementLines pages through a settlement's lines in time order;
// p.StartingAfter is the ref_id of the last line of the previous page.
func (c *Client) ListSettlementLines(ctx context.Context, id string, p ListParams) (*List[SettlementLine], error) {
	seg, err := segment("settlement id", id)
	if err != nil {
		return nil, err
	}
	return call[List[SettlementLine]](ctx, c, http.MethodGet, "/v1/settlements/"+seg+"/lines"+p.query(), nil, nil)
}

// SettlementFX is a settlement batch's conversion: its net converted into
// Net of Currency at the mid Rate less the platform's markup (Markup, in
// Currency); RateID names the rate used.
type SettlementFX struct {
	Currency string `json:"currency"`
	Net      int64  `json:"net"`
	Rate     string `json:"rate"`
	RateID   string `json:"rate_id"`
	Markup   int64  `json:"markup"`
}
