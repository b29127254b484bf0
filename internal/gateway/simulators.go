package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/sim"
	"github.com/paygate/paygate/internal/sim/simulators"
	"github.com/paygate/paygate/internal/store"
)

// demoSimulator is a channel simulator the gateway runs for its demo
// (Config.Simulators), with the test-mode channel account that uses it.
type demoSimulator struct {
	sim     sim.Simulator
	server  *http.Server
	url     string
	account string
}

// simulatorAccountName names the demo's channel account of provider; a
// restart finds it by this name and points it at the new simulator.
func simulatorAccountName(provider string) string { return provider + " simulator (demo)" }

// startSimulators runs the WeChat Pay, Alipay and UnionPay simulators on
// loopback and makes (or updates) a test-mode channel account for each, so
// test orders of their methods go through the real protocols: signed
// requests, callbacks, queries. The test helper and the cashier's test
// buttons pay at the simulator (Service.TestPayer).
func (g *Gateway) startSimulators(ctx context.Context, out io.Writer) error {
	g.simulators = map[string]*demoSimulator{}
	var lines []string
	for _, provider := range simulators.Providers {
		s, err := simulators.New(provider, sim.Options{Logger: g.Log})
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return fmt.Errorf("%s simulator: %w", provider, err)
		}
		d := &demoSimulator{sim: s, url: "http://" + l.Addr().String(), server: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}}
		go d.server.Serve(l)
		if d.account, err = g.simulatorAccount(ctx, provider, s.Account(d.url)); err != nil {
			d.server.Close()
			s.Close()
			return err
		}
		g.simulators[d.account] = d
		g.Log.Info("channel simulator listening", "provider", provider, "url", d.url, "channel_account", d.account)
		lines = append(lines, fmt.Sprintf("  %-9s %s  (channel account %s)", provider, d.url, d.account))
	}
	g.Router.Invalidate()
	g.Payments.TestPayer = g.simulatedPayer
	g.Billing.TestSigner = g.simulatedSigner
	fmt.Fprintf(out, "Channel simulators for test mode (test orders of their methods go through them):\n%s\n", strings.Join(lines, "\n"))
	return nil
}

// simulatorAccount creates the demo's channel account for provider, or
// points the existing one at this run's simulator and keys.
func (g *Gateway) simulatorAccount(ctx context.Context, provider string, ca channel.Account) (string, error) {
	secrets, err := json.Marshal(ca.Secrets)
	if err != nil {
		return "", err
	}
	sealed, err := g.Box.Seal(string(secrets))
	if err != nil {
		return "", fmt.Errorf("%s simulator: seal secrets: %w", provider, err)
	}
	names := make([]string, 0, len(ca.Secrets))
	for k := range ca.Secrets {
		names = append(names, k)
	}
	slices.Sort(names)
	methods := ca.Methods
	if len(methods) == 0 {
		methods = Providers()[provider].Methods
	}
	now := g.Clock.Now().UTC().Truncate(time.Microsecond)
	existing, err := g.findAccount(ctx, provider, simulatorAccountName(provider))
	if err != nil {
		return "", err
	}
	a := existing
	if a == nil {
		a = &store.ChannelAccount{ID: id.New(id.ChannelAccount, now), Provider: provider, Name: simulatorAccountName(provider), CreatedAt: now}
	}
	a.BaseURL, a.Config, a.SealedSecrets, a.SecretNames = ca.BaseURL, ca.Config, []byte(sealed), names
	a.Methods, a.Currencies, a.FeeBps, a.Disabled, a.UpdatedAt = methods, []string{"CNY"}, 0, false, now
	if existing != nil {
		err = g.Store.ChannelAccountUpdate(ctx, a)
	} else {
		err = g.Store.ChannelAccountCreate(ctx, a)
	}
	if err != nil {
		return "", fmt.Errorf("%s simulator: channel account: %w", provider, err)
	}
	return a.ID, nil
}

// findAccount returns the test-mode channel account of provider named name, or nil.
func (g *Gateway) findAccount(ctx context.Context, provider, name string) (*store.ChannelAccount, error) {
	p := store.ListParams{Limit: 100}
	for {
		as, more, err := g.Store.ChannelAccountList(ctx, provider, p)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if a.Name == name && !a.Livemode {
				return a, nil
			}
		}
		if !more || len(as) == 0 {
			return nil, nil
		}
		p.StartingAfter = as[len(as)-1].ID
	}
}

// simulatedPayer pays (or fails) a test order's trade at its simulator, as
// its payer would: a page payment (Alipay's page and wap pay, UnionPay's
// gateway payment) exists at the channel only once the payer's browser has
// opened the channel's page, so the payer opens it first.
func (g *Gateway) simulatedPayer(ctx context.Context, o *store.Order, paid bool) error {
	d, ok := g.simulators[o.ChannelAccountID]
	if !ok {
		return errors.New("the order's channel is not a simulator of this process")
	}
	if err := d.openPayerPage(ctx, o); err != nil {
		return err
	}
	if paid {
		return d.sim.PayerPays(o.ID)
	}
	return d.sim.PayerFails(o.ID)
}

// openPayerPage opens o's redirect page when it is on this simulator, as
// the payer's browser does; other orders need nothing.
func (d *demoSimulator) openPayerPage(ctx context.Context, o *store.Order) error {
	return d.openPage(ctx, o.NextAction)
}

// openPage opens a redirect next action's page when it is on this
// simulator, as the payer's browser does; other actions need nothing.
func (d *demoSimulator) openPage(ctx context.Context, nextAction json.RawMessage) error {
	var na channel.NextAction
	if len(nextAction) == 0 || json.Unmarshal(nextAction, &na) != nil || na.Type != "redirect" || !strings.HasPrefix(na.URL, d.url+"/") {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, na.URL, nil)
	if err != nil {
		return fmt.Errorf("open the channel's payment page: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("open the channel's payment page: %w", err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the channel's payment page answered %s", res.Status)
	}
	return nil
}

// disableSimulatorAccounts disables the demo's simulator channel accounts
// (a plain serve after a serve --simulators): nothing answers at their
// addresses now, and test orders of their methods go back to the sandbox.
// serve --simulators enables them again, pointed at its new simulators.
func (g *Gateway) disableSimulatorAccounts(ctx context.Context) error {
	var disabled []string
	for _, provider := range simulators.Providers {
		a, err := g.findAccount(ctx, provider, simulatorAccountName(provider))
		if err != nil {
			return err
		}
		if a == nil || a.Disabled {
			continue
		}
		a.Disabled, a.UpdatedAt = true, g.Clock.Now().UTC().Truncate(time.Microsecond)
		if err := g.Store.ChannelAccountUpdate(ctx, a); err != nil {
			return fmt.Errorf("disable %s: %w", a.ID, err)
		}
		disabled = append(disabled, a.ID)
	}
	if len(disabled) > 0 {
		g.Router.Invalidate()
		g.Log.Info("disabled the demo's simulator channel accounts: no simulators run in this process (serve --simulators enables them again)",
			"channel_accounts", disabled)
	}
	return nil
}

// stopSimulators stops the demo's simulators.
func (g *Gateway) stopSimulators() {
	for _, d := range g.simulators {
		d.server.Close()
		d.sim.Close()
	}
}

// simulatedSigner plays the payer of a test agreement at its simulator: it
// opens the signing page, as the payer's browser does, then signs or
// refuses there; or ends a signed agreement there.
func (g *Gateway) simulatedSigner(ctx context.Context, a *store.Agreement, action string) error {
	d, ok := g.simulators[a.ChannelAccountID]
	if !ok {
		return errors.New("the agreement's channel is not a simulator of this process")
	}
	as, ok := d.sim.(sim.AgreementSimulator)
	if !ok {
		return errors.New("the simulator signs no agreements")
	}
	if action != "terminate" {
		if err := d.openPage(ctx, a.NextAction); err != nil {
			return err
		}
	}
	return as.AgreementPayer(a.ID, action)
}
