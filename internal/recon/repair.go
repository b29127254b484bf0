package recon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// repair asks the channel about the run's open channel_only and
// status_mismatch lines whose transaction the gateway has, through the
// payment service (the same query, compare-and-set, postings and events as
// a callback), and matches what it then proves. A late payment (the order
// was closed) is refunded at once unless its merchant keeps late payments.
// What the channel does not confirm stays open for people.
func (st *runState) repair(ctx context.Context) error {
	s := st.svc
	if s.Payments != nil {
		ds, err := s.Store.DiscrepanciesOpen(ctx, st.run.ID, ChannelOnly, StatusMismatch)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.RefID == "" {
				continue
			}
			if err := st.renew(ctx); err != nil {
				return err
			}
			if err := st.repairOne(ctx, d); err != nil {
				if ctx.Err() != nil || errors.Is(err, store.ErrStale) {
					return err
				}
				s.log().Warn("reconciliation: repair failed; the discrepancy stays open", "run", st.run.ID, "discrepancy", d.ID, "err", err)
			}
		}
	}
	return st.advance(ctx, store.PhaseSweep)
}

func (st *runState) repairOne(ctx context.Context, d *store.Discrepancy) error {
	s := st.svc
	action := "rechecked with the channel"
	if d.RefKind == string(channel.NotifyPayment) {
		before, err := s.Store.OrderGet(ctx, d.RefID)
		if err != nil {
			return err
		}
		o, err := s.Payments.RecheckOrder(ctx, d.RefID)
		if err != nil {
			return err
		}
		if o.Status != store.OrderSucceeded {
			return nil // the channel does not confirm it: a person looks
		}
		action = fmt.Sprintf("rechecked with the channel: the payment succeeded (was %s)", before.Status)
		// A channel_only payment line names an order the gateway had
		// closed or failed when the line was read: a late payment. (Not
		// before.Status: a run that died after the recheck finds the
		// order succeeded already, and must still refund it.)
		if d.Class == ChannelOnly {
			policy, err := s.LatePayment(ctx, o.MerchantID)
			if err != nil {
				return err
			}
			if policy == LateRefund {
				r, err := s.Payments.RefundLatePayment(ctx, o.ID, "Paid after the order was closed (found by reconciliation).")
				if err != nil {
					return fmt.Errorf("refund late payment of %s: %w", o.ID, err)
				}
				action += "; late payment refunded by " + r.ID
			} else {
				action += "; late payment kept (merchant setting)"
			}
		}
	} else {
		r, err := s.Payments.RecheckRefund(ctx, d.RefID)
		if err != nil {
			return err
		}
		if r.Status != store.RefundSucceeded {
			return nil
		}
		action = "rechecked with the channel: the refund succeeded"
	}
	return st.rejudge(ctx, d, action)
}

// rejudge classifies a repaired discrepancy's line again, against the
// transaction as it is now: matched, it is reconciled and the discrepancy
// closed as repaired; of another class, the discrepancy is closed and one
// of the new class opened.
func (st *runState) rejudge(ctx context.Context, d *store.Discrepancy, action string) error {
	s := st.svc
	now := s.now()
	rec := channel.BillRecord{Kind: channel.NotifyKind(d.RefKind), Amount: d.BillAmount, Fee: d.BillFee, Currency: d.Currency,
		ChannelTradeNo: d.ChannelTradeNo, ChannelRefundNo: d.ChannelRefundNo}
	if rec.Kind == channel.NotifyRefund {
		rec.Amount, rec.RefundID = -rec.Amount, d.RefID
	} else {
		rec.OrderID = d.RefID
	}
	var next *store.ReconRun
	var opened []*store.Discrepancy
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		found, err := tx.ReconLookup(ctx, d.RefKind, []string{d.RefID})
		if err != nil {
			return err
		}
		t := found[d.RefID]
		v := st.judge(rec, t)
		if v.class == d.Class {
			return nil
		}
		closed := *d
		closed.Status, closed.Action, closed.ResolvedBy, closed.ResolvedAt, closed.UpdatedAt = store.DiscrepancyRepaired, action, "reconciliation", &now, now
		if v.class == Matched && !v.reconcile {
			// This pass matched the line already (a rerun, the payment
			// succeeded since the discrepancy was found): what is left is
			// to close it, the repair's side effects being done.
			return tx.DiscrepancyClose(ctx, &closed)
		}
		r := *st.run
		r.Tallies = cloneTallies(st.run.Tallies)
		old := r.Tallies[d.Class]
		old.Count--
		old.Amount -= d.BillAmount
		old.Fee -= d.BillFee
		r.Tallies[d.Class] = old
		nw := r.Tallies[v.class]
		nw.Count++
		nw.Amount += d.BillAmount
		nw.Fee += d.BillFee
		r.Tallies[v.class] = nw
		if err := tx.DiscrepancyClose(ctx, &closed); err != nil {
			return err
		}
		if v.class == Matched {
			if v.reconcile {
				if err := tx.ReconciledAdd(ctx, &store.Reconciled{RefID: t.ID, RefKind: t.Kind, ChannelAccountID: st.acct.ID,
					BillDate: st.run.BillDate, ChannelFee: d.BillFee, Currency: t.Currency, How: "matched", RunID: st.run.ID, ReconciledAt: now}); err != nil {
					return err
				}
				entry := ledger.Reconciliation(id.New(id.Entry, now), ledger.KindReconciliation, d.ID, st.acct.ID, st.acct.Livemode,
					[]ledger.ReconMove{{Currency: t.Currency, Claimed: d.BillAmount, Billed: d.BillAmount, Fee: d.BillFee}}, now)
				if len(entry.Lines) > 0 {
					if err := tx.LedgerPost(ctx, now, entry); err != nil {
						return err
					}
				}
			}
		} else {
			nd := *d
			nd.ID, nd.Class, nd.Detail, nd.CreatedAt, nd.UpdatedAt = id.New(id.Discrepancy, now), v.class, v.detail, now, now
			nd.DedupeKey = fmt.Sprintf("%s|%s|%s|%s|%s", st.acct.ID, st.run.BillDate, v.class, d.RefKind, d.RefID)
			if opened, err = tx.DiscrepancyAdd(ctx, &nd); err != nil {
				return err
			}
		}
		r.UpdatedAt = now
		if err := tx.ReconRunSave(ctx, &r, st.run.Cursor); err != nil {
			return err
		}
		next = &r
		return nil
	})
	if err != nil {
		return err
	}
	if next != nil {
		st.run = next
		s.log().Info("reconciliation repaired a discrepancy", "run", st.run.ID, "discrepancy", d.ID, "action", action, "opened", len(opened))
	}
	return nil
}

// sweep finds the account's succeeded payments and refunds of the day
// that no bill line named (gateway_only, 短款) and records them.
func (st *runState) sweep(ctx context.Context) error {
	s := st.svc
	var batch []*store.ReconTxn
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		now := s.now()
		ds := make([]*store.Discrepancy, len(batch))
		for i, t := range batch {
			amt := t.Amount
			if t.Kind == "refund" {
				amt = -amt
			}
			ds[i] = &store.Discrepancy{
				ID: id.New(id.Discrepancy, now), RunID: st.run.ID, ChannelAccountID: st.acct.ID, Livemode: st.acct.Livemode,
				BillDate: st.run.BillDate, Class: GatewayOnly, RefKind: t.Kind, RefID: t.ID, MerchantID: t.MerchantID,
				ChannelTradeNo: t.ChannelTradeNo, ChannelRefundNo: t.ChannelRefundNo, GatewayAmount: amt, Currency: t.Currency,
				Detail: fmt.Sprintf("The gateway counts this %s as succeeded; the channel's bill has no line for it.", t.Kind),
				Status: store.DiscrepancyOpen, DedupeKey: fmt.Sprintf("%s|gateway_only|%s", st.acct.ID, t.ID), CreatedAt: now, UpdatedAt: now,
			}
		}
		batch = batch[:0]
		return s.Store.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.DiscrepancyAdd(ctx, ds...)
			return err
		})
	}
	err := s.Store.ReconUnbilled(ctx, st.acct.ID, st.acct.Livemode, st.from, st.to, func(t *store.ReconTxn) error {
		batch = append(batch, t)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	return st.advance(ctx, store.PhaseDone)
}

// complete sums what the sweep and repairs left in the discrepancies,
// marks the run completed and writes its events, in one transaction.
func (st *runState) complete(ctx context.Context) error {
	s := st.svc
	sums, err := s.Store.DiscrepancySummary(ctx, st.run.ID)
	if err != nil {
		return err
	}
	open := 0
	var gw store.ReconTally
	repaired := 0
	for _, sm := range sums {
		if sm.Status == store.DiscrepancyOpen {
			open += sm.Count
		}
		if sm.Status == store.DiscrepancyRepaired && sm.Class != GatewayOnly {
			repaired += sm.Count
		}
		if sm.Class == GatewayOnly {
			gw.Count += sm.Count
			gw.Amount += sm.GatewayAmount
		}
	}
	now := s.now()
	r := *st.run
	r.Tallies = cloneTallies(st.run.Tallies)
	if gw.Count > 0 {
		r.Tallies[GatewayOnly] = gw
	} else {
		delete(r.Tallies, GatewayOnly)
	}
	if repaired > 0 {
		r.Tallies[TallyRepaired] = store.ReconTally{Count: repaired}
	}
	r.Status, r.Phase, r.Error, r.UpdatedAt, r.CompletedAt = store.ReconCompleted, store.PhaseDone, "", now, &now
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ReconRunSave(ctx, &r, st.run.Cursor); err != nil {
			return err
		}
		evs := []*store.Event{operatorEvent(notify.ReconciliationCompleted, &r, open, now)}
		if open > 0 {
			evs = append(evs, operatorEvent(notify.ReconciliationDiscrepancyFound, &r, open, now))
		}
		return tx.EventAdd(ctx, now, evs...)
	})
	if err != nil {
		return err
	}
	st.run = &r
	s.notify()
	s.log().Info("reconciliation completed", "run", r.ID, "channel_account", r.ChannelAccountID, "date", r.BillDate, "open_discrepancies", open)
	return nil
}

// operatorEvent is an event for the platform's operators: it belongs to
// no merchant, so no merchant's endpoint receives it.
func operatorEvent(typ string, r *store.ReconRun, open int, at time.Time) *store.Event {
	data, _ := json.Marshal(RunObject(r, &open))
	return &store.Event{ID: id.New(id.Event, at), Type: typ, Livemode: r.Livemode, ObjectType: "reconciliation", ObjectID: r.ID, Data: data, CreatedAt: at}
}
