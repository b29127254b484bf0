package profitsharing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// Errors of the profit sharing API.
var (
	ErrNotFound           = errs.NotFound("profit_sharing_not_found", "No such profit sharing.")
	ErrDuplicate          = errs.Conflict("duplicate_out_order_no", "A profit sharing with this out_order_no exists with other parameters.")
	ErrNotSharingOrder    = errs.Invalid("order_not_profit_sharing", "The order was not created with profit_sharing: true; its money is settled, not shared.")
	ErrOrderNotPaid       = errs.Conflict("order_not_paid", "Only succeeded orders can be shared.")
	ErrFinished           = errs.Conflict("profit_sharing_finished", "The order's profit sharing is finished: what was left of it was released to the merchant.")
	ErrReceiverNotFound   = errs.Invalid("receiver_not_found", "No such receiver: register it with POST /v1/profit-sharing/receivers first.")
	ErrNotSupported       = errs.Invalid("profit_sharing_not_supported", "The order's channel cannot share with account holders at a channel; share with merchants of the platform.")
	ErrReceiverChannel    = errs.Invalid("receiver_channel_mismatch", "A receiver's type is an account at another channel than the order's.")
	ErrReceiversMissing   = errs.Missingf("receivers", "receivers is required unless finish is true.")
	ErrReceiverDuplicated = errs.InvalidParam("receivers", "A receiver may appear once in a profit sharing.")
)

// ErrExceeds is the error of a sharing above what the order holds.
func ErrExceeds(available, amount int64, currency string) *errs.Error {
	return errs.Conflict("profit_sharing_exceeds_available", fmt.Sprintf(
		"The shares total %s %s; the order has %s %s available to share.",
		money.Format(amount, currency), currency, money.Format(available, currency), currency))
}

// DefaultReleaseAfter is how long after its payment an unfinished
// order's rest is released to the merchant: 180 days, WeChat Pay's limit
// for sharing an order.
const DefaultReleaseAfter = 180 * 24 * time.Hour

// MaxReceivers is the most receivers one sharing may have (WeChat Pay's
// limit for one request).
const MaxReceivers = 50

// Service shares orders' money. It is safe for concurrent use.
type Service struct {
	Store    store.Store
	Clock    clock.Clock
	Channels *channelaccount.Service
	Log      *slog.Logger
	// ChannelTimeout bounds one call to a channel; default 10 s.
	ChannelTimeout time.Duration
	// ReleaseAfter is how long after its payment an order not finished
	// is finished by the worker; default DefaultReleaseAfter.
	ReleaseAfter time.Duration
	// Notify, when set, is called after a change that wrote events has
	// committed, to wake the notification dispatcher. It must not block.
	Notify func()
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

func (s *Service) releaseAfter() time.Duration {
	if s.ReleaseAfter > 0 {
		return s.ReleaseAfter
	}
	return DefaultReleaseAfter
}

// ShareParams is one receiver's share in CreateParams.
type ShareParams struct {
	Receiver    string
	Amount      int64
	Description string
}

// CreateParams are a sharing's parameters.
type CreateParams struct {
	OrderID    string
	OutOrderNo string
	Receivers  []ShareParams
	Finish     bool
}

var merchantNo = regexp.MustCompile(`^[A-Za-z0-9_\-|*.]{1,64}$`)

// MaxDescription bounds descriptions, in characters (WeChat Pay's 80).
const MaxDescription = 80

func printable(s string, max int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && strings.IndexFunc(s, unicode.IsControl) < 0
}

func (p *CreateParams) validate() error {
	switch {
	case p.OrderID == "":
		return errs.Missing("order_id")
	case p.OutOrderNo == "":
		return errs.Missing("out_order_no")
	case !merchantNo.MatchString(p.OutOrderNo):
		return errs.InvalidParam("out_order_no", "out_order_no must be 1 to 64 characters of A-Z, a-z, 0-9 and _-|*.")
	case len(p.Receivers) == 0 && !p.Finish:
		return ErrReceiversMissing
	case len(p.Receivers) > MaxReceivers:
		return errs.InvalidParam("receivers", fmt.Sprintf("A profit sharing has at most %d receivers.", MaxReceivers))
	}
	seen := map[string]bool{}
	for i, r := range p.Receivers {
		param := fmt.Sprintf("receivers[%d]", i)
		switch {
		case r.Receiver == "":
			return errs.Missing(param + ".receiver")
		case !money.ValidAmount(r.Amount):
			return shareInvalid(i, "amount", fmt.Sprintf("amount must be an integer of minor units from %d to %d.", money.MinAmount, money.MaxAmount))
		case !printable(r.Description, MaxDescription):
			return shareInvalid(i, "description", fmt.Sprintf("description must be at most %d printable characters.", MaxDescription))
		case seen[r.Receiver]:
			return ErrReceiverDuplicated
		}
		seen[r.Receiver] = true
	}
	return nil
}

// shareInvalid is the error of a receiver's field: its code is the same
// for every receiver (receivers.amount_invalid), its param names the one.
func shareInvalid(i int, field, msg string) *errs.Error {
	e := errs.Invalid("receivers."+field+"_invalid", msg)
	e.Param = fmt.Sprintf("receivers[%d].%s", i, field)
	return e
}

// hash fingerprints the parameters, to tell a repeat from a conflict.
func hash(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Create shares an order's money with its receivers and, with Finish,
// releases the rest to the merchant. created is false when the
// out_order_no existed with the same parameters.
func (s *Service) Create(ctx context.Context, sc store.Scope, p CreateParams) (psh *store.ProfitSharing, created bool, err error) {
	if err := p.validate(); err != nil {
		return nil, false, err
	}
	h := hash(p)
	if existing, err := s.Store.ProfitSharingGetByOutOrderNo(ctx, sc.AppID, p.OutOrderNo); err == nil {
		return s.repeat(ctx, existing, h)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	o, err := s.order(ctx, sc, p.OrderID)
	if err != nil {
		return nil, false, err
	}
	shares, atChannel, err := s.shares(ctx, sc, o, p.Receivers)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	psh = &store.ProfitSharing{
		ID: id.New(id.ProfitSharing, now), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode,
		OrderID: o.ID, OutOrderNo: p.OutOrderNo, Currency: o.Currency, Receivers: shares, Finish: p.Finish,
		Status: store.ProfitSharingSucceeded, RequestHash: h,
		NextQueryAt: now.Add(jobs.QueryBackoff(0)), CreatedAt: now, UpdatedAt: now,
	}
	for _, sh := range shares {
		psh.Amount += sh.Amount
	}
	if atChannel {
		psh.Status, psh.Channel, psh.ChannelAccountID = store.ProfitSharingProcessing, o.Channel, o.ChannelAccountID
	} else {
		psh.FinishedAt = &now
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		st, err := tx.ProfitSharingOrderLock(ctx, o.ID)
		if err != nil {
			return err
		}
		if st.FinishedAt != nil || st.FinishRequested {
			return ErrFinished
		}
		if available := st.Held - st.Reserved; psh.Amount > available {
			return ErrExceeds(available, psh.Amount, o.Currency)
		}
		if err := tx.ProfitSharingCreate(ctx, psh); err != nil {
			return err
		}
		var events []*store.Event
		if psh.Amount > 0 {
			st.Held -= psh.Amount
			st.Shared += psh.Amount
			if err := tx.LedgerPost(ctx, now, startEntry(o, psh, now)); err != nil {
				return err
			}
			typ := notify.ProfitSharingSucceeded
			if atChannel {
				typ = notify.ProfitSharingCreated
			}
			ev, err := sharingEvent(typ, psh, now)
			if err != nil {
				return err
			}
			events = append(events, ev)
		}
		if psh.Finish {
			if atChannel {
				st.FinishRequested = true
			} else {
				ev, err := release(ctx, tx, st, psh.AppID, o.ID, now)
				if err != nil {
					return err
				}
				events = append(events, ev)
			}
		}
		st.UpdatedAt = now
		if err := tx.ProfitSharingOrderPut(ctx, st); err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		return tx.EventAdd(ctx, now, events...)
	})
	if errors.Is(err, store.ErrConflict) { // a concurrent create with this out_order_no won
		existing, gerr := s.Store.ProfitSharingGetByOutOrderNo(ctx, sc.AppID, p.OutOrderNo)
		if gerr != nil {
			return nil, false, gerr
		}
		return s.repeat(ctx, existing, h)
	} else if err != nil {
		return nil, false, err
	}
	s.notify()
	if atChannel {
		psh, err = s.send(ctx, psh)
	} else if psh.Finish {
		s.tellChannel(ctx, o.ID)
	}
	return psh, true, err
}

// repeat answers a create whose out_order_no exists, as transfers do.
func (s *Service) repeat(ctx context.Context, existing *store.ProfitSharing, h string) (*store.ProfitSharing, bool, error) {
	if existing.RequestHash != h {
		return nil, false, ErrDuplicate
	}
	if existing.Status == store.ProfitSharingProcessing {
		p, err := s.Resolve(ctx, existing)
		return p, false, err
	}
	return existing, false, nil
}

// order returns the scope's order, paid with profit sharing.
func (s *Service) order(ctx context.Context, sc store.Scope, orderID string) (*store.Order, error) {
	if !id.Valid(id.Order, orderID) {
		return nil, errs.OrderNotFound
	}
	o, err := s.Store.OrderGetInScope(ctx, sc, orderID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errs.OrderNotFound
	case err != nil:
		return nil, err
	case !o.ProfitSharing:
		return nil, ErrNotSharingOrder
	case o.Status != store.OrderSucceeded:
		return nil, ErrOrderNotPaid
	}
	return o, nil
}

// shares resolves the receivers of a sharing of o, and says whether some
// are account holders at o's channel (the channel must then share).
func (s *Service) shares(ctx context.Context, sc store.Scope, o *store.Order, in []ShareParams) ([]store.ProfitSharingShare, bool, error) {
	var out []store.ProfitSharingShare
	atChannel := false
	for i, r := range in {
		rcv, err := s.receiver(ctx, sc, r.Receiver)
		if errors.Is(err, ErrReceiverNotFound) {
			e := *ErrReceiverNotFound
			e.Param = fmt.Sprintf("receivers[%d].receiver", i)
			return nil, false, &e
		} else if err != nil {
			return nil, false, err
		}
		if rcv.Type != TypeMerchant {
			if provider(rcv.Type) != o.Channel {
				return nil, false, ErrReceiverChannel
			}
			atChannel = true
		}
		out = append(out, store.ProfitSharingShare{Receiver: rcv.ID, Type: rcv.Type, Account: rcv.Account, Name: rcv.Name,
			Amount: r.Amount, Description: r.Description})
	}
	if atChannel {
		if _, err := s.channel(ctx, o.ChannelAccountID); errors.Is(err, channel.ErrNotSupported) {
			return nil, false, ErrNotSupported
		} else if err != nil {
			return nil, false, fmt.Errorf("profit sharing of order %s: %w", o.ID, err)
		}
	}
	return out, atChannel, nil
}

func (s *Service) channel(ctx context.Context, accountID string) (channel.ProfitSharing, error) {
	conn, _, err := s.Channels.ConnectorByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return channel.ProfitSharingOf(conn)
}

// startEntry is the entry that starts psh: its amount leaves the payer's
// held money for its receivers when all are merchants of the platform
// (the sharing is done), for profit_sharing_out while a channel has it.
func startEntry(o *store.Order, psh *store.ProfitSharing, at time.Time) ledger.Entry {
	lines := []ledger.Line{{Account: ledger.MerchantSharing(psh.MerchantID, psh.Livemode), Currency: psh.Currency, Amount: -psh.Amount}}
	if psh.Status == store.ProfitSharingProcessing {
		lines = append(lines, ledger.Line{Account: ledger.MerchantSharingOut(psh.MerchantID, psh.Livemode), Currency: psh.Currency, Amount: psh.Amount})
	} else {
		lines = append(lines, receiverLines(o, psh)...)
	}
	return ledger.Entry{ID: id.New(id.Entry, at), Kind: ledger.KindProfitSharing, RefID: psh.ID, CreatedAt: at, Lines: lines}
}

// receiverLines are the receivers' sides of psh: a merchant's share goes
// to its available account; a channel account holder's was paid by the
// channel out of the trade, so the channel owes the platform that less.
func receiverLines(o *store.Order, psh *store.ProfitSharing) []ledger.Line {
	var lines []ledger.Line
	for _, sh := range psh.Receivers {
		acct := ledger.ChannelReceivable(o.ChannelAccountID, psh.Livemode)
		if sh.Type == TypeMerchant {
			acct = ledger.MerchantAvailable(sh.Account, psh.Livemode)
		}
		lines = append(lines, ledger.Line{Account: acct, Currency: psh.Currency, Amount: sh.Amount})
	}
	return lines
}

// release finishes an order's sharing: what is held and not reserved by
// pending refunds goes to the merchant's available account.
func release(ctx context.Context, tx store.Tx, st *store.ProfitSharingOrder, appID, refID string, at time.Time) (*store.Event, error) {
	if rest := st.Held - st.Reserved; rest > 0 {
		if err := tx.LedgerPost(ctx, at, ledger.SharingRelease(id.New(id.Entry, at), refID, st.MerchantID, st.Livemode, st.Currency, rest, at)); err != nil {
			return nil, err
		}
		st.Held -= rest
		st.Released += rest
	}
	st.FinishedAt, st.FinishRequested, st.UnfreezePending, st.UpdatedAt = &at, false, true, at
	return orderEvent(st, appID, at)
}

func (s *Service) channelCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.ChannelTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// channelRequest is psh as its channel is asked: the receivers at the
// channel only (merchants' shares move inside the platform).
func channelRequest(o *store.Order, psh *store.ProfitSharing) channel.ProfitSharingRequest {
	r := channel.ProfitSharingRequest{SharingID: psh.ID, OrderID: o.ID, ChannelTradeNo: o.ChannelTradeNo, Currency: psh.Currency, Livemode: psh.Livemode}
	for _, sh := range psh.Receivers {
		if sh.Type != TypeMerchant {
			r.Receivers = append(r.Receivers, channel.ProfitSharingReceiver{Type: sh.Type, Account: sh.Account, Name: sh.Name, Amount: sh.Amount, Description: sh.Description})
		}
	}
	return r
}

// send asks the channel to make psh and records what it said.
func (s *Service) send(ctx context.Context, psh *store.ProfitSharing) (*store.ProfitSharing, error) {
	o, err := s.Store.OrderGet(ctx, psh.OrderID)
	if err != nil {
		return nil, err
	}
	ch, err := s.channel(ctx, psh.ChannelAccountID)
	if err != nil {
		return s.record(ctx, psh, nil, channel.Unknown(err))
	}
	cctx, cancel := s.channelCtx(ctx)
	defer cancel()
	resp, err := ch.ShareProfit(cctx, channelRequest(o, psh))
	return s.record(ctx, psh, resp, err)
}

// Resolve asks the channel about a processing sharing, sending it again
// when the channel never got it, and records the answer.
func (s *Service) Resolve(ctx context.Context, psh *store.ProfitSharing) (*store.ProfitSharing, error) {
	if psh.Status != store.ProfitSharingProcessing {
		return psh, nil
	}
	o, err := s.Store.OrderGet(ctx, psh.OrderID)
	if err != nil {
		return nil, err
	}
	ch, err := s.channel(ctx, psh.ChannelAccountID)
	if err != nil {
		return s.record(ctx, psh, nil, channel.Unknown(err))
	}
	cctx, cancel := s.channelCtx(ctx)
	resp, err := ch.QueryProfitSharing(cctx, channel.ProfitSharingQueryRequest{
		SharingID: psh.ID, OrderID: o.ID, ChannelTradeNo: o.ChannelTradeNo, ChannelSharingNo: psh.ChannelSharingNo, Livemode: psh.Livemode})
	cancel()
	if errors.Is(err, channel.ErrTradeNotFound) {
		return s.send(ctx, psh)
	}
	return s.record(ctx, psh, resp, err)
}

// record stores the channel's answer about psh.
func (s *Service) record(ctx context.Context, psh *store.ProfitSharing, resp *channel.ProfitSharingResponse, err error) (*store.ProfitSharing, error) {
	var decline *channel.DeclineError
	switch {
	case errors.As(err, &decline):
		return s.finish(ctx, psh, store.ProfitSharingFailed, "", decline.Code, decline.Message)
	case errors.Is(err, channel.ErrInvalidRequest) && !errors.Is(err, channel.ErrUnknownOutcome):
		return s.finish(ctx, psh, store.ProfitSharingFailed, "", "channel_invalid_request", "The channel refused the profit sharing as invalid.")
	case errors.Is(err, channel.ErrNotSupported) && !errors.Is(err, channel.ErrUnknownOutcome):
		return s.finish(ctx, psh, store.ProfitSharingFailed, "", "channel_not_supported", "The channel cannot make this profit sharing.")
	case err != nil:
		s.log().Warn("profit sharing outcome unknown; the worker asks again", "profit_sharing", psh.ID, "err", err)
		return s.later(ctx, psh, "")
	case resp.Status == channel.ProfitSharingSuccess:
		return s.finish(ctx, psh, store.ProfitSharingSucceeded, resp.ChannelSharingNo, "", "")
	case resp.Status == channel.ProfitSharingFailed:
		code := resp.FailureCode
		if code == "" {
			code = "profit_sharing_failed"
		}
		return s.finish(ctx, psh, store.ProfitSharingFailed, resp.ChannelSharingNo, code, resp.FailureMessage)
	}
	return s.later(ctx, psh, resp.ChannelSharingNo)
}

// later records a try that learnt nothing.
func (s *Service) later(ctx context.Context, psh *store.ProfitSharing, channelNo string) (*store.ProfitSharing, error) {
	now := s.now()
	var out *store.ProfitSharing
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ProfitSharingTransition(ctx, store.ProfitSharingTransition{
			ID: psh.ID, To: store.ProfitSharingProcessing, At: now, ChannelSharingNo: channelNo,
			QueryAttempts: psh.QueryAttempts + 1, NextQueryAt: now.Add(jobs.QueryBackoff(psh.QueryAttempts + 1)),
		})
		return err
	})
	if errors.Is(err, store.ErrStale) {
		return s.Store.ProfitSharingGet(ctx, psh.ID)
	}
	return out, err
}

// finish ends a processing sharing with its entry and event, and, when a
// finish of its order waited for it, releases the order's rest.
func (s *Service) finish(ctx context.Context, psh *store.ProfitSharing, to, channelNo, code, msg string) (*store.ProfitSharing, error) {
	now := s.now()
	var out *store.ProfitSharing
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		st, err := tx.ProfitSharingOrderLock(ctx, psh.OrderID)
		if err != nil {
			return err
		}
		out, err = tx.ProfitSharingTransition(ctx, store.ProfitSharingTransition{
			ID: psh.ID, To: to, At: now, ChannelSharingNo: channelNo, FailureCode: code, FailureMessage: msg,
			QueryAttempts: psh.QueryAttempts, NextQueryAt: psh.NextQueryAt,
		})
		if err != nil {
			return err
		}
		o, err := tx.OrderGet(ctx, out.OrderID)
		if err != nil {
			return err
		}
		typ := notify.ProfitSharingSucceeded
		entry := ledger.Entry{ID: id.New(id.Entry, now), Kind: ledger.KindProfitSharingPaid, RefID: out.ID, CreatedAt: now,
			Lines: append([]ledger.Line{{Account: ledger.MerchantSharingOut(out.MerchantID, out.Livemode), Currency: out.Currency, Amount: -out.Amount}},
				receiverLines(o, out)...)}
		if to == store.ProfitSharingFailed {
			typ = notify.ProfitSharingFailed
			entry = startEntry(o, out, now).Reverse(id.New(id.Entry, now), ledger.KindProfitSharingFailed, out.ID, now)
			st.Held += out.Amount
			st.Shared -= out.Amount
		}
		if err := tx.LedgerPost(ctx, now, entry); err != nil {
			return err
		}
		ev, err := sharingEvent(typ, out, now)
		if err != nil {
			return err
		}
		events := []*store.Event{ev}
		if st.FinishRequested {
			if busy, err := tx.ProfitSharingProcessing(ctx, out.OrderID); err != nil {
				return err
			} else if !busy {
				ev, err := release(ctx, tx, st, out.AppID, out.OrderID, now)
				if err != nil {
					return err
				}
				events = append(events, ev)
			}
		}
		st.UpdatedAt = now
		if err := tx.ProfitSharingOrderPut(ctx, st); err != nil {
			return err
		}
		return tx.EventAdd(ctx, now, events...)
	})
	if errors.Is(err, store.ErrStale) { // another finisher won
		return s.Store.ProfitSharingGet(ctx, psh.ID)
	}
	if err != nil {
		return nil, err
	}
	s.notify()
	s.tellChannel(ctx, out.OrderID)
	return out, nil
}

// ResolveDue resolves up to limit processing sharings whose next query
// has come, and returns how many it looked at.
func (s *Service) ResolveDue(ctx context.Context, now time.Time, limit int) (int, error) {
	due, err := s.Store.ProfitSharingsDue(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	for _, p := range due {
		if _, err := s.Resolve(ctx, p); err != nil {
			s.log().Error("resolve profit sharing", "profit_sharing", p.ID, "err", err)
		}
	}
	return len(due), nil
}

// ReleaseDue finishes up to limit orders paid with profit sharing
// ReleaseAfter or longer before now and not finished, and returns how
// many it looked at. An order with a processing sharing is finished when
// that sharing ends.
func (s *Service) ReleaseDue(ctx context.Context, now time.Time, limit int) (int, error) {
	ids, err := s.Store.ProfitSharingOrdersToRelease(ctx, now.Add(-s.releaseAfter()), limit)
	if err != nil {
		return 0, err
	}
	for _, orderID := range ids {
		if err := s.releaseOrder(ctx, orderID); err != nil {
			s.log().Error("release profit sharing order", "order", orderID, "err", err)
		}
	}
	return len(ids), nil
}

func (s *Service) releaseOrder(ctx context.Context, orderID string) error {
	at := s.now()
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		st, err := tx.ProfitSharingOrderLock(ctx, orderID)
		if err != nil {
			return err
		}
		if st.FinishedAt != nil || st.FinishRequested {
			return nil
		}
		if busy, err := tx.ProfitSharingProcessing(ctx, orderID); err != nil {
			return err
		} else if busy {
			st.FinishRequested, st.UpdatedAt = true, at
			return tx.ProfitSharingOrderPut(ctx, st)
		}
		o, err := tx.OrderGet(ctx, orderID)
		if err != nil {
			return err
		}
		ev, err := release(ctx, tx, st, o.AppID, orderID, at)
		if err != nil {
			return err
		}
		if err := tx.ProfitSharingOrderPut(ctx, st); err != nil {
			return err
		}
		return tx.EventAdd(ctx, at, ev)
	})
	if err == nil {
		s.notify()
		s.tellChannel(ctx, orderID)
	}
	return err
}

// tellChannel tells the channel of a released order that its sharing is
// done (channel.ProfitSharingFinisher: WeChat Pay unfreezes the rest), once:
// an answer, or a final refusal, clears the order's UnfreezePending; an
// unknown outcome leaves it for UnfreezeDue. A channel without the
// capability has nothing to be told.
func (s *Service) tellChannel(ctx context.Context, orderID string) {
	st, err := s.Store.ProfitSharingOrderGet(ctx, orderID)
	if err != nil || !st.UnfreezePending {
		return
	}
	o, err := s.Store.OrderGet(ctx, orderID)
	if err != nil {
		s.log().Error("unfreeze profit sharing", "order", orderID, "err", err)
		return
	}
	if conn, _, err := s.Channels.ConnectorByID(ctx, o.ChannelAccountID); err != nil {
		s.log().Warn("unfreeze profit sharing: no connector; the worker tries again", "order", orderID, "err", err)
		return
	} else if f, ok := channel.Unwrap(conn).(channel.ProfitSharingFinisher); ok {
		cctx, cancel := s.channelCtx(ctx)
		err := f.FinishProfitSharing(cctx, channel.ProfitSharingFinishRequest{FinishID: "fin-" + o.ID, OrderID: o.ID,
			ChannelTradeNo: o.ChannelTradeNo, Description: "profit sharing finished", Livemode: o.Livemode})
		cancel()
		if channel.Retryable(err) || errors.Is(err, channel.ErrUnknownOutcome) {
			s.log().Warn("unfreeze profit sharing: outcome unknown; the worker tries again", "order", orderID, "err", err)
			return
		} else if err != nil {
			s.log().Error("unfreeze profit sharing refused by the channel", "order", orderID, "err", err)
		}
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		st, err := tx.ProfitSharingOrderLock(ctx, orderID)
		if err != nil {
			return err
		}
		st.UnfreezePending, st.UpdatedAt = false, s.now()
		return tx.ProfitSharingOrderPut(ctx, st)
	})
	if err != nil {
		s.log().Error("unfreeze profit sharing: record", "order", orderID, "err", err)
	}
}

// UnfreezeDue tells the channels of up to limit released orders they have
// not been told of, and returns how many it looked at.
func (s *Service) UnfreezeDue(ctx context.Context, limit int) (int, error) {
	ids, err := s.Store.ProfitSharingOrdersToUnfreeze(ctx, limit)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		s.tellChannel(ctx, id)
	}
	return len(ids), nil
}

// Job is the profit sharing worker for a jobs.Scheduler: every interval
// it resolves the processing sharings that are due, finishes the orders
// past ReleaseAfter, and tells channels of released orders they missed.
func (s *Service) Job(interval time.Duration) jobs.Job {
	return jobs.Job{
		Name: "profit_sharing",
		Next: jobs.Every(interval),
		Run: func(ctx context.Context, now time.Time) error {
			for {
				n, err := s.ResolveDue(ctx, now, 100)
				if err != nil {
					return err
				}
				if n < 100 {
					break
				}
			}
			for {
				n, err := s.ReleaseDue(ctx, now, 100)
				if err != nil {
					return err
				}
				if n < 100 {
					break
				}
			}
			// Orders whose channel could not be told stay listed: one
			// pass a run.
			_, err := s.UnfreezeDue(ctx, 100)
			return err
		},
	}
}

// Get returns a sharing the scope's merchant may see.
func (s *Service) Get(ctx context.Context, sc store.Scope, sharingID string) (*store.ProfitSharing, error) {
	if !id.Valid(id.ProfitSharing, sharingID) {
		return nil, ErrNotFound
	}
	p, err := s.Store.ProfitSharingGetInScope(ctx, sc, sharingID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return p, err
}

// List lists an order's sharings, newest first.
func (s *Service) List(ctx context.Context, sc store.Scope, orderID string, p store.ListParams) ([]*store.ProfitSharing, bool, error) {
	if orderID == "" {
		return nil, false, errs.Missing("order_id")
	}
	if !id.Valid(id.Order, orderID) {
		return nil, false, errs.OrderNotFound
	}
	return s.Store.ProfitSharingList(ctx, sc, orderID, p)
}

// OrderState returns the sharing state of the scope's order paid with
// profit sharing.
func (s *Service) OrderState(ctx context.Context, sc store.Scope, orderID string) (*store.ProfitSharingOrder, error) {
	o, err := s.order(ctx, sc, orderID)
	if err != nil {
		return nil, err
	}
	return s.Store.ProfitSharingOrderGet(ctx, o.ID)
}
