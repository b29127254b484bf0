package settlement

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Report is what a run did.
type Report struct {
	// Settlements are the batches the run made (an existing batch of the
	// same day is not made again).
	Settlements []*store.Settlement
	// Merchants counts the merchants looked at; Skipped says why some were
	// left alone (their day has not ended, another node holds it, …), by
	// merchant id.
	Merchants int
	Skipped   map[string]string
}

func (r *Report) skip(merchantID, why string) {
	if r.Skipped == nil {
		r.Skipped = map[string]string{}
	}
	r.Skipped[merchantID] = why
}

// RunParams ask for a run now.
type RunParams struct {
	// Day is the last of the merchants' days to settle (YYYY-MM-DD). Every
	// day before it that is not settled yet is settled first, in order.
	Day string
	// MerchantID narrows the run to one merchant; "" runs every merchant.
	MerchantID string
}

// Run settles, now, every merchant's days up to p.Day (or one merchant's):
// what the operator's "settle now" and paygate settle run do. A merchant
// whose day has not ended yet in its time zone, or whose day another node
// is settling, is skipped (Report.Skipped says why); with one merchant
// named those are errors. A merchant that fails is logged and skipped, and
// the error then says how many failed. It settles even before the
// merchant's settle date (T+N), which the batch still carries.
func (s *Service) Run(ctx context.Context, p RunParams) (*Report, error) {
	day, err := ParseDay(p.Day)
	if err != nil {
		return nil, errs.InvalidParam("date", "date must be a day written YYYY-MM-DD.")
	}
	rep := &Report{}
	now := s.now()
	if p.MerchantID != "" {
		m, err := s.merchant(ctx, p.MerchantID)
		if err != nil {
			return nil, err
		}
		loc, err := time.LoadLocation(m.Timezone)
		if err != nil {
			return nil, fmt.Errorf("merchant %s: time zone: %w", m.ID, err)
		}
		if now.Before(startOf(addDays(day, 1), loc)) {
			return nil, errs.InvalidParam("date", fmt.Sprintf("%s has not ended yet in the merchant's time zone (%s).", p.Day, m.Timezone))
		}
		rep.Merchants = 1
		if err := s.settleThrough(ctx, m, day, rep); err != nil {
			return rep, err
		}
		return rep, nil
	}
	failed := 0
	err = s.eachMerchant(ctx, func(m *store.Merchant) error {
		rep.Merchants++
		loc, err := time.LoadLocation(m.Timezone)
		if err == nil && now.Before(startOf(addDays(day, 1), loc)) {
			rep.skip(m.ID, "the day has not ended in the merchant's time zone")
			return nil
		}
		if err == nil {
			err = s.settleThrough(ctx, m, day, rep)
		}
		switch {
		case errors.Is(err, ErrRunInProgress): // skipped, and said so
		case err != nil && ctx.Err() == nil:
			failed++
			rep.skip(m.ID, "failed: see the log")
			s.log().Error("settle merchant", "merchant", m.ID, "err", err)
		}
		return ctx.Err()
	})
	if err == nil && failed > 0 {
		err = fmt.Errorf("settlement: %d of %d merchants failed (see the log)", failed, rep.Merchants)
	}
	return rep, err
}

// RunDue settles every merchant's days that are due at now: day T is due
// on T+N (N its settle_days) once SettleAt has passed in its time zone.
// A failure with one merchant is logged and does not stop the others; the
// error then says how many failed. It is the settlement job's work (Job).
func (s *Service) RunDue(ctx context.Context, now time.Time) (*Report, error) {
	rep := &Report{}
	failed := 0
	err := s.eachMerchant(ctx, func(m *store.Merchant) error {
		rep.Merchants++
		due, err := s.dueDay(ctx, m, now)
		if err == nil {
			err = s.settleThrough(ctx, m, due, rep)
		}
		if err != nil && ctx.Err() == nil {
			failed++
			s.log().Error("settle merchant", "merchant", m.ID, "err", err)
		}
		return ctx.Err()
	})
	if err != nil {
		return rep, err
	}
	if failed > 0 {
		return rep, fmt.Errorf("settlement: %d of %d merchants failed (see the log)", failed, rep.Merchants)
	}
	return rep, nil
}

// dueDay is the last of merchant m's days due for settlement at now.
func (s *Service) dueDay(ctx context.Context, m *store.Merchant, now time.Time) (time.Time, error) {
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		return time.Time{}, fmt.Errorf("merchant %s: time zone: %w", m.ID, err)
	}
	st, err := s.settings(ctx, m.ID)
	if err != nil {
		return time.Time{}, err
	}
	today := dayOf(now, loc)
	at := s.settleAt()
	if now.Before(time.Date(today.Year(), today.Month(), today.Day(), int(at/time.Hour), int(at%time.Hour/time.Minute), 0, 0, loc)) {
		today = addDays(today, -1)
	}
	return addDays(today, -st.SettleDays), nil
}

// eachMerchant calls fn with every merchant, newest first, reading them in
// pages of 100.
func (s *Service) eachMerchant(ctx context.Context, fn func(*store.Merchant) error) error {
	after := ""
	for {
		ms, more, err := s.Store.MerchantList(ctx, store.ListParams{Limit: 100, StartingAfter: after})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := fn(m); err != nil {
				return err
			}
		}
		if !more || len(ms) == 0 {
			return nil
		}
		after = ms[len(ms)-1].ID
	}
}

// settleThrough settles merchant m's days, in each mode, from the day after
// the last one settled through day (a merchant never settled starts with
// day itself, whose batch then takes everything before it).
func (s *Service) settleThrough(ctx context.Context, m *store.Merchant, day time.Time, rep *Report) error {
	days := map[time.Time]bool{}
	for _, live := range []bool{false, true} {
		cur, err := s.Store.SettlementCursorGet(ctx, m.ID, live)
		switch {
		case errors.Is(err, store.ErrNotFound):
			days[day] = true
		case err != nil:
			return err
		default:
			last, err := ParseDay(cur.LastDay)
			if err != nil {
				return fmt.Errorf("merchant %s: settlement cursor: %w", m.ID, err)
			}
			for d := addDays(last, 1); !d.After(day); d = addDays(d, 1) {
				days[d] = true
			}
		}
	}
	order := make([]time.Time, 0, len(days))
	for d := range days {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Before(order[j]) })
	for _, d := range order {
		if err := s.settleDay(ctx, m, d, rep); err != nil {
			if errors.Is(err, ErrRunInProgress) {
				rep.skip(m.ID, "another node is settling "+formatDay(d))
			}
			return err
		}
	}
	return nil
}

// settleDay settles merchant m's day in both modes under the lease
// "settle:<merchant>:<day>", so that one node settles it.
func (s *Service) settleDay(ctx context.Context, m *store.Merchant, day time.Time, rep *Report) error {
	name := "settle:" + m.ID + ":" + formatDay(day)
	if err := s.acquire(ctx, name); err != nil {
		return err
	}
	var err error
	for _, live := range []bool{false, true} {
		if err = s.settleModeDay(ctx, m, live, day, name, rep); err != nil {
			break
		}
	}
	done := time.Time{}
	if err == nil {
		done = s.now()
	}
	if rerr := s.Store.LeaseRelease(context.WithoutCancel(ctx), name, s.holder(), s.now(), done); rerr != nil && err == nil {
		err = fmt.Errorf("release %s: %w", name, rerr)
	}
	return err
}

// acquire takes (or renews) the lease called name; ErrRunInProgress when
// another holder has it.
func (s *Service) acquire(ctx context.Context, name string) error {
	now := s.now()
	until := now.Add(s.lease())
	asOf := now
	if s.TakeOver {
		// Any lease taken for no longer than ours is over by until: one a
		// dead run left behind is taken at once.
		asOf = until
	}
	_, ok, err := s.Store.LeaseAcquire(ctx, name, s.holder(), asOf, until)
	if err != nil {
		return fmt.Errorf("acquire %s: %w", name, err)
	}
	if !ok {
		return ErrRunInProgress
	}
	return nil
}

// settleModeDay makes merchant m's batches of day in one mode, one per
// currency with something to settle, then moves the mode's cursor past
// day. A batch that exists already (a rerun after a crash) is left as it
// is, so a rerun converges on what an uninterrupted run makes.
func (s *Service) settleModeDay(ctx context.Context, m *store.Merchant, live bool, day time.Time, lease string, rep *Report) error {
	var scanFrom time.Time
	switch cur, err := s.Store.SettlementCursorGet(ctx, m.ID, live); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case cur.LastDay >= formatDay(day):
		return nil // settled already
	default:
		scanFrom = cur.ScanFrom
	}
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		return fmt.Errorf("merchant %s: time zone: %w", m.ID, err)
	}
	st, err := s.settings(ctx, m.ID)
	if err != nil {
		return err
	}
	b := batch{
		merchant: m, settings: st, live: live, day: formatDay(day),
		settleDate: formatDay(addDays(day, st.SettleDays)),
		window: store.SettlementWindow{
			MerchantID: m.ID, Livemode: live, From: scanFrom, Until: startOf(addDays(day, 1), loc),
			Recent: startOf(day, loc), PendingAccount: ledger.MerchantPending(m.ID, live),
		},
	}
	currencies, err := s.Store.SettlementCurrencies(ctx, b.window, b.settleDate)
	if err != nil {
		return err
	}
	for _, cur := range currencies {
		b.window.Currency = cur
		stl, err := s.settleBatch(ctx, b)
		if err != nil {
			return err
		}
		if stl != nil {
			rep.Settlements = append(rep.Settlements, stl)
		}
		if err := s.acquire(ctx, lease); err != nil { // renew it for the next batch
			return err
		}
	}
	b.window.Currency = ""
	next := b.window.Until
	switch since, err := s.Store.SettlementUnsettledSince(ctx, b.window); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case since.Before(next):
		next = since
	}
	return s.Store.SettlementCursorPut(ctx, &store.SettlementCursor{
		MerchantID: m.ID, Livemode: live, LastDay: b.day, ScanFrom: next, UpdatedAt: s.now(),
	})
}

// batch is one batch to make: a merchant's day in one mode and currency.
type batch struct {
	merchant   *store.Merchant
	settings   *store.SettlementSettings
	live       bool
	day        string
	settleDate string
	window     store.SettlementWindow // its Currency set
}

// errNothing rolls back a batch that would settle nothing and say nothing.
var errNothing = errors.New("settlement: nothing to settle")

// settleBatch makes one batch in one transaction: its row, a line for each
// reconciled payment and refund of the window not settled yet, lines that
// carry earlier negative nets forward and release reserves due, the
// reserve it holds, its totals, and the ledger entry that moves its money.
// It returns nil when the batch exists already or would be empty (no line,
// and nothing of the day itself waiting).
func (s *Service) settleBatch(ctx context.Context, b batch) (*store.Settlement, error) {
	now := s.now()
	stl := &store.Settlement{
		ID: id.New(id.Settlement, now), MerchantID: b.merchant.ID, Livemode: b.live, Currency: b.window.Currency,
		Day: b.day, SettleDate: b.settleDate, Timezone: b.merchant.Timezone, Cutoff: b.window.Until,
		Status: store.SettlementPending, CreatedAt: now, UpdatedAt: now,
	}
	rate, src, err := s.dayRate(ctx, b.merchant, b.window.Currency, now)
	if err != nil {
		return nil, fmt.Errorf("settle %s %s %s: %w", b.merchant.ID, b.window.Currency, b.day, err)
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.SettlementCreate(ctx, stl); err != nil {
			return err
		}
		n, err := tx.SettlementCollect(ctx, stl.ID, b.window)
		if err != nil {
			return err
		}
		extra, err := s.carryAndRelease(ctx, tx, stl, now)
		if err != nil {
			return err
		}
		if stl.Waiting, err = tx.SettlementWaiting(ctx, b.window); err != nil {
			return err
		}
		if n == 0 && extra == 0 && stl.Waiting.Recent == 0 {
			return errNothing
		}
		if err := s.total(ctx, tx, stl, b.settings); err != nil {
			return err
		}
		conversion, err := s.convert(stl, b.merchant.SettlementCurrency, rate, src, now)
		if err != nil {
			return err
		}
		if err := tx.SettlementFinalize(ctx, stl); err != nil {
			return err
		}
		if e := ledger.Settlement(id.New(id.Entry, now), stl.ID, stl.MerchantID, stl.Livemode, stl.Currency, moves(stl), now); len(e.Lines) > 0 {
			if err := tx.LedgerPost(ctx, now, e); err != nil {
				return err
			}
		}
		if conversion != nil { // fx.go
			return tx.LedgerPost(ctx, now, *conversion)
		}
		return nil
	})
	switch {
	case errors.Is(err, errNothing):
		return nil, nil
	case errors.Is(err, store.ErrConflict):
		// The batch of this day exists (a rerun), or a line's transaction
		// was settled by another run meanwhile: what is settled stays.
		s.log().Info("settlement batch exists already", "merchant", b.merchant.ID, "livemode", b.live, "currency", b.window.Currency, "day", b.day, "err", err)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("settle %s %s %s: %w", b.merchant.ID, b.window.Currency, b.day, err)
	}
	s.log().Info("settled", "settlement", stl.ID, "merchant", stl.MerchantID, "livemode", stl.Livemode,
		"currency", stl.Currency, "day", stl.Day, "net", stl.Net, "status", stl.Status,
		"payments", stl.PaymentCount, "refunds", stl.RefundCount, "waiting", stl.Waiting.Payments.Count+stl.Waiting.Refunds.Count)
	s.Metrics.Settled(stl.Currency, stl.Net)
	return stl, nil
}

// carryAndRelease adds to stl a line for each earlier batch whose negative
// net is not carried forward yet, and for each reserve due by stl's settle
// date and not released yet, and marks those batches. It returns how many
// lines it added.
func (s *Service) carryAndRelease(ctx context.Context, tx store.Tx, stl *store.Settlement, now time.Time) (int, error) {
	open, err := tx.SettlementsOpen(ctx, stl.MerchantID, stl.Livemode, stl.Currency, stl.SettleDate)
	if err != nil {
		return 0, err
	}
	var lines []*store.SettlementLine
	for _, p := range open {
		if p.Status == store.SettlementCarriedForward && p.Net < 0 && p.CarriedTo == "" {
			lines = append(lines, &store.SettlementLine{Kind: store.LineCarryForward, RefID: p.ID, SettlementID: stl.ID,
				Currency: stl.Currency, Amount: p.Net, Net: p.Net, OccurredAt: p.Cutoff})
			if err := tx.SettlementCarried(ctx, p.ID, stl.ID, now); err != nil {
				return 0, err
			}
		}
		if p.ReserveHeld > 0 && p.ReserveReleasedBy == "" && p.ReserveReleaseDate != "" && p.ReserveReleaseDate <= stl.SettleDate {
			lines = append(lines, &store.SettlementLine{Kind: store.LineReserveRelease, RefID: p.ID, SettlementID: stl.ID,
				Currency: stl.Currency, Amount: p.ReserveHeld, Net: p.ReserveHeld, OccurredAt: stl.Cutoff})
			if err := tx.SettlementReserveReleased(ctx, p.ID, stl.ID, now); err != nil {
				return 0, err
			}
		}
	}
	if len(lines) == 0 {
		return 0, nil
	}
	return len(lines), tx.SettlementLineAdd(ctx, lines...)
}

// total sums stl's lines into its totals, holds its reserve (a line of its
// own) and sets its status: pending when it nets more than zero, carried
// forward otherwise.
func (s *Service) total(ctx context.Context, tx store.Tx, stl *store.Settlement, st *store.SettlementSettings) error {
	sums, err := tx.SettlementSums(ctx, stl.ID)
	if err != nil {
		return err
	}
	var base int64 // what the transactions and carried deficits net: the reserve's base
	for _, sum := range sums {
		switch sum.Kind {
		case store.LinePayment:
			stl.Gross, stl.PaymentCount = sum.Amount, sum.Count
		case store.LineRefund:
			stl.Refunds, stl.RefundCount = -sum.Amount, sum.Count
		case store.LineCarryForward:
			stl.Adjustments = sum.Net
		case store.LineReserveRelease:
			stl.ReserveReleased = sum.Net
		}
		if sum.Kind != store.LineReserveRelease {
			if base, err = money.Add(base, sum.Net); err != nil {
				return fmt.Errorf("settlement %s: %w", stl.ID, err)
			}
		}
		if stl.Fees, err = money.Add(stl.Fees, sum.Fee); err != nil {
			return fmt.Errorf("settlement %s: %w", stl.ID, err)
		}
		if stl.ChannelFees, err = money.Add(stl.ChannelFees, sum.ChannelFee); err != nil {
			return fmt.Errorf("settlement %s: %w", stl.ID, err)
		}
	}
	if base > 0 && st.ReserveBps > 0 {
		stl.ReserveHeld = mulDiv(base, int64(st.ReserveBps), 10000)
	}
	if stl.ReserveHeld > 0 {
		settle, err := ParseDay(stl.SettleDate)
		if err != nil {
			return err
		}
		stl.ReserveReleaseDate = formatDay(addDays(settle, st.ReserveDays))
		if err := tx.SettlementLineAdd(ctx, &store.SettlementLine{Kind: store.LineReserveHold, RefID: stl.ID, SettlementID: stl.ID,
			Currency: stl.Currency, Amount: -stl.ReserveHeld, Net: -stl.ReserveHeld, OccurredAt: stl.Cutoff}); err != nil {
			return err
		}
	}
	net, err := money.Add(base, stl.ReserveReleased)
	if err == nil {
		net, err = money.Sub(net, stl.ReserveHeld)
	}
	if err != nil {
		return fmt.Errorf("settlement %s: %w", stl.ID, err)
	}
	stl.Net = net
	stl.Status = store.SettlementPending
	if net <= 0 {
		stl.Status = store.SettlementCarriedForward
	}
	return nil
}

// moves are what stl's ledger entry moves. Its transactions' net (with
// the deficits it carries) leaves pending when it pays out; a batch that
// carries forward leaves its transactions in pending, for the next batch
// to move, and only moves its reserve: into pending what it releases, out
// of pending what it holds.
func moves(stl *store.Settlement) ledger.SettlementMoves {
	toReserve := stl.ReserveHeld - stl.ReserveReleased
	if stl.Status == store.SettlementCarriedForward {
		return ledger.SettlementMoves{FromPending: toReserve, ToReserve: toReserve}
	}
	return ledger.SettlementMoves{
		FromPending: stl.Net - stl.ReserveReleased + stl.ReserveHeld,
		ToReserve:   toReserve,
		ToAvailable: stl.Net,
	}
}
