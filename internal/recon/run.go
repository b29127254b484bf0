package recon

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// RunParams ask for a reconciliation of one channel account's day.
type RunParams struct {
	ChannelAccountID string
	Date             string // YYYY-MM-DD, the channel's day
	// Bill is the bill file an operator uploads; nil: the connector
	// downloads it.
	Bill *Upload
	// StartedBy says who asked (operator, job, cli), for the record.
	StartedBy string
}

// Run reconciles a channel account's day: it takes the day's lease, gets
// and checks the bill, then matches it (resuming where a run that died
// stopped), repairs what the channel proves, sweeps for what the bill
// lacks, and completes the run. A bad bill is refused before anything is
// applied. Running a completed day again reruns it (a new pass) and
// converges: nothing is posted twice.
func (s *Service) Run(ctx context.Context, p RunParams) (*store.ReconRun, error) {
	day, err := ParseDay(p.Date)
	if err != nil {
		return nil, errs.InvalidParam("date", "date must be a day written YYYY-MM-DD.")
	}
	if !id.Valid(id.ChannelAccount, p.ChannelAccountID) {
		return nil, ErrAccountNotFound
	}
	conn, acct, err := s.Accounts.ConnectorByID(ctx, p.ChannelAccountID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrAccountNotFound
	}
	if err != nil {
		return nil, err
	}
	from, to := s.window(day)
	if !s.now().After(to) {
		return nil, ErrBillNotReady
	}
	name := "recon:" + acct.ID + ":" + p.Date
	if err := s.acquire(ctx, name); err != nil {
		return nil, err
	}
	run, err := s.runLocked(ctx, p, conn, acct, day, from, to, name)
	done := time.Time{}
	if err == nil {
		done = s.now()
	}
	if rerr := s.Store.LeaseRelease(context.WithoutCancel(ctx), name, s.holder(), s.now(), done); rerr != nil && err == nil {
		err = fmt.Errorf("release %s: %w", name, rerr)
	}
	return run, err
}

// window is the channel's day as [from, to) in UTC.
func (s *Service) window(day time.Time) (time.Time, time.Time) {
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, s.loc())
	return from.UTC(), from.AddDate(0, 0, 1).UTC()
}

func (s *Service) runLocked(ctx context.Context, p RunParams, conn channel.Connector, acct *store.ChannelAccount, day, from, to time.Time, lease string) (*store.ReconRun, error) {
	var b *bill
	var err error
	if p.Bill != nil {
		b, err = fileBill(acct.Provider, day, p.Bill.R, p.Bill.Size, SourceUpload)
	} else {
		b, err = s.download(ctx, conn, acct.Provider, acct.Livemode, day)
	}
	if err != nil {
		return nil, err
	}
	lines, err := s.check(ctx, acct, b, from, to)
	if err != nil {
		return nil, err
	}
	now := s.now()
	startedBy := p.StartedBy
	if startedBy == "" {
		startedBy = "operator"
	}
	run, created, err := s.Store.ReconRunStart(ctx, &store.ReconRun{
		ID: id.New(id.ReconRun, now), ChannelAccountID: acct.ID, Provider: acct.Provider, Livemode: acct.Livemode,
		BillDate: p.Date, Status: store.ReconRunning, Phase: store.PhaseMatch, Pass: 1, Source: b.source,
		BillFormat: b.format, BillSHA256: b.digest, StartedBy: startedBy, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return nil, err
	}
	if !created && (run.Status != store.ReconRunning || run.BillSHA256 != b.digest) {
		// A finished day run again, or a run that died reading another
		// bill: a new pass from the first line. What the earlier pass
		// proved stays (its reconciled rows are never written twice).
		r := *run
		r.Source, r.BillFormat, r.BillSHA256, r.StartedBy = b.source, b.format, b.digest, startedBy
		if run, err = s.Store.ReconRunRestart(ctx, &r, now); err != nil {
			return nil, err
		}
	}
	gw, err := s.Store.DiscrepanciesGatewayOnly(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	st := &runState{svc: s, acct: acct, run: run, from: from, to: to, lease: lease, seen: map[[16]byte]struct{}{}, gatewayOnly: gw, renewed: s.now(), lines: lines}
	if err := st.finish(ctx, b); err != nil {
		s.fail(ctx, run.ID, err)
		return nil, err
	}
	return st.run, nil
}

// fail records a run's error (the run stays resumable: a rerun starts a
// new pass that converges).
func (s *Service) fail(ctx context.Context, runID string, cause error) {
	if errors.Is(cause, ErrRunInProgress) || errors.Is(cause, store.ErrStale) || ctx.Err() != nil {
		return // another node has it, or we were stopped: leave it resumable
	}
	err := s.Store.InTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		r, err := tx.ReconRunGet(ctx, runID)
		if err != nil {
			return err
		}
		r.Status, r.Error, r.UpdatedAt = store.ReconFailed, cause.Error(), s.now()
		return tx.ReconRunSave(ctx, r, r.Cursor)
	})
	if err != nil {
		s.log().Error("reconciliation: record failure", "run", runID, "err", err)
	}
}

// check reads the whole bill once before anything is applied: a
// malformed or truncated file, a bill of another day (no line of the
// day) or of another channel account (its transactions are another
// account's) is refused here.
func (s *Service) check(ctx context.Context, acct *store.ChannelAccount, b *bill, from, to time.Time) (int, error) {
	var lines, otherDay int
	var payments, refunds []string
	err := b.scan(func(r channel.BillRecord) error {
		lines++
		if !r.At.IsZero() && (r.At.Before(from) || !r.At.Before(to)) {
			otherDay++
		}
		switch {
		case r.Kind == channel.NotifyPayment && r.OrderID != "" && len(payments) < 200:
			payments = append(payments, r.OrderID)
		case r.Kind == channel.NotifyRefund && r.RefundID != "" && len(refunds) < 200:
			refunds = append(refunds, r.RefundID)
		}
		return nil
	})
	if err != nil {
		return 0, explain(acct.Provider, err)
	}
	day := from.In(s.loc()).Format(DayLayout)
	if lines > 0 && otherDay == lines {
		return 0, badBill(fmt.Sprintf("The bill is not of %s: none of its %d lines is of that day (in %s).", day, lines, s.loc()), nil)
	}
	var own, foreign int
	foreignAcct := ""
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		for _, q := range []struct {
			kind string
			ids  []string
		}{{"payment", payments}, {"refund", refunds}} {
			found, err := tx.ReconLookup(ctx, q.kind, q.ids)
			if err != nil {
				return err
			}
			for _, t := range found {
				if t.ChannelAccountID == acct.ID {
					own++
				} else {
					foreign++
					foreignAcct = t.ChannelAccountID
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if own == 0 && foreign > 0 {
		return 0, badBill(fmt.Sprintf("The bill is not channel account %s's: its transactions are served by %s.", acct.ID, foreignAcct), nil)
	}
	return lines, nil
}

// runState is one run in progress on this node.
type runState struct {
	svc   *Service
	acct  *store.ChannelAccount
	run   *store.ReconRun
	from  time.Time
	to    time.Time
	lease string
	// seen holds a hash of each line's key, to find duplicate lines.
	seen map[[16]byte]struct{}
	// gatewayOnly are the account's open gateway_only discrepancies (from
	// earlier days' bills) by transaction: a line that matches one closes it.
	gatewayOnly map[string]string
	// renewed is when the lease was last renewed.
	renewed time.Time
	// lines is how many lines the bill has (the check counted them).
	lines int
}

// numbered is a bill line and its number (1-based, in the records the
// parser returns).
type numbered struct {
	no  int
	rec channel.BillRecord
}

// finish runs what is left of the run's phases.
func (st *runState) finish(ctx context.Context, b *bill) error {
	if st.run.Phase == store.PhaseMatch {
		if err := st.match(ctx, b); err != nil {
			return err
		}
	}
	if st.run.Phase == store.PhaseRepair {
		if err := st.repair(ctx); err != nil {
			return err
		}
	}
	if st.run.Phase == store.PhaseSweep {
		if err := st.sweep(ctx); err != nil {
			return err
		}
	}
	return st.complete(ctx)
}

// match streams the bill and applies it a chunk at a time. Lines before
// the cursor (applied by an earlier attempt of this pass) are only
// remembered for duplicates.
func (st *runState) match(ctx context.Context, b *bill) error {
	size := st.svc.chunk()
	var chunk []numbered
	n := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := st.renew(ctx); err != nil {
			return err
		}
		if err := st.apply(ctx, chunk); err != nil {
			return err
		}
		st.svc.log().Debug("reconciliation chunk applied", "run", st.run.ID, "lines", st.run.Cursor)
		if st.svc.Progress != nil {
			st.svc.Progress(st.run, st.run.Cursor, st.lines)
		}
		chunk = chunk[:0]
		return ctx.Err()
	}
	err := b.scan(func(r channel.BillRecord) error {
		n++
		if n <= st.run.Cursor {
			st.seen[lineKey(r)] = struct{}{}
			return nil
		}
		chunk = append(chunk, numbered{no: n, rec: r})
		if len(chunk) >= size {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	return st.advance(ctx, store.PhaseRepair)
}

// renew renews the run's lease once a third of it has passed (a write of
// its own: not for every chunk).
func (st *runState) renew(ctx context.Context) error {
	if now := st.svc.now(); now.Sub(st.renewed) >= st.svc.lease()/3 {
		if err := st.svc.acquire(ctx, st.lease); err != nil {
			return err
		}
		st.renewed = now
	}
	return nil
}

// advance moves the run to the next phase.
func (st *runState) advance(ctx context.Context, phase string) error {
	return st.svc.Store.InTx(ctx, func(tx store.Tx) error {
		r := *st.run
		r.Phase, r.UpdatedAt = phase, st.svc.now()
		if err := tx.ReconRunSave(ctx, &r, st.run.Cursor); err != nil {
			return err
		}
		st.run = &r
		return nil
	})
}

// lineKey identifies a line's transaction for finding duplicates.
func lineKey(r channel.BillRecord) [16]byte {
	h := fnv.New128a()
	h.Write([]byte(r.Kind))
	h.Write([]byte{0})
	switch {
	case r.Kind == channel.NotifyRefund && r.RefundID != "":
		h.Write([]byte(r.RefundID))
	case r.Kind == channel.NotifyRefund:
		h.Write([]byte("#" + r.ChannelRefundNo))
	case r.OrderID != "":
		h.Write([]byte(r.OrderID))
	default:
		h.Write([]byte("#" + r.ChannelTradeNo))
	}
	var k [16]byte
	h.Sum(k[:0])
	return k
}

// verdict is what a line is.
type verdict struct {
	class  string
	detail string
	// reconcile: the line proves the transaction (matched, and not
	// reconciled before); already: matched and reconciled by this run.
	reconcile bool
}

// signed is a line's amount as money into the platform (refunds negative).
func signed(r channel.BillRecord) int64 {
	if r.Kind == channel.NotifyRefund {
		return -r.Amount
	}
	return r.Amount
}

// expectedFee is the channel's fee on amount at the account's rate,
// rounded half up (the channels' rounding).
func expectedFee(amount int64, bps int) int64 { return (amount*int64(bps) + 5000) / 10000 }

// judge classifies a line against its gateway transaction t (nil when the
// gateway has none). Duplicates and other days are decided by the caller.
func (st *runState) judge(r channel.BillRecord, t *store.ReconTxn) verdict {
	noun := "payment"
	if r.Kind == channel.NotifyRefund {
		noun = "refund"
	}
	if t == nil {
		return verdict{class: ChannelOnly, detail: "The gateway has no such " + noun + "."}
	}
	if t.ChannelAccountID != st.acct.ID {
		return verdict{class: ChannelOnly, detail: fmt.Sprintf("The gateway's %s %s is served by channel account %s.", noun, t.ID, t.ChannelAccountID)}
	}
	if t.Status != string(store.OrderSucceeded) {
		class := StatusMismatch
		if r.Kind == channel.NotifyPayment && (t.Status == string(store.OrderClosed) || t.Status == string(store.OrderFailed) || t.Status == string(store.OrderRequiresReview)) {
			class = ChannelOnly
		}
		return verdict{class: class, detail: fmt.Sprintf("The channel says the %s succeeded; the gateway has it %s.", noun, t.Status)}
	}
	if t.ReconciledDay != "" && t.ReconciledRun != st.run.ID {
		return verdict{class: Duplicate, detail: fmt.Sprintf("The %s was reconciled already, on the bill of %s (%s).", noun, t.ReconciledDay, t.ReconciledRun)}
	}
	if r.ChannelTradeNo != "" && t.ChannelTradeNo != "" && r.ChannelTradeNo != t.ChannelTradeNo {
		return verdict{class: StatusMismatch, detail: fmt.Sprintf("The channel's trade number is %s; the gateway's %s has %s.", r.ChannelTradeNo, noun, t.ChannelTradeNo)}
	}
	if r.Amount != t.Amount || (r.Currency != "" && r.Currency != t.Currency) {
		return verdict{class: AmountMismatch, detail: fmt.Sprintf("The bill says %d %s; the gateway's %s is %d %s.", r.Amount, r.Currency, noun, t.Amount, t.Currency)}
	}
	if bps := st.acct.FeeBps; bps > 0 {
		want := expectedFee(r.Amount, bps)
		off := r.Fee - want
		if r.Kind == channel.NotifyRefund {
			// Refunds return the fee pro rata; channels round the share
			// their own way, so a fen either side is not a finding.
			off = r.Fee + want
			if off == 1 || off == -1 {
				off = 0
			}
		}
		if off != 0 {
			if r.Kind == channel.NotifyRefund {
				want = -want
			}
			return verdict{class: FeeMismatch, detail: fmt.Sprintf("The channel's fee is %d; at %d bps it should be %d.", r.Fee, bps, want)}
		}
	}
	return verdict{class: Matched, reconcile: t.ReconciledDay == ""}
}

// apply classifies a chunk of lines and writes what they prove in one
// transaction: reconciled rows, one ledger entry, discrepancies, and the
// run's cursor and tallies.
func (st *runState) apply(ctx context.Context, lines []numbered) error {
	var payIDs, refundIDs []string
	for _, l := range lines {
		switch {
		case l.rec.Kind == channel.NotifyRefund && l.rec.RefundID != "":
			refundIDs = append(refundIDs, l.rec.RefundID)
		case l.rec.Kind == channel.NotifyPayment && l.rec.OrderID != "":
			payIDs = append(payIDs, l.rec.OrderID)
		}
	}
	s := st.svc
	now := s.now()
	var next *store.ReconRun
	var found []*store.Discrepancy
	// seen is updated as lines are judged; a failed chunk fails the run,
	// so a half-updated set is never used.
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		pays, err := tx.ReconLookup(ctx, "payment", payIDs)
		if err != nil {
			return err
		}
		refunds, err := tx.ReconLookup(ctx, "refund", refundIDs)
		if err != nil {
			return err
		}
		r := *st.run
		r.Tallies = cloneTallies(st.run.Tallies)
		var rows []*store.Reconciled
		var ds []*store.Discrepancy
		var closeGW []*store.Discrepancy
		moves := map[string]*ledger.ReconMove{}
		for _, l := range lines {
			rec := l.rec
			var t *store.ReconTxn
			if rec.Kind == channel.NotifyRefund {
				t = refunds[rec.RefundID]
			} else {
				t = pays[rec.OrderID]
			}
			v := st.classify(rec, t)
			tally := r.Tallies[v.class]
			tally.Count++
			tally.Amount += signed(rec)
			tally.Fee += rec.Fee
			r.Tallies[v.class] = tally
			if v.class != Matched {
				ds = append(ds, st.discrepancy(l, t, v, now))
				continue
			}
			if !v.reconcile {
				continue
			}
			rows = append(rows, &store.Reconciled{RefID: t.ID, RefKind: t.Kind, ChannelAccountID: st.acct.ID, BillDate: st.run.BillDate,
				ChannelFee: rec.Fee, Currency: t.Currency, How: "matched", RunID: st.run.ID, ReconciledAt: now})
			m := moves[t.Currency]
			if m == nil {
				m = &ledger.ReconMove{Currency: t.Currency}
				moves[t.Currency] = m
			}
			m.Claimed += signed(rec)
			m.Billed += signed(rec)
			m.Fee += rec.Fee
			if gw := st.gatewayOnly[t.ID]; gw != "" {
				closeGW = append(closeGW, &store.Discrepancy{ID: gw, Status: store.DiscrepancyRepaired,
					Action: "matched on the bill of " + st.run.BillDate, ResolvedBy: "reconciliation", ResolvedAt: &now, UpdatedAt: now})
			}
		}
		if len(rows) > 0 {
			if err := tx.ReconciledAdd(ctx, rows...); err != nil {
				return err
			}
			entry := ledger.Reconciliation(id.New(id.Entry, now), ledger.KindReconciliation,
				fmt.Sprintf("%s:%d:%d", st.run.ID, st.run.Pass, lines[0].no), st.acct.ID, st.acct.Livemode, sortedMoves(moves), now)
			if len(entry.Lines) > 0 {
				if err := tx.LedgerPost(ctx, now, entry); err != nil {
					return err
				}
			}
		}
		for _, d := range closeGW {
			if err := tx.DiscrepancyClose(ctx, d); err != nil && !errors.Is(err, store.ErrStale) {
				return err
			}
		}
		if found, err = tx.DiscrepancyAdd(ctx, ds...); err != nil {
			return err
		}
		r.Cursor = lines[len(lines)-1].no
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
	st.run = next
	if len(found) > 0 {
		s.log().Info("reconciliation found discrepancies", "run", st.run.ID, "count", len(found))
	}
	return nil
}

// classify is judge with duplicates and other days.
func (st *runState) classify(rec channel.BillRecord, t *store.ReconTxn) verdict {
	k := lineKey(rec)
	if _, dup := st.seen[k]; dup {
		return verdict{class: Duplicate, detail: "The bill lists this transaction more than once."}
	}
	st.seen[k] = struct{}{}
	if !rec.At.IsZero() && (rec.At.Before(st.from) || !rec.At.Before(st.to)) {
		return verdict{class: OtherDay, detail: fmt.Sprintf("The line is of %s, not of the bill's day.", rec.At.In(st.svc.loc()).Format(time.DateTime))}
	}
	return st.judge(rec, t)
}

func cloneTallies(t map[string]store.ReconTally) map[string]store.ReconTally {
	out := make(map[string]store.ReconTally, len(t)+1)
	for k, v := range t {
		out[k] = v
	}
	return out
}

func sortedMoves(m map[string]*ledger.ReconMove) []ledger.ReconMove {
	out := make([]ledger.ReconMove, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Currency < out[j-1].Currency; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// discrepancy records a line that is not matched.
func (st *runState) discrepancy(l numbered, t *store.ReconTxn, v verdict, now time.Time) *store.Discrepancy {
	rec := l.rec
	d := &store.Discrepancy{
		ID: id.New(id.Discrepancy, now), RunID: st.run.ID, ChannelAccountID: st.acct.ID, Livemode: st.acct.Livemode,
		BillDate: st.run.BillDate, Class: v.class, RefKind: string(rec.Kind), ChannelTradeNo: rec.ChannelTradeNo,
		ChannelRefundNo: rec.ChannelRefundNo, LineNo: l.no, BillAmount: signed(rec), BillFee: rec.Fee, Currency: rec.Currency,
		Detail: v.detail, Status: store.DiscrepancyOpen, CreatedAt: now, UpdatedAt: now,
	}
	key := rec.OrderID
	if rec.Kind == channel.NotifyRefund {
		key = rec.RefundID
	}
	if key == "" {
		key = "#" + rec.ChannelTradeNo + "#" + rec.ChannelRefundNo
	}
	if t != nil {
		d.RefID, d.MerchantID = t.ID, t.MerchantID
		d.GatewayAmount = t.Amount
		if t.Kind == "refund" {
			d.GatewayAmount = -t.Amount
		}
		if d.Currency == "" {
			d.Currency = t.Currency
		}
	}
	d.DedupeKey = fmt.Sprintf("%s|%s|%s|%s|%s", st.acct.ID, st.run.BillDate, v.class, rec.Kind, key)
	if v.class == Duplicate || v.class == OtherDay {
		d.DedupeKey += fmt.Sprintf("|%d", l.no)
	}
	return d
}
