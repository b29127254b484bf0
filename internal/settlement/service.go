package settlement

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/store"
)

// Errors of the settlement API.
var (
	ErrSettlementNotFound = errs.NotFound("settlement_not_found", "No such settlement.")
	ErrNotPayable         = errs.Conflict("settlement_not_payable", "This settlement nets zero or less: it has nothing to pay out (a negative net is carried into the merchant's next settlement).")
	ErrAlreadyPaid        = errs.Conflict("settlement_already_paid", "This settlement was already paid with another bank reference.")
	ErrRunInProgress      = errs.Conflict("settlement_run_in_progress", "Another node is settling this merchant's day right now; try again when it is done.")
	ErrChanged            = errs.Conflict("settlement_changed", "The settlement changed while the request ran; retry.")
	// ErrInsufficientAvailable: transfers spent the money the batch settled.
	ErrInsufficientAvailable = errs.Conflict("insufficient_available", "The merchant's available balance no longer covers this settlement's net: transfers paid part of it out.")
)

// Service settles merchants' days, pays settlements out, and writes
// statements. It is safe for concurrent use, and several nodes may run it
// against one database: each merchant's day is settled under a lease.
type Service struct {
	Store store.Store
	Clock clock.Clock
	Log   *slog.Logger
	// Metrics counts settled batches; nil counts nothing.
	Metrics *metrics.Metrics
	// Holder names this node in leases; default the host name, the process
	// id and a random suffix.
	Holder string
	// SettleAt is the time of day, in each merchant's time zone, after
	// which its day T is settled on T+N (RunDue): late enough for the
	// channels' bills of day T to be reconciled. Default 12:00.
	SettleAt time.Duration
	// Lease bounds one merchant's day: another node may take the day over
	// once it passes (the lease is renewed after each batch). Default 10m.
	Lease time.Duration
	// TakeOver makes runs take the leases of runs that died (a process
	// killed mid-run) at once instead of waiting for them to run out. Only
	// for an operator who knows no other node is settling (paygate settle
	// run --take-over).
	TakeOver bool
	// Notify, when set, is called after a change that wrote events has
	// committed, to wake the notification dispatcher. It must not block.
	Notify func()
	// FX, when set, converts a batch in another currency than the
	// merchant's settlement currency into it at the day's rate (fx.go);
	// nil settles every currency as it is.
	FX *fx.Service
}

// DefaultSettleAt is SettleAt's default: noon in the merchant's time zone.
const DefaultSettleAt = 12 * time.Hour

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) holder() string {
	if s.Holder == "" {
		s.Holder = jobs.NewHolder()
	}
	return s.Holder
}

func (s *Service) lease() time.Duration {
	if s.Lease <= 0 {
		return 10 * time.Minute
	}
	return s.Lease
}

func (s *Service) settleAt() time.Duration {
	if s.SettleAt <= 0 {
		return DefaultSettleAt
	}
	return s.SettleAt
}

func (s *Service) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

// Get returns a settlement (the operator API).
func (s *Service) Get(ctx context.Context, settlementID string) (*store.Settlement, error) {
	if !id.Valid(id.Settlement, settlementID) {
		return nil, ErrSettlementNotFound
	}
	st, err := s.Store.SettlementGet(ctx, settlementID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSettlementNotFound
	}
	return st, err
}

// GetInScope returns a settlement the scope's merchant may see.
func (s *Service) GetInScope(ctx context.Context, sc store.Scope, settlementID string) (*store.Settlement, error) {
	if !id.Valid(id.Settlement, settlementID) {
		return nil, ErrSettlementNotFound
	}
	st, err := s.Store.SettlementGetInScope(ctx, sc, settlementID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSettlementNotFound
	}
	return st, err
}

// List lists settlements; the merchant API sets f.MerchantID and f.Livemode
// from the caller's scope.
func (s *Service) List(ctx context.Context, f store.SettlementFilter) ([]*store.Settlement, bool, error) {
	if f.Status != "" && !validStatus(f.Status) {
		return nil, false, errs.InvalidParam("status", "status must be pending, in_transit, paid or carried_forward.")
	}
	if f.Day != "" {
		if _, err := ParseDay(f.Day); err != nil {
			return nil, false, errs.InvalidParam("date", "date must be a day written YYYY-MM-DD.")
		}
	}
	return s.Store.SettlementList(ctx, f)
}

func validStatus(st string) bool {
	switch st {
	case store.SettlementPending, store.SettlementInTransit, store.SettlementPaid, store.SettlementCarriedForward:
		return true
	}
	return false
}

// Lines pages through a settlement's lines, after the line whose ref_id is
// afterRef ("" for the first page).
func (s *Service) Lines(ctx context.Context, st *store.Settlement, afterRef string, limit int) ([]*store.SettlementLine, bool, error) {
	lines, more, err := s.Store.SettlementLines(ctx, st.ID, afterRef, limit)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, errs.InvalidParam("starting_after", "starting_after must be the ref_id of a line of this settlement.")
	}
	return lines, more, err
}

// DayLayout is how days are written: YYYY-MM-DD.
const DayLayout = time.DateOnly

// ParseDay reads a day written YYYY-MM-DD, as a civil date (midnight UTC).
func ParseDay(s string) (time.Time, error) {
	d, err := time.Parse(DayLayout, s)
	if err != nil || d.Format(DayLayout) != s {
		return time.Time{}, fmt.Errorf("day %q: want YYYY-MM-DD", s)
	}
	return d, nil
}

// dayOf is the civil date of t in loc.
func dayOf(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// startOf is when civil date day begins in loc.
func startOf(day time.Time, loc *time.Location) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).UTC()
}

// addDays moves a civil date by n days.
func addDays(day time.Time, n int) time.Time { return day.AddDate(0, 0, n) }

func formatDay(day time.Time) string { return day.Format(DayLayout) }
