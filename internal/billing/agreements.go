package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
)

// AgreementParams create an agreement.
type AgreementParams struct {
	Method             string
	Customer           string
	Payer              store.Payer
	Description        string
	MaxAmountPerCharge int64
	Currency           string
	Period             string
	ReturnURL          string
	NotifyURL          string
	Metadata           map[string]string
}

// AgreementMethods are the methods an agreement may be signed with.
func AgreementMethods() []string {
	var out []string
	for _, m := range channel.Methods() {
		if m.Kind == channel.KindAgreement {
			out = append(out, m.Name)
		}
	}
	return out
}

func (p *AgreementParams) validate(livemode bool) error {
	if p.Method == "" {
		return errs.Missing("method")
	}
	if m, ok := channel.LookupMethod(p.Method); !ok || m.Kind != channel.KindAgreement {
		return errs.InvalidParam("method", "method must be one of "+strings.Join(AgreementMethods(), ", ")+".")
	}
	if p.Customer != "" && !id.Valid(id.Customer, p.Customer) {
		return errs.InvalidParam("customer", "customer must be a customer id (cus_…).")
	}
	switch {
	case p.Description == "":
		return errs.Missing("plan.description").WithParam("plan.description")
	case !money.ValidAmount(p.MaxAmountPerCharge):
		return errs.InvalidParam("plan", "plan.max_amount_per_charge must be an integer from 1 to 1000000000000 in the currency's minor unit.").WithParam("plan.max_amount_per_charge")
	case !money.ValidCurrency(p.Currency):
		e := errs.Invalid("currency_unsupported", "plan.currency must be an upper-case ISO 4217 code such as CNY.")
		e.Param = "plan.currency"
		return e
	case maxIntervalCount[p.Period] == 0:
		return errs.InvalidParam("plan", "plan.period must be one of day, week, month, year.").WithParam("plan.period")
	}
	if err := text("plan.description", p.Description, 128); err != nil {
		return err
	}
	if len(p.Payer.ID) > 128 {
		return errs.InvalidParam("payer", "payer.id must be at most 128 characters.").WithParam("payer.id")
	}
	if p.Payer.IP != "" {
		if _, err := netip.ParseAddr(p.Payer.IP); err != nil {
			return errs.InvalidParam("payer", "payer.ip must be an IPv4 or IPv6 address.").WithParam("payer.ip")
		}
	}
	for _, u := range []struct{ param, v string }{{"return_url", p.ReturnURL}, {"notify_url", p.NotifyURL}} {
		if u.v == "" {
			continue
		}
		parsed, err := url.Parse(u.v)
		if err != nil || len(u.v) > 2048 || parsed.Host == "" || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.User != nil {
			return errs.InvalidParam(u.param, u.param+" must be an absolute http or https URL of at most 2048 characters without credentials.")
		}
		if u.param == "notify_url" && livemode && parsed.Scheme != "https" {
			return errs.InvalidParam(u.param, "notify_url must use https in live mode.")
		}
	}
	return payment.ValidateMetadata(p.Metadata)
}

// AgreementPageURL is the gateway's page for an agreement (the sandbox's
// test payer signs there).
func (s *Service) AgreementPageURL(agreementID string) string {
	return s.PublicURL + "/pay/" + agreementID
}

// CreateAgreement asks a channel that serves the method for a signing page
// and records the agreement, pending, with the next action that sends the
// payer there. Where it is signed is routed as a payment of the method in
// the plan's currency and per-charge limit would be.
func (s *Service) CreateAgreement(ctx context.Context, sc Scope, p AgreementParams) (*store.Agreement, error) {
	if err := p.validate(sc.Livemode); err != nil {
		return nil, err
	}
	if p.Customer != "" {
		if _, err := s.GetCustomer(ctx, sc, p.Customer); err != nil {
			return nil, withParam(err, "customer")
		}
	}
	plan, err := s.Router.Route(ctx, routing.Query{MerchantID: sc.MerchantID, Method: p.Method, Currency: p.Currency, Amount: p.MaxAmountPerCharge, Livemode: sc.Livemode})
	if errors.Is(err, routing.ErrNoRoute) {
		e := errs.Invalid("method_unsupported", fmt.Sprintf("No channel signs %s agreements in %s for this merchant.", p.Method, p.Currency))
		e.Param = "method"
		return nil, e
	} else if err != nil {
		return nil, fmt.Errorf("route agreement: %w", err)
	}
	now := s.now()
	a := &store.Agreement{
		ID: id.New(id.Agreement, now), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode, CustomerID: p.Customer,
		Method: p.Method, Status: store.AgreementPending, Description: p.Description, MaxAmountPerCharge: p.MaxAmountPerCharge,
		Currency: p.Currency, Period: p.Period, Payer: p.Payer, ReturnURL: p.ReturnURL, NotifyURL: p.NotifyURL, Metadata: p.Metadata,
		CreatedAt: now, UpdatedAt: now,
	}
	var resp *channel.SignAgreementResponse
	chosen, ok, err := s.Router.Run(ctx, plan, func(ctx context.Context, c routing.Candidate) error {
		conn, err := s.Channels.Connector(c.Account)
		if err != nil {
			return fmt.Errorf("%w: %w", channel.ErrUnavailable, err)
		}
		ag, err := channel.AgreementsOf(conn)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err = ag.SignAgreement(cctx, channel.SignAgreementRequest{
			AgreementID: a.ID, CreatedAt: now, Method: a.Method, Description: a.Description, MaxAmountPerCharge: a.MaxAmountPerCharge,
			Currency: a.Currency, Period: a.Period, PayerID: a.Payer.ID, PayerIP: a.Payer.IP, ReturnURL: a.ReturnURL,
			NotifyURL: s.agreementNotifyURL(c.Account), PageURL: s.AgreementPageURL(a.ID), Livemode: a.Livemode,
		})
		return err
	})
	if !ok || err != nil {
		if errors.Is(err, channel.ErrNotSupported) {
			e := errs.Invalid("method_unsupported", "The channel for "+p.Method+" does not sign agreements.")
			e.Param = "method"
			return nil, e.Wrap(err)
		}
		return nil, errs.Channel("channel_unavailable", "The channel could not start the agreement's signing; retry the same request.", fmt.Errorf("sign agreement %s: %w", a.ID, err))
	}
	a.Channel, a.ChannelAccountID = chosen.Account.Provider, chosen.Account.ID
	if resp.NextAction != nil {
		a.NextAction = mustJSON(resp.NextAction)
	}
	if resp.Status == channel.AgreementActive {
		a.Status, a.ChannelAgreementNo, a.ActivatedAt = store.AgreementActive, resp.ChannelAgreementNo, ptr(now)
	}
	if err := s.Store.AgreementCreate(ctx, a); err != nil {
		return nil, fmt.Errorf("create agreement: %w", err)
	}
	return a, nil
}

// agreementNotifyURL is where a channel account's provider posts agreement callbacks.
func (s *Service) agreementNotifyURL(a *store.ChannelAccount) string {
	return s.Channels.AgreementNotifyURL(a)
}

// GetAgreement returns the scope's agreement.
func (s *Service) GetAgreement(ctx context.Context, sc Scope, agreementID string) (*store.Agreement, error) {
	if !id.Valid(id.Agreement, agreementID) {
		return nil, ErrAgreementNotFound
	}
	a, err := s.Store.AgreementGetInScope(ctx, sc, agreementID)
	return lookup(a, err, ErrAgreementNotFound, "")
}

// ListAgreements lists the scope's agreements.
func (s *Service) ListAgreements(ctx context.Context, sc Scope, p store.ListParams) ([]*store.Agreement, bool, error) {
	return s.Store.AgreementList(ctx, sc, p)
}

// agreementConn returns the agreements capability of a's channel account.
func (s *Service) agreementConn(ctx context.Context, a *store.Agreement) (channel.Agreements, error) {
	conn, _, err := s.Channels.ConnectorByID(ctx, a.ChannelAccountID)
	if err != nil {
		return nil, err
	}
	return channel.AgreementsOf(conn)
}

// TerminateAgreement ends the scope's agreement at the merchant's request:
// the channel is told first (a signed one is unsigned there), then the
// agreement is terminated with its event. Terminating twice is harmless.
func (s *Service) TerminateAgreement(ctx context.Context, sc Scope, agreementID string) (*store.Agreement, error) {
	a, err := s.GetAgreement(ctx, sc, agreementID)
	if err != nil {
		return nil, err
	}
	if a.Status == store.AgreementTerminated {
		return a, nil
	}
	if a.Status == store.AgreementActive {
		ag, err := s.agreementConn(ctx, a)
		if err != nil {
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = ag.TerminateAgreement(cctx, channel.AgreementRequest{AgreementID: a.ID, ChannelAgreementNo: a.ChannelAgreementNo, Method: a.Method,
			Reason: "terminated by the merchant", Livemode: a.Livemode})
		cancel()
		if err != nil && !errors.Is(err, channel.ErrTradeNotFound) {
			return nil, errs.Channel("channel_unavailable", "The channel could not terminate the agreement; retry later.", fmt.Errorf("terminate agreement %s: %w", a.ID, err))
		}
	}
	return s.applyAgreement(ctx, a.ID, &channel.AgreementState{AgreementID: a.ID, Status: channel.AgreementTerminated, TerminatedBy: channel.TerminatedByMerchant, TerminatedAt: s.now()})
}

// applyAgreement records what the channel says of an agreement: signed
// (pending → active) or terminated (→ terminated), with the event, in one
// compare-and-set. A state that changes nothing (a repeated callback) is
// not an error; neither is a late signing of a terminated agreement.
func (s *Service) applyAgreement(ctx context.Context, agreementID string, st *channel.AgreementState) (*store.Agreement, error) {
	for range 3 {
		var out *store.Agreement
		changed := false
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			a, err := tx.AgreementGet(ctx, agreementID)
			if err != nil {
				return err
			}
			out = a
			now := s.now()
			var ev events
			sc := Scope{MerchantID: a.MerchantID, AppID: a.AppID, Livemode: a.Livemode}
			switch {
			case st.Status == channel.AgreementActive && a.Status == store.AgreementPending:
				a.Status, a.ChannelAgreementNo, a.ChannelPayerID, a.ActivatedAt = store.AgreementActive, st.ChannelAgreementNo, st.ChannelPayerID, ptr(at(st.SignedAt, now))
				a.UpdatedAt = now
				ev.add(notify.AgreementActivated, now, sc, "agreement", a.ID, a.NotifyURL, AgreementObject(a))
			case st.Status == channel.AgreementTerminated && a.Status != store.AgreementTerminated:
				by := st.TerminatedBy
				if by == "" {
					by = channel.TerminatedByChannel
				}
				if st.ChannelAgreementNo != "" && a.ChannelAgreementNo == "" {
					a.ChannelAgreementNo = st.ChannelAgreementNo
				}
				a.Status, a.TerminatedBy, a.TerminatedAt, a.UpdatedAt = store.AgreementTerminated, by, ptr(at(st.TerminatedAt, now)), now
				ev.add(notify.AgreementTerminated, now, sc, "agreement", a.ID, a.NotifyURL, AgreementObject(a))
			default:
				return nil
			}
			if err := tx.AgreementUpdate(ctx, a); err != nil {
				return err
			}
			changed = true
			return ev.write(ctx, tx, now)
		})
		if errors.Is(err, store.ErrStale) {
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrAgreementNotFound
		}
		if err != nil {
			return nil, err
		}
		if changed {
			s.log().Info("agreement changed", "agreement", out.ID, "status", out.Status, "terminated_by", out.TerminatedBy)
			s.notify()
		}
		return out, nil
	}
	return nil, ErrBusy
}

// at is t, or def when t is zero.
func at(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t.UTC().Truncate(time.Microsecond)
}

var notFoundReply = channel.NotifyReply{Status: http.StatusNotFound, ContentType: "text/plain", Body: []byte("unknown channel account")}

// AgreementCallback handles a channel's callback on the agreement path of
// one of its accounts (POST /channels/{provider}/agreements/notify/{account}):
// a signing or a termination moves the agreement; a deduction's result
// (WeChat posts those there) moves its order as a payment callback would.
func (s *Service) AgreementCallback(ctx context.Context, provider, accountID string, req channel.NotifyRequest) channel.NotifyReply {
	log := s.log().With("provider", provider, "channel_account", accountID)
	conn, acct, err := s.Channels.ConnectorByID(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && acct.Provider != provider) {
		log.Warn("agreement callback for an unknown channel account")
		return notFoundReply
	}
	if err != nil {
		log.Error("agreement callback: build connector", "err", err)
		return channel.NotifyReply{Status: http.StatusServiceUnavailable, ContentType: "text/plain", Body: []byte("unavailable")}
	}
	ag, err := channel.AgreementsOf(conn)
	if err != nil {
		return notFoundReply
	}
	n, err := ag.AgreementNotify(ctx, req)
	if err != nil {
		log.Warn("agreement callback refused", "err", err)
		return ag.AgreementNotifyReply(err)
	}
	switch n.Kind {
	case channel.NotifyPayment:
		err = s.Payments.ApplyPaymentNotification(ctx, acct, n.Payment)
	case channel.NotifyAgreement:
		err = s.agreementNotified(ctx, acct, n.Agreement)
	default:
		err = fmt.Errorf("agreement callback of kind %q", n.Kind)
	}
	if err != nil {
		log.Error("agreement callback not applied; the channel will repeat it", "event", n.EventID, "err", err)
		return ag.AgreementNotifyReply(err)
	}
	return ag.AgreementNotifyReply(nil)
}

// agreementNotified applies a verified agreement callback of acct.
func (s *Service) agreementNotified(ctx context.Context, acct *store.ChannelAccount, st *channel.AgreementState) error {
	a, err := s.Store.AgreementGet(ctx, st.AgreementID)
	if err != nil {
		return fmt.Errorf("agreement %s: %w", st.AgreementID, err)
	}
	if a.ChannelAccountID != acct.ID || (st.ChannelAgreementNo != "" && a.ChannelAgreementNo != "" && a.ChannelAgreementNo != st.ChannelAgreementNo) {
		return fmt.Errorf("agreement %s of channel account %s (%s) reported by %s as %s: callback does not match the agreement",
			a.ID, a.ChannelAccountID, a.ChannelAgreementNo, acct.ID, st.ChannelAgreementNo)
	}
	_, err = s.applyAgreement(ctx, a.ID, st)
	return err
}

// SyncAgreement asks the channel for a pending or active agreement's state
// and records it.
func (s *Service) SyncAgreement(ctx context.Context, a *store.Agreement) (*store.Agreement, error) {
	if a.Status == store.AgreementTerminated {
		return a, nil
	}
	ag, err := s.agreementConn(ctx, a)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := ag.QueryAgreement(cctx, channel.AgreementRequest{AgreementID: a.ID, ChannelAgreementNo: a.ChannelAgreementNo, Method: a.Method, Livemode: a.Livemode})
	cancel()
	if errors.Is(err, channel.ErrTradeNotFound) {
		return a, nil // not signed (yet)
	}
	if err != nil {
		return nil, err
	}
	if st.Status == channel.AgreementSigning {
		return a, nil
	}
	st.AgreementID = a.ID
	return s.applyAgreement(ctx, a.ID, st)
}

// Payer actions of the test helper.
const (
	PayerSign      = "sign"
	PayerRefuse    = "refuse"
	PayerTerminate = "terminate"
)

// sandboxPayer is a channel whose test payer the gateway plays (the sandbox).
type sandboxPayer interface {
	PayerSigns(agreementID string, signed bool) (*channel.AgreementState, error)
	PayerTerminates(agreementID string) (*channel.AgreementState, error)
}

// TestPayer plays the payer of a test-mode agreement (POST
// /v1/test/agreements/{id}/payer): sign or refuse a pending one, terminate
// an active one at the channel. At the sandbox the change is recorded at
// once; at a simulator the payer acts there and the simulator's callback
// (or the query that follows) records it.
func (s *Service) TestPayer(ctx context.Context, sc Scope, agreementID, action string) (*store.Agreement, error) {
	if sc.Livemode {
		return nil, errs.TestModeOnly
	}
	if !slices.Contains([]string{PayerSign, PayerRefuse, PayerTerminate}, action) {
		return nil, errs.InvalidParam("action", "action must be sign, refuse or terminate.")
	}
	a, err := s.GetAgreement(ctx, sc, agreementID)
	if err != nil {
		return nil, err
	}
	switch {
	case action == PayerTerminate && a.Status != store.AgreementActive:
		return nil, errs.Conflict("agreement_not_active", "Only an active agreement can be terminated by its payer.")
	case action != PayerTerminate && a.Status != store.AgreementPending:
		return nil, errs.Conflict("agreement_not_pending", "The agreement has already been signed or terminated.")
	}
	conn, _, err := s.Channels.ConnectorByID(ctx, a.ChannelAccountID)
	if err != nil {
		return nil, err
	}
	sp, ok := channel.Unwrap(conn).(sandboxPayer)
	if !ok {
		if s.TestSigner == nil {
			return nil, errs.Invalid("method_unsupported", "This agreement's channel cannot be driven from the test helper.")
		}
		if err := s.TestSigner(ctx, a, action); err != nil {
			return nil, errs.Conflict("agreement_not_actionable", "The test channel refused the payer's action.").Wrap(err)
		}
		return s.SyncAgreement(ctx, a)
	}
	var st *channel.AgreementState
	switch action {
	case PayerSign:
		st, err = sp.PayerSigns(a.ID, true)
	case PayerRefuse:
		if _, err = sp.PayerSigns(a.ID, false); err == nil {
			return s.refused(ctx, a)
		}
	case PayerTerminate:
		st, err = sp.PayerTerminates(a.ID)
	}
	if err != nil {
		return nil, errs.Conflict("agreement_not_actionable", "The test channel refused the payer's action.").Wrap(err)
	}
	return s.applyAgreement(ctx, a.ID, st)
}

// refused terminates a pending agreement whose payer refused to sign it.
func (s *Service) refused(ctx context.Context, a *store.Agreement) (*store.Agreement, error) {
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.AgreementGet(ctx, a.ID)
		if err != nil || cur.Status != store.AgreementPending {
			return err
		}
		now := s.now()
		cur.Status, cur.TerminatedBy, cur.FailureCode, cur.TerminatedAt, cur.UpdatedAt = store.AgreementTerminated, channel.TerminatedByPayer, "payer_refused", ptr(now), now
		if err := tx.AgreementUpdate(ctx, cur); err != nil {
			return err
		}
		var ev events
		ev.add(notify.AgreementTerminated, now, Scope{MerchantID: cur.MerchantID, AppID: cur.AppID, Livemode: cur.Livemode}, "agreement", cur.ID, cur.NotifyURL, AgreementObject(cur))
		return ev.write(ctx, tx, now)
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.Store.AgreementGet(ctx, a.ID)
}

// PageAgreement returns any agreement by id, for its page on the gateway
// (the sandbox's signing page): the id in the page's URL is what lets a
// payer see it.
func (s *Service) PageAgreement(ctx context.Context, agreementID string) (*store.Agreement, error) {
	if !id.Valid(id.Agreement, agreementID) {
		return nil, ErrAgreementNotFound
	}
	a, err := s.Store.AgreementGet(ctx, agreementID)
	return lookup(a, err, ErrAgreementNotFound, "")
}
