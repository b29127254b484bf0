package recon

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// ResolveParams close a discrepancy by hand.
type ResolveParams struct {
	Action string // write_off, adjust or explained
	Note   string // why; required
	By     string // who; required
}

// Resolve closes an open discrepancy with a person's action, note and
// name, in one transaction with what the action books:
//
//   - For a discrepancy about a gateway transaction that succeeded, the
//     transaction is reconciled (how = resolved, so it settles) and an
//     entry closes its receivable: the settled cash takes what the bill
//     says (net of the channel's fee), and the difference between the
//     bill and the gateway goes to the write-offs account (write_off) or
//     the adjustments account (adjust). explained books the same entry
//     when there is no difference, and is refused when there is one.
//   - For a bill line the gateway has no transaction for (channel_only
//     without a ref_id), the money the channel holds is booked to
//     settled cash against write-offs or adjustments.
//   - duplicate and other_day lines, and transactions that did not
//     succeed, book nothing: the note records the decision.
func (s *Service) Resolve(ctx context.Context, discID string, p ResolveParams) (*store.Discrepancy, error) {
	switch p.Action {
	case WriteOff, Adjust, Explained:
	case "":
		return nil, errs.Missing("action")
	default:
		return nil, errs.InvalidParam("action", "action must be write_off, adjust or explained.")
	}
	p.Note, p.By = strings.TrimSpace(p.Note), strings.TrimSpace(p.By)
	if p.Note == "" {
		return nil, errs.Missing("note")
	}
	if utf8.RuneCountInString(p.Note) > 1000 {
		return nil, errs.InvalidParam("note", "note must be at most 1000 characters.")
	}
	if p.By == "" {
		return nil, errs.Missing("resolved_by")
	}
	if utf8.RuneCountInString(p.By) > 200 {
		return nil, errs.InvalidParam("resolved_by", "resolved_by must be at most 200 characters.")
	}
	d, err := s.GetDiscrepancy(ctx, discID)
	if err != nil {
		return nil, err
	}
	if d.Status != store.DiscrepancyOpen {
		return nil, ErrAlreadyResolved
	}
	now := s.now()
	var out *store.Discrepancy
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.DiscrepancyGet(ctx, d.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.DiscrepancyOpen {
			return ErrAlreadyResolved
		}
		billed, fee, claimed := cur.BillAmount, cur.BillFee, int64(0)
		var t *store.ReconTxn
		if cur.RefID != "" {
			found, err := tx.ReconLookup(ctx, cur.RefKind, []string{cur.RefID})
			if err != nil {
				return err
			}
			if t = found[cur.RefID]; t != nil && (t.Status != string(store.OrderSucceeded) || t.ReconciledDay != "") {
				t = nil // nothing to reconcile: not succeeded, or proved already
			}
		}
		books := true
		switch {
		case cur.Class == Duplicate || cur.Class == OtherDay:
			books = false
		case cur.RefID != "" && t == nil:
			books = false
		case t != nil:
			claimed = t.Amount
			if t.Kind == "refund" {
				claimed = -claimed
			}
		}
		if books {
			diffAcct := ledger.ReconWriteOffs(cur.Livemode)
			switch p.Action {
			case Adjust:
				diffAcct = ledger.ReconAdjustments(cur.Livemode)
			case Explained:
				if billed != claimed {
					return ErrDifference
				}
			}
			if t != nil {
				if err := tx.ReconciledAdd(ctx, &store.Reconciled{RefID: t.ID, RefKind: t.Kind, ChannelAccountID: cur.ChannelAccountID,
					BillDate: cur.BillDate, ChannelFee: fee, Currency: t.Currency, How: "resolved", RunID: cur.RunID, ReconciledAt: now}); err != nil {
					return err
				}
			}
			currency := cur.Currency
			if t != nil {
				currency = t.Currency
			}
			entry := ledger.Reconciliation(id.New(id.Entry, now), ledger.KindReconResolution, cur.ID, cur.ChannelAccountID, cur.Livemode,
				[]ledger.ReconMove{{Currency: currency, Claimed: claimed, Billed: billed, Fee: fee, DiffAccount: diffAcct}}, now)
			if len(entry.Lines) > 0 {
				if err := tx.LedgerPost(ctx, now, entry); err != nil {
					return err
				}
			}
		}
		c := *cur
		c.Status, c.Action, c.Note, c.ResolvedBy, c.ResolvedAt, c.UpdatedAt = store.DiscrepancyResolved, p.Action, p.Note, p.By, &now, now
		if err := tx.DiscrepancyClose(ctx, &c); err != nil {
			if errors.Is(err, store.ErrStale) {
				return ErrAlreadyResolved
			}
			return err
		}
		out = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log().Info("reconciliation discrepancy resolved", "discrepancy", out.ID, "action", out.Action, "by", out.ResolvedBy)
	return out, nil
}
