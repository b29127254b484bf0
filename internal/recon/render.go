package recon

import (
	"time"

	"github.com/paygate/paygate/internal/store"
)

// Run is a reconciliation run as the operator API renders it.
type Run struct {
	ID             string                      `json:"id"`
	Object         string                      `json:"object"`
	ChannelAccount string                      `json:"channel_account"`
	Provider       string                      `json:"provider"`
	Livemode       bool                        `json:"livemode"`
	Date           string                      `json:"date"`
	Status         string                      `json:"status"`
	Phase          string                      `json:"phase"`
	Pass           int                         `json:"pass"`
	Source         string                      `json:"source"`
	BillFormat     string                      `json:"bill_format"`
	BillSHA256     string                      `json:"bill_sha256"`
	Lines          int                         `json:"lines"`
	Classes        map[string]store.ReconTally `json:"classes"`
	Repaired       int                         `json:"repaired"`
	// OpenDiscrepancies is filled where it is known (show, events).
	OpenDiscrepancies *int       `json:"open_discrepancies,omitempty"`
	Error             string     `json:"error,omitempty"`
	StartedBy         string     `json:"started_by"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	CompletedAt       *time.Time `json:"completed_at"`
}

// RunObject renders a run: every class is listed, with zeros.
func RunObject(r *store.ReconRun, open *int) Run {
	out := Run{ID: r.ID, Object: "reconciliation", ChannelAccount: r.ChannelAccountID, Provider: r.Provider, Livemode: r.Livemode,
		Date: r.BillDate, Status: r.Status, Phase: r.Phase, Pass: r.Pass, Source: r.Source, BillFormat: r.BillFormat,
		BillSHA256: r.BillSHA256, Lines: r.Cursor, Classes: map[string]store.ReconTally{}, Repaired: r.Tallies[TallyRepaired].Count,
		OpenDiscrepancies: open, Error: r.Error, StartedBy: r.StartedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	for _, c := range Classes {
		out.Classes[c] = r.Tallies[c]
	}
	if r.CompletedAt != nil {
		t := r.CompletedAt.UTC()
		out.CompletedAt = &t
	}
	return out
}

// Discrepancy is a discrepancy as the operator API renders it. Amounts are
// signed minor units: payments positive, refunds negative.
type Discrepancy struct {
	ID              string     `json:"id"`
	Object          string     `json:"object"`
	Reconciliation  string     `json:"reconciliation"`
	ChannelAccount  string     `json:"channel_account"`
	Livemode        bool       `json:"livemode"`
	Date            string     `json:"date"`
	Class           string     `json:"class"`
	Kind            string     `json:"kind"`
	RefID           string     `json:"ref_id"`
	Merchant        string     `json:"merchant_id"`
	ChannelTradeNo  string     `json:"channel_trade_no"`
	ChannelRefundNo string     `json:"channel_refund_no"`
	Line            int        `json:"line"`
	BillAmount      int64      `json:"bill_amount"`
	BillFee         int64      `json:"bill_fee"`
	GatewayAmount   int64      `json:"gateway_amount"`
	Currency        string     `json:"currency"`
	Detail          string     `json:"detail"`
	Status          string     `json:"status"`
	Action          string     `json:"action"`
	Note            string     `json:"note"`
	ResolvedBy      string     `json:"resolved_by"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	CreatedAt       time.Time  `json:"created_at"`
}

// DiscrepancyObject renders a discrepancy.
func DiscrepancyObject(d *store.Discrepancy) Discrepancy {
	out := Discrepancy{ID: d.ID, Object: "reconciliation_discrepancy", Reconciliation: d.RunID, ChannelAccount: d.ChannelAccountID,
		Livemode: d.Livemode, Date: d.BillDate, Class: d.Class, Kind: d.RefKind, RefID: d.RefID, Merchant: d.MerchantID,
		ChannelTradeNo: d.ChannelTradeNo, ChannelRefundNo: d.ChannelRefundNo, Line: d.LineNo, BillAmount: d.BillAmount,
		BillFee: d.BillFee, GatewayAmount: d.GatewayAmount, Currency: d.Currency, Detail: d.Detail, Status: d.Status,
		Action: d.Action, Note: d.Note, ResolvedBy: d.ResolvedBy, CreatedAt: d.CreatedAt.UTC()}
	if d.ResolvedAt != nil {
		t := d.ResolvedAt.UTC()
		out.ResolvedAt = &t
	}
	return out
}
