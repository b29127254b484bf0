// Package paymenttest builds the business layer on a real SQLite database
// for tests of the payment service and of what stands on it (the cashier,
// reconciliation, settlement…): the store, a fake clock, the master key,
// the channel-account service with the sandbox account, the router and the
// payment service, wired as the gateway wires them, without HTTP.
package paymenttest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// Env is a business layer on its own database.
type Env struct {
	Store    store.Store
	Clock    *clock.Fake
	Box      *cryptobox.Box
	Accounts *account.Service
	Channels *channelaccount.Service
	Router   *routing.Router
	Payments *payment.Service
	Sandbox  *sandbox.Sandbox
}

// Options change what New builds.
type Options struct {
	// Store is the database; default a fresh SQLite database in t.TempDir().
	Store store.Store
	// Start is the fake clock's time; default 2026-03-14 09:00 UTC.
	Start time.Time
	// Providers are added to the built-in sandbox (test doubles of channels).
	Providers []channel.Provider
}

// New builds an Env. The database is closed when the test ends.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Store == nil {
		opts.Store = sqlitetest.Open(t)
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	}
	e := &Env{Store: opts.Store, Clock: clock.NewFake(opts.Start)}
	var err error
	if e.Box, err = cryptobox.New(make([]byte, cryptobox.KeySize)); err != nil {
		t.Fatal(err)
	}
	e.Sandbox = sandbox.New(e.Clock)
	providers := map[string]channel.Provider{sandbox.Name: sandbox.Provider(e.Sandbox)}
	for _, p := range opts.Providers {
		providers[p.Name] = p
	}
	e.Router = &routing.Router{Source: e.Store, Clock: e.Clock}
	e.Channels = &channelaccount.Service{Store: e.Store, Providers: providers, Box: e.Box, PublicURL: "http://gateway.invalid",
		Clock: e.Clock, ConnectorClock: e.Clock, Changed: e.Router.Invalidate}
	if _, err := e.Channels.EnsureSandbox(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Accounts = &account.Service{Store: e.Store, Box: e.Box, Clock: e.Clock}
	e.Payments = &payment.Service{Store: e.Store, Accounts: e.Channels, Router: e.Router, Clock: e.Clock,
		PublicURL: "http://gateway.invalid", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), ParamsKey: e.Box.DeriveKey(payment.ParamsKeyLabel)}
	return e
}

// Merchant creates a merchant with a fee rate and a test and a live app,
// and returns the merchant and the apps' scopes.
func (e *Env) Merchant(t testing.TB, name string, feeRateBps int) (m *store.Merchant, test, live store.Scope) {
	t.Helper()
	ctx := context.Background()
	m, err := e.Accounts.CreateMerchant(ctx, account.MerchantParams{Name: name, FeeRateBps: feeRateBps})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"test", "live"} {
		na, err := e.Accounts.CreateApp(ctx, m.ID, account.AppParams{Name: name + " " + mode, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		sc := store.Scope{MerchantID: m.ID, AppID: na.App.ID, Livemode: na.App.Livemode}
		if na.App.Livemode {
			live = sc
		} else {
			test = sc
		}
	}
	return m, test, live
}

// Account creates a channel account of provider (one of Options.Providers,
// which must take no config or secrets) serving methods in the mode.
func (e *Env) Account(t testing.TB, provider string, live bool, methods ...string) *store.ChannelAccount {
	t.Helper()
	fee := 30
	a, err := e.Channels.Create(context.Background(), channelaccount.CreateParams{
		Provider: &provider, Name: ptr(provider + " account"), Livemode: &live, BaseURL: ptr("https://" + provider + ".invalid"),
		Methods: methods, FeeBps: &fee,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ptr[T any](v T) *T { return &v }
