package payment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
)

// connector returns the connector of the channel account that serves o.
func (s *Service) connector(ctx context.Context, o *store.Order) (channel.Connector, error) {
	if o.ChannelAccountID == "" {
		return nil, fmt.Errorf("order %s has no channel account", o.ID)
	}
	conn, _, err := s.Accounts.ConnectorByID(ctx, o.ChannelAccountID)
	return conn, err
}

// receivable names the ledger account of what o's channel owes the
// platform: one per channel account.
func receivable(o *store.Order) string { return o.ChannelAccountID }

// routed is where a payment may go: the router's plan over channel accounts.
type routed struct {
	plan   *routing.Plan
	chosen *store.ChannelAccount // the account that took the payment, once known
	src    *ChargeSource         // the agreement or saved card of a merchant-initiated charge
}

// route finds where a payment of method may go. When no channel account
// can take it, the merchant learns why without the platform's accounts
// being named: channel_unavailable when the only reason is their health
// (retry later), method_unsupported otherwise.
func (s *Service) route(ctx context.Context, merchantID string, livemode bool, method, currency string, amount int64) (*routed, error) {
	plan, err := s.Router.Route(ctx, routing.Query{MerchantID: merchantID, Method: method, Currency: currency, Amount: amount, Livemode: livemode})
	switch {
	case err == nil:
		return &routed{plan: plan}, nil
	case !errors.Is(err, routing.ErrNoRoute):
		return nil, fmt.Errorf("route %s: %w", method, err)
	}
	var reasons []string
	for _, sk := range plan.Decision.Skipped {
		if !slices.Contains(reasons, sk.Reason) {
			reasons = append(reasons, sk.Reason)
		}
	}
	if onlyUnhealthy(reasons) {
		return nil, errs.Channel("channel_unavailable", "Every channel for "+method+" is unavailable right now; retry later.", fmt.Errorf("route %s: %w", method, err))
	}
	why := ""
	if len(reasons) > 0 {
		why = " (channels skipped: " + strings.Join(reasons, ", ") + ")"
	}
	e := errs.Invalid("method_unsupported", fmt.Sprintf("No channel takes this %s payment of %d %s for this merchant.%s", method, amount, currency, why))
	e.Param = "method"
	return nil, e
}

// onlyUnhealthy reports whether every reason a candidate was skipped is its
// health (a circuit open, a success rate below the floor): the payment
// could go through later.
func onlyUnhealthy(reasons []string) bool {
	for _, r := range reasons {
		if r != routing.ReasonCircuitOpen && r != routing.ReasonSuccessRateFloor {
			return false
		}
	}
	return len(reasons) > 0
}

// first is the channel account the payment will be tried on first.
func (rt *routed) first() *store.ChannelAccount {
	if rt.chosen != nil {
		return rt.chosen
	}
	if rt.plan != nil && len(rt.plan.Candidates) > 0 {
		return rt.plan.Candidates[0].Account
	}
	return nil
}

// stamp records on a new order where it goes and why.
func (rt *routed) stamp(o *store.Order) {
	if a := rt.first(); a != nil {
		o.Channel, o.ChannelAccountID, o.Route = a.Provider, a.ID, mustJSON(rt.plan.Decision)
	}
}

// stampTransition records the same on a change of an existing order.
func (rt *routed) stampTransition(t *store.OrderTransition) {
	if a := rt.first(); a != nil {
		t.Channel, t.ChannelAccountID, t.Route = a.Provider, a.ID, mustJSON(rt.plan.Decision)
	}
}

// payAt asks the channel to create (or charge) the trade: the plan's
// candidates in order, failing over while nothing happened at a channel.
// rt remembers the account that answered (see stamp). conn is nil when no
// channel answered at all.
func (s *Service) payAt(ctx context.Context, rt *routed, req channel.PayRequest) (resp *channel.PayResponse, conn channel.Connector, err error) {
	if rt.src != nil {
		req.AgreementID, req.AgreementNo, req.PaymentToken = rt.src.AgreementID, rt.src.AgreementNo, rt.src.PaymentToken
	}
	chosen, ok, err := s.Router.Run(ctx, rt.plan, func(ctx context.Context, c routing.Candidate) error {
		cn, err := s.Accounts.Connector(c.Account)
		if err != nil {
			s.log().Error("channel account cannot be used", "channel_account", c.Account.ID, "err", err)
			return fmt.Errorf("%w: %w", channel.ErrUnavailable, err)
		}
		cctx, cancel := s.channelCtx(ctx)
		defer cancel()
		r, err := cn.Pay(cctx, req)
		resp, conn = r, cn
		return err
	})
	if !ok {
		return nil, nil, err
	}
	rt.chosen = chosen.Account
	return resp, conn, err
}

// report tells the router how a call on o's channel account went (queries,
// closes, refunds; payments report through Router.Run), so its breaker and
// success rate see every call.
func (s *Service) report(o *store.Order, err error) {
	if o.ChannelAccountID != "" {
		s.Router.Report(o.ChannelAccountID, err)
	}
}
