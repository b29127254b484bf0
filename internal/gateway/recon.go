package gateway

import (
	"context"
	"fmt"
	"os"

	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/settlement"
)

// OpenRecon builds reconciliation outside a serving gateway (paygate recon
// run): the store, migrated, the channel accounts' connectors (which need
// the master key) and the payment service its repairs go through, as Open
// wires them, but no listener, demo or simulators. close closes the store.
func OpenRecon(ctx context.Context, cfg Config) (svc *recon.Service, close func(), err error) {
	cfg.setDefaults()
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if err := st.Migrate(ctx); err != nil {
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	g := &Gateway{Config: cfg, Store: st, Clock: cfg.Clock, Log: cfg.Logger}
	if g.Clock == nil {
		g.Clock = clock.Real{}
	}
	if g.Log == nil {
		g.Log = NewLogger(cfg.LogLevel, os.Stderr)
	}
	if g.Box, err = g.openBox(ctx, false); err != nil {
		return nil, nil, err
	}
	public := cfg.PublicURL
	if public == "" {
		public = "http://" + cfg.Addr
	}
	providers := Providers()
	providers[sandbox.Name] = sandbox.Provider(sandbox.New(g.Clock))
	g.Router = &routing.Router{Source: st, Clock: g.Clock}
	g.Channels = &channelaccount.Service{Store: st, Providers: providers, Box: g.Box, PublicURL: public, Clock: g.Clock, Changed: g.Router.Invalidate}
	policy, err := settlement.ParseRefundFeePolicy(cfg.RefundFeePolicy)
	if err != nil {
		return nil, nil, err
	}
	g.Payments = &payment.Service{Store: st, Clock: g.Clock, PublicURL: public, Log: g.Log, Router: g.Router, Accounts: g.Channels,
		ParamsKey: g.Box.DeriveKey(payment.ParamsKeyLabel), RefundFeePolicy: policy}
	def, per, err := recon.ParseBillReady(cfg.ReconBillReady)
	if err != nil {
		return nil, nil, fmt.Errorf("recon_bill_ready: %w", err)
	}
	svc = &recon.Service{Store: st, Clock: g.Clock, Log: g.Log, Accounts: g.Channels, Payments: g.Payments, DefaultReady: def, BillReady: per}
	return svc, func() { st.Close() }, nil
}
