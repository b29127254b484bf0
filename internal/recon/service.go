package recon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/store"
)

// Classes of bill lines (and of gateway transactions the bill lacks).
const (
	Matched        = "matched"
	AmountMismatch = "amount_mismatch"
	StatusMismatch = "status_mismatch"
	FeeMismatch    = "fee_mismatch"
	ChannelOnly    = "channel_only" // 长款: the channel took money the gateway does not count as paid
	GatewayOnly    = "gateway_only" // 短款: the gateway counts money the channel has no record of
	OtherDay       = "other_day"
	Duplicate      = "duplicate"
)

// Classes lists every class, in the order reports show them.
var Classes = []string{Matched, AmountMismatch, StatusMismatch, FeeMismatch, ChannelOnly, GatewayOnly, OtherDay, Duplicate}

// TallyRepaired is the key of the run's tallies that counts the lines the
// run repaired (they are counted as matched too).
const TallyRepaired = "repaired"

// Resolution actions.
const (
	WriteOff  = "write_off"
	Adjust    = "adjust"
	Explained = "explained"
)

// Late-payment settings of a merchant.
const (
	LateRefund = "refund" // the default: give a late payment back at once
	LateKeep   = "keep"
)

// Errors of the reconciliation API.
var (
	ErrRunNotFound         = errs.NotFound("reconciliation_not_found", "No such reconciliation.")
	ErrDiscrepancyNotFound = errs.NotFound("discrepancy_not_found", "No such discrepancy.")
	ErrAccountNotFound     = errs.NotFound("channel_account_not_found", "No such channel account.")
	ErrRunInProgress       = errs.Conflict("reconciliation_in_progress", "Another node is reconciling this channel account's day right now; try again when it is done.")
	ErrBillNotReady        = errs.Invalid("bill_not_available", "The channel's bill of that day is not available yet: the day has not ended, or the channel publishes its bill later.")
	ErrNoBills             = errs.Invalid("bill_not_supported", "This channel account's provider keeps no bills to download; upload the bill instead.")
	ErrAlreadyResolved     = errs.Conflict("discrepancy_not_open", "This discrepancy is not open: it was repaired or resolved already.")
	ErrDifference          = errs.Conflict("discrepancy_has_difference", "The bill and the gateway differ in amount: explained closes only what nets to zero; use write_off or adjust.")
)

// badBill is the 400 of a bill that cannot be reconciled.
func badBill(msg string, cause error) error {
	e := errs.Invalid("bill_invalid", msg)
	e.Param = "bill"
	return e.Wrap(cause)
}

// Payments is what reconciliation asks of the payment service to repair
// what it finds (payment.Service implements it).
type Payments interface {
	RecheckOrder(ctx context.Context, orderID string) (*store.Order, error)
	RecheckRefund(ctx context.Context, refundID string) (*store.Refund, error)
	RefundLatePayment(ctx context.Context, orderID, reason string) (*store.Refund, error)
}

// Connectors finds a channel account's connector (channelaccount.Service).
type Connectors interface {
	ConnectorByID(ctx context.Context, accountID string) (channel.Connector, *store.ChannelAccount, error)
}

// Service reconciles channel accounts' bills against the gateway's
// payments and refunds. It is safe for concurrent use, and several nodes
// may run it against one database: each account's day runs under a lease.
type Service struct {
	Store    store.Store
	Clock    clock.Clock
	Log      *slog.Logger
	Accounts Connectors
	// Payments repairs what the channel proves; nil: no repairs (the
	// discrepancies stay open for people).
	Payments Payments
	// Holder names this node in leases; default host, pid and a random suffix.
	Holder string
	// Lease bounds one account's day; renewed once a third of it has passed. Default 10m.
	Lease time.Duration
	// TakeOver makes runs take the lease of a run that died at once
	// (paygate recon run --take-over).
	TakeOver bool
	// Chunk is how many bill lines one transaction applies. Default 5000.
	Chunk int
	// Location is the channels' day (their bills' time zone); default
	// Asia/Shanghai.
	Location *time.Location
	// BillReady is, per provider, how long after the end of its day the
	// channel's bill can be downloaded; the job reconciles a day then.
	// Providers not named use DefaultBillReady.
	BillReady map[string]time.Duration
	// DefaultReady is BillReady for providers it does not name; 0:
	// DefaultBillReady.
	DefaultReady time.Duration
	// Notify, when set, is called after a change that wrote events has
	// committed. It must not block.
	Notify func()
	// Progress, when set, is called after each chunk with the lines done
	// and the bill's lines.
	Progress func(run *store.ReconRun, done, total int)
}

// DefaultBillReady is when a day's bill is fetched by default: 10:00 the
// next day in the channels' time zone (WeChat Pay publishes after 10:00,
// Alipay after 09:00, UnionPay in the morning).
const DefaultBillReady = 10 * time.Hour

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

func (s *Service) chunk() int {
	if s.Chunk <= 0 {
		return 5000
	}
	return s.Chunk
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

func (s *Service) loc() *time.Location {
	if s.Location == nil {
		return shanghai
	}
	return s.Location
}

func (s *Service) billReady(provider string) time.Duration {
	if d, ok := s.BillReady[provider]; ok {
		return d
	}
	if s.DefaultReady > 0 {
		return s.DefaultReady
	}
	return DefaultBillReady
}

func (s *Service) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

// acquire takes (or renews) the lease called name.
func (s *Service) acquire(ctx context.Context, name string) error {
	now := s.now()
	until := now.Add(s.lease())
	asOf := now
	if s.TakeOver {
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

// DayLayout is how days are written.
const DayLayout = time.DateOnly

// ParseDay reads a day written YYYY-MM-DD.
func ParseDay(s string) (time.Time, error) {
	d, err := time.Parse(DayLayout, s)
	if err != nil || d.Format(DayLayout) != s {
		return time.Time{}, fmt.Errorf("day %q: want YYYY-MM-DD", s)
	}
	return d, nil
}

// Get returns a run.
func (s *Service) Get(ctx context.Context, runID string) (*store.ReconRun, error) {
	if !id.Valid(id.ReconRun, runID) {
		return nil, ErrRunNotFound
	}
	r, err := s.Store.ReconRunGet(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRunNotFound
	}
	return r, err
}

// List lists runs, newest first.
func (s *Service) List(ctx context.Context, f store.ReconRunFilter) ([]*store.ReconRun, bool, error) {
	if f.BillDate != "" {
		if _, err := ParseDay(f.BillDate); err != nil {
			return nil, false, errs.InvalidParam("date", "date must be a day written YYYY-MM-DD.")
		}
	}
	switch f.Status {
	case "", store.ReconRunning, store.ReconCompleted, store.ReconFailed:
	default:
		return nil, false, errs.InvalidParam("status", "status must be running, completed or failed.")
	}
	return s.Store.ReconRunList(ctx, f)
}

// GetDiscrepancy returns a discrepancy.
func (s *Service) GetDiscrepancy(ctx context.Context, discID string) (*store.Discrepancy, error) {
	if !id.Valid(id.Discrepancy, discID) {
		return nil, ErrDiscrepancyNotFound
	}
	d, err := s.Store.DiscrepancyGet(ctx, discID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrDiscrepancyNotFound
	}
	return d, err
}

// Discrepancies lists discrepancies, newest first.
func (s *Service) Discrepancies(ctx context.Context, f store.DiscrepancyFilter) ([]*store.Discrepancy, bool, error) {
	if f.BillDate != "" {
		if _, err := ParseDay(f.BillDate); err != nil {
			return nil, false, errs.InvalidParam("date", "date must be a day written YYYY-MM-DD.")
		}
	}
	if f.Class != "" && !validClass(f.Class) {
		return nil, false, errs.InvalidParam("class", "class must be one of matched, amount_mismatch, status_mismatch, fee_mismatch, channel_only, gateway_only, other_day, duplicate.")
	}
	switch f.Status {
	case "", store.DiscrepancyOpen, store.DiscrepancyRepaired, store.DiscrepancyResolved:
	default:
		return nil, false, errs.InvalidParam("status", "status must be open, repaired or resolved.")
	}
	return s.Store.DiscrepancyList(ctx, f)
}

func validClass(c string) bool {
	for _, k := range Classes {
		if k == c {
			return true
		}
	}
	return false
}

// LatePayment returns a merchant's late-payment setting (LateRefund when unset).
func (s *Service) LatePayment(ctx context.Context, merchantID string) (string, error) {
	v, err := s.Store.ReconLatePayment(ctx, merchantID)
	if err != nil || v == "" {
		return LateRefund, err
	}
	return v, nil
}

// SetLatePayment stores a merchant's late-payment setting.
func (s *Service) SetLatePayment(ctx context.Context, merchantID, value string) error {
	if value != LateRefund && value != LateKeep {
		return errs.InvalidParam("late_payment", `late_payment must be "refund" or "keep".`)
	}
	if _, err := s.Store.MerchantGet(ctx, merchantID); errors.Is(err, store.ErrNotFound) {
		return errs.NotFound("merchant_not_found", "No such merchant.")
	} else if err != nil {
		return err
	}
	return s.Store.ReconLatePaymentPut(ctx, merchantID, value, s.now())
}
