package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
)

// Accounts builds the connectors of channel accounts: the stored account's
// settings with its secrets unsealed, handed to its provider. Connectors are
// kept until the account changes (its UpdatedAt moves), so keys are parsed
// once, not per payment.
type Accounts struct {
	Store     store.Store
	Providers map[string]channel.Provider
	// Unseal opens sealed secrets (cryptobox.Box.Open).
	Unseal func(sealed string) (string, error)
	// PublicURL is how channels reach the gateway, for callback URLs.
	PublicURL  string
	HTTPClient *http.Client
	Clock      clock.Clock

	mu    sync.Mutex
	built map[string]builtConnector
}

type builtConnector struct {
	updatedAt time.Time
	conn      channel.Connector
}

// NotifyURL is where a channel account's provider posts its callbacks.
func (a *Accounts) NotifyURL(acct *store.ChannelAccount) string {
	return a.PublicURL + "/channels/" + acct.Provider + "/notify/" + acct.ID
}

// Connector returns the connector for acct, building it on first use and
// again after the account changed.
func (a *Accounts) Connector(acct *store.ChannelAccount) (channel.Connector, error) {
	a.mu.Lock()
	b, ok := a.built[acct.ID]
	a.mu.Unlock()
	if ok && b.updatedAt.Equal(acct.UpdatedAt) {
		return b.conn, nil
	}
	conn, err := a.build(acct)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.built == nil {
		a.built = map[string]builtConnector{}
	}
	a.built[acct.ID] = builtConnector{updatedAt: acct.UpdatedAt, conn: conn}
	a.mu.Unlock()
	return conn, nil
}

// ConnectorByID reads the account and returns its connector.
func (a *Accounts) ConnectorByID(ctx context.Context, accountID string) (channel.Connector, *store.ChannelAccount, error) {
	acct, err := a.Store.ChannelAccountGet(ctx, accountID)
	if err != nil {
		return nil, nil, fmt.Errorf("channel account %s: %w", accountID, err)
	}
	conn, err := a.Connector(acct)
	return conn, acct, err
}

// Account is the channel.Account a provider builds a connector from.
func (a *Accounts) Account(acct *store.ChannelAccount) (channel.Account, error) {
	secrets := map[string]string{}
	if len(acct.SealedSecrets) > 0 {
		if a.Unseal == nil {
			return channel.Account{}, fmt.Errorf("channel account %s: no master key to open its secrets", acct.ID)
		}
		plain, err := a.Unseal(string(acct.SealedSecrets))
		if err != nil {
			return channel.Account{}, fmt.Errorf("channel account %s: open secrets: %w", acct.ID, err)
		}
		if err := json.Unmarshal([]byte(plain), &secrets); err != nil {
			return channel.Account{}, fmt.Errorf("channel account %s: secrets: %w", acct.ID, err)
		}
	}
	return channel.Account{
		ID: acct.ID, Provider: acct.Provider, Livemode: acct.Livemode, BaseURL: acct.BaseURL,
		NotifyURL: a.NotifyURL(acct), Config: acct.Config, Secrets: secrets,
		Methods: acct.Methods, Currencies: acct.Currencies, HTTPClient: a.HTTPClient, Clock: a.Clock,
	}, nil
}

func (a *Accounts) build(acct *store.ChannelAccount) (channel.Connector, error) {
	p, ok := a.Providers[acct.Provider]
	if !ok {
		return nil, fmt.Errorf("channel account %s: provider %q is not built in", acct.ID, acct.Provider)
	}
	ca, err := a.Account(acct)
	if err != nil {
		return nil, err
	}
	conn, err := p.New(ca)
	if err != nil {
		return nil, fmt.Errorf("channel account %s: %w", acct.ID, err)
	}
	return conn, nil
}

// connector returns the connector that serves o: its channel account's, or
// a built-in one (the sandbox) by name.
func (s *Service) connector(ctx context.Context, o *store.Order) (channel.Connector, error) {
	if o.ChannelAccountID != "" {
		if s.Accounts == nil {
			return nil, fmt.Errorf("order %s: channel account %s but no accounts configured", o.ID, o.ChannelAccountID)
		}
		conn, _, err := s.Accounts.ConnectorByID(ctx, o.ChannelAccountID)
		return conn, err
	}
	c, ok := s.Channels.Get(o.Channel)
	if !ok {
		return nil, fmt.Errorf("order %s: channel %q is not configured", o.ID, o.Channel)
	}
	return c, nil
}

// receivable names the ledger account of what o's channel owes the platform:
// per channel account, or per built-in channel.
func receivable(o *store.Order) string {
	if o.ChannelAccountID != "" {
		return o.ChannelAccountID
	}
	return o.Channel
}

// ErrUnknownAccount is returned for a callback to a channel account that
// does not exist or belongs to another provider.
var ErrUnknownAccount = errors.New("payment: unknown channel account")

// routed is where a payment may go: the router's plan over channel
// accounts, or a built-in channel (the sandbox serves test mode when no
// test-mode channel account does).
type routed struct {
	plan    *routing.Plan
	builtin channel.Connector

	chosen *store.ChannelAccount // the account that took the payment, once known
}

// route finds where a payment of method may go.
func (s *Service) route(ctx context.Context, merchantID string, livemode bool, method, currency string, amount int64) (*routed, error) {
	var why string
	if s.Router != nil {
		plan, err := s.Router.Route(ctx, routing.Query{MerchantID: merchantID, Method: method, Currency: currency, Amount: amount, Livemode: livemode})
		switch {
		case err == nil:
			return &routed{plan: plan}, nil
		case !errors.Is(err, routing.ErrNoRoute):
			return nil, fmt.Errorf("route %s: %w", method, err)
		}
		// Why, without naming the platform's channel accounts to the merchant.
		var reasons []string
		for _, sk := range plan.Decision.Skipped {
			if !slices.Contains(reasons, sk.Reason) {
				reasons = append(reasons, sk.Reason)
			}
		}
		if len(reasons) > 0 {
			why = " (channels skipped: " + strings.Join(reasons, ", ") + ")"
		}
		// Channel accounts are configured for the method but none can take
		// this payment: say so, rather than quietly falling back to a
		// built-in channel the operator did not choose.
		if plan.Decision.Source == routing.SourceMerchantRoute || len(reasons) > 0 {
			if onlyUnhealthy(reasons) {
				return nil, errs.Channel("channel_unavailable", "Every channel for "+method+" is unavailable right now; retry later.", fmt.Errorf("route %s: %w", method, err))
			}
			e := errs.Invalid("method_unsupported", fmt.Sprintf("No channel takes this %s payment of %d %s for this merchant.%s", method, amount, currency, why))
			e.Param = "method"
			return nil, e
		}
	}
	if c, ok := s.Channels.ForMethod(method, currency, livemode); ok {
		return &routed{builtin: c}, nil
	}
	e := errs.Invalid("method_unsupported", fmt.Sprintf("No channel takes %s in %s for this merchant.%s", method, currency, why))
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

func (rt *routed) accountID() string {
	if a := rt.first(); a != nil {
		return a.ID
	}
	return ""
}

// stamp records on a new order where it goes and why.
func (rt *routed) stamp(o *store.Order) {
	if a := rt.first(); a != nil {
		o.Channel, o.ChannelAccountID, o.Route = a.Provider, a.ID, mustJSON(rt.plan.Decision)
		return
	}
	o.Channel = rt.builtin.Name()
}

// stampTransition records the same on a change of an existing order.
func (rt *routed) stampTransition(t *store.OrderTransition) {
	if a := rt.first(); a != nil {
		t.Channel, t.ChannelAccountID, t.Route = a.Provider, a.ID, mustJSON(rt.plan.Decision)
		return
	}
	t.Channel = rt.builtin.Name()
}

// payAt asks the channel to create (or charge) the trade: the built-in
// channel, or the plan's candidates in order, failing over while nothing
// happened at a channel. rt remembers the account that answered (see
// stamp). conn is nil when no channel answered at all.
func (s *Service) payAt(ctx context.Context, rt *routed, req channel.PayRequest) (resp *channel.PayResponse, conn channel.Connector, err error) {
	if rt.builtin != nil {
		cctx, cancel := s.channelCtx(ctx)
		defer cancel()
		resp, err = rt.builtin.Pay(cctx, req)
		return resp, rt.builtin, err
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
	if s.Router != nil && o.ChannelAccountID != "" {
		s.Router.Report(o.ChannelAccountID, err)
	}
}
