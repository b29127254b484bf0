// Package payment is the business layer of orders and refunds: it checks a
// request, asks the channel, and moves the status machine of the API reference (docs/api.md) through
// compare-and-set transitions whose ledger entries and events commit with them.
//
// An order's life: pending → processing (payer confirming, or the channel's
// answer is unknown) → succeeded | failed; pending/processing → closed. A
// channel success that arrives for a closed order moves it to succeeded,
// because money the payer paid must never be dropped; the merchant then
// refunds it.
//
// An order may be paid at an FX quote, in another currency than the one the
// merchant is credited in (fxorders.go; the refund policy is in package
// fx), and in instalments (installments.go: who pays the plan's fee, and
// where the ledger puts it).
package payment

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/notify"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

// Service runs orders and refunds.
type Service struct {
	Store store.Store
	// Metrics counts orders created and finished; nil counts nothing.
	Metrics *metrics.Metrics
	// Accounts builds the connectors of channel accounts (the sandbox's
	// included); Router picks among the accounts.
	Accounts *channelaccount.Service
	Router   *routing.Router
	// MicropayDeadline is how long a micropay order may wait for its payer
	// to confirm (USERPAYING) before the worker reverses it. Default 60s.
	MicropayDeadline time.Duration
	// InstallmentFees is the fee of an instalment plan by its count, in
	// basis points of the amount; default DefaultInstallmentFees.
	InstallmentFees map[int]int
	Clock           clock.Clock
	// PublicURL is how payers reach the gateway (for cashier_url), without a trailing slash.
	PublicURL string
	// ChannelTimeout bounds each call to a channel. Default 10s.
	ChannelTimeout time.Duration
	Log            *slog.Logger
	// Notify, when set, is called after a change that wrote events has
	// committed, to wake the notification dispatcher. It must not block.
	Notify func()
	// TestPayer, when set, plays the payer of a test-mode order served by a
	// channel account whose channel is a simulator running in this process
	// (serve --simulators): it pays (or fails) the trade at the simulator,
	// which then tells the gateway by its callback, as the real channel would.
	TestPayer func(ctx context.Context, o *store.Order, paid bool) error
	bg        background

	// CheckNotifyURL, when set, vets an order's or refund's notify_url at
	// creation (notify.Policy.CheckURL: no private addresses, and loopback
	// only in test mode on a gateway that is not hosted). Its error's text
	// is shown to the merchant.
	CheckNotifyURL func(ctx context.Context, url string, live bool) error
	// Risk, when set, evaluates every payment before routing and before
	// any channel is asked, and refunds where a rule asks (risk.go). Nil:
	// no rules, every order allowed.
	Risk Risk
	// ParamsKey keys the fingerprints of create parameters kept on orders
	// and refunds (request_hash; see paramsHash). Required: the gateway
	// derives it from the master key with ParamsKeyLabel.
	ParamsKey []byte
	// CardKey keys saved cards' fingerprints (CardFingerprint); the gateway
	// derives it from the master key with CardKeyLabel.
	CardKey []byte
	// Sources resolves orders charged on agreements and saved payment
	// methods, and keeps saved cards (internal/billing). Nil: such orders
	// are refused.
	Sources ChargeSources
	// OrderSettled, when set, is called after a change of an order to
	// succeeded, failed or closed has committed (internal/billing settles
	// the invoice the order paid). It must not block for long; what it
	// misses, a worker finds later.
	OrderSettled func(ctx context.Context, o *store.Order)
	// RefundFeePolicy says whether a refund returns a share of its
	// payment's fee (settlement.RefundFeeProRata) or the platform keeps it
	// (settlement.RefundFeeKeep, the default, also for "").
	RefundFeePolicy settlement.RefundFeePolicy
}

// Scope is who is asking: a merchant in one mode, through one app.
type Scope = store.Scope

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) channelCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.ChannelTimeout
	if d == 0 {
		d = 10 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// CashierURL is the hosted cashier page of an order.
func (s *Service) CashierURL(orderID string) string { return s.PublicURL + "/pay/" + orderID }

// ParamsKeyLabel names the key, derived from the master key
// (cryptobox.Box.DeriveKey), that the gateway gives as ParamsKey.
const ParamsKeyLabel = "paygate/create-params-hash/v1"

// paramsHashPrefix starts every fingerprint paramsHash makes; one without
// it was made by an earlier version, as a bare SHA-256.
const paramsHashPrefix = "h1:"

// paramsHash fingerprints create parameters (an order's or a refund's
// request_hash), so a repeat of a natural key can be told from a
// conflicting create: paramsHashPrefix and the hex HMAC-SHA256 under
// ParamsKey of their JSON. Keyed, never bare: an order's parameters hold
// the card number (PCI DSS 3.5.1.1). Callers leave the CVC out
// (withoutCVC): nothing kept after authorisation may depend on it.
func (s *Service) paramsHash(v any) (string, error) {
	if len(s.ParamsKey) == 0 {
		return "", errors.New("payment: Service.ParamsKey is not set")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("payment: hash params: %w", err)
	}
	m := hmac.New(sha256.New, s.ParamsKey)
	m.Write(b)
	return paramsHashPrefix + hex.EncodeToString(m.Sum(nil)), nil
}

// sameParams reports whether stored, the request_hash of an existing order
// or refund, is hash; or, for one made by a version before paramsHash, the
// bare SHA-256 of the parameters as that version hashed them (legacy),
// computed here only to compare and never kept. (Migration 6 blanked the
// bare hashes of card orders, which covered the CVC: those match nothing.)
func sameParams(stored, hash string, legacy any) bool {
	if stored == hash {
		return true
	}
	if strings.HasPrefix(stored, paramsHashPrefix) {
		return false
	}
	b, err := json.Marshal(legacy)
	if err != nil {
		return false
	}
	h := sha256.Sum256(b)
	return hmac.Equal([]byte(stored), []byte(hex.EncodeToString(h[:])))
}

// withoutCVC is p with its card's CVC left out, for fingerprints.
func withoutCVC(p CreateOrderParams) CreateOrderParams {
	if p.Card != nil {
		c := *p.Card
		c.CVC = ""
		p.Card = &c
	}
	return p
}

// event builds an event of typ about obj, rendered as the API renders it.
func event(typ string, at time.Time, scope Scope, objectType, objectID, notifyURL string, obj any) (*store.Event, error) {
	data, err := json.Marshal(map[string]any{"object": obj})
	if err != nil {
		return nil, err
	}
	return &store.Event{
		ID: id.New(id.Event, at), Type: typ, MerchantID: scope.MerchantID, AppID: scope.AppID,
		Livemode: scope.Livemode, ObjectType: objectType, ObjectID: objectID, Data: data,
		NotifyURL: notifyURL, CreatedAt: at,
	}, nil
}

func orderScope(o *store.Order) Scope {
	return Scope{MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode}
}

// GetOrder returns an order the scope may see.
func (s *Service) GetOrder(ctx context.Context, sc Scope, orderID string) (*store.Order, error) {
	if !id.Valid(id.Order, orderID) {
		return nil, errs.OrderNotFound
	}
	o, err := s.Store.OrderGetInScope(ctx, sc, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.OrderNotFound
	}
	return o, err
}

// GetOrderByOutTradeNo returns the app's order with that out_trade_no.
func (s *Service) GetOrderByOutTradeNo(ctx context.Context, sc Scope, outTradeNo string) (*store.Order, error) {
	o, err := s.Store.OrderGetByOutTradeNo(ctx, sc.AppID, outTradeNo)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.OrderNotFound
	}
	return o, err
}

// transition applies t and maps a lost race to the order as it now is.
// It returns the order after the change, or ErrStale with the current order.
func (s *Service) transition(ctx context.Context, t store.OrderTransition) (*store.Order, error) {
	o, err := s.Store.OrderTransition(ctx, t)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.OrderNotFound
	}
	if err == nil && t.Effects != nil {
		s.notify()
	}
	if err == nil && (o.Status == store.OrderSucceeded || o.Status == store.OrderFailed || o.Status == store.OrderClosed) {
		s.Metrics.OrderFinished(o.Method, o.Channel, o.Livemode, string(o.Status))
		if s.OrderSettled != nil {
			s.OrderSettled(ctx, o)
		}
	}
	return o, err
}

// notify wakes the notification dispatcher after a commit that wrote events.
func (s *Service) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

// checkNotifyURL vets a notify_url with CheckNotifyURL: 400 notify_url_invalid when refused.
func (s *Service) checkNotifyURL(ctx context.Context, url string, live bool) error {
	if url == "" || s.CheckNotifyURL == nil {
		return nil
	}
	if err := s.CheckNotifyURL(ctx, url, live); err != nil {
		return errs.InvalidParam("notify_url", "notify_url is refused: "+err.Error()+".")
	}
	return nil
}

// succeed moves o to succeeded from any of from, with its payment entry and
// order.succeeded event in the same transaction. When the order is already
// succeeded it returns it unchanged: channels repeat themselves. q is the
// channel's answer: its trade number, and what the payer paid when the
// channel converted, are stored with the change.
func (s *Service) succeed(ctx context.Context, o *store.Order, q *channel.QueryResponse, from ...store.OrderStatus) (*store.Order, error) {
	m, err := s.Store.MerchantGet(ctx, o.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("succeed order %s: merchant: %w", o.ID, err)
	}
	fees, err := settlement.ScheduleOf(ctx, s.Store, m)
	if err != nil {
		return nil, fmt.Errorf("succeed order %s: %w", o.ID, err)
	}
	var fxq *store.FXQuote
	if o.FXQuoteID != "" {
		if fxq, err = s.orderQuote(ctx, o); err != nil {
			return nil, err
		}
	}
	at := s.now()
	t := store.OrderTransition{
		OrderID: o.ID, From: from, To: store.OrderSucceeded, At: at, ChannelTradeNo: q.ChannelTradeNo,
		Effects: func(after *store.Order) (store.Effects, error) {
			entry, err := paymentEntry(id.New(id.Entry, at), after, fxq, fees, at)
			if err != nil {
				return store.Effects{}, err
			}
			ev, err := event(notify.OrderSucceeded, at, orderScope(after), "order", after.ID, after.NotifyURL, OrderObject(after))
			if err != nil {
				return store.Effects{}, err
			}
			return store.Effects{Entries: []ledger.Entry{entry}, Events: []*store.Event{ev}}, nil
		},
	}
	if q.PayerCurrency != "" && q.PayerCurrency != o.Currency && q.PayerAmount > 0 { // the channel converted
		t.PayerAmount, t.PayerCurrency, t.ExchangeRate = q.PayerAmount, q.PayerCurrency, q.ExchangeRate
	}
	out, err := s.transition(ctx, t)
	if errors.Is(err, store.ErrStale) {
		cur, gerr := s.Store.OrderGet(ctx, o.ID)
		if gerr != nil {
			return nil, gerr
		}
		if cur.Status == store.OrderSucceeded {
			return cur, nil
		}
		return cur, err
	}
	return out, err
}

// finish moves o to failed or closed from any of from, with its event. A
// failure code's message is the fixed sentence of failures.go.
func (s *Service) finish(ctx context.Context, o *store.Order, to store.OrderStatus, failureCode string, from ...store.OrderStatus) (*store.Order, error) {
	failureMsg := ""
	if failureCode != "" {
		failureMsg = paymentFailure(failureCode)
	}
	typ := notify.OrderFailed
	if to == store.OrderClosed {
		typ = notify.OrderClosed
	}
	at := s.now()
	out, err := s.transition(ctx, store.OrderTransition{
		OrderID: o.ID, From: from, To: to, At: at, FailureCode: failureCode, FailureMessage: failureMsg,
		Effects: func(after *store.Order) (store.Effects, error) {
			ev, err := event(typ, at, orderScope(after), "order", after.ID, after.NotifyURL, OrderObject(after))
			if err != nil {
				return store.Effects{}, err
			}
			return store.Effects{Events: []*store.Event{ev}}, nil
		},
	})
	if errors.Is(err, store.ErrStale) {
		cur, gerr := s.Store.OrderGet(ctx, o.ID)
		if gerr != nil {
			return nil, gerr
		}
		return cur, err
	}
	return out, err
}
