package channelaccount

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/store"
)

// NotifyURL is where a channel account's provider posts its callbacks.
func (s *Service) NotifyURL(a *store.ChannelAccount) string {
	return s.PublicURL + "/channels/" + a.Provider + "/notify/" + a.ID
}

// AgreementNotifyURL is where a channel account's provider posts its
// agreement callbacks (internal/billing handles them).
func (s *Service) AgreementNotifyURL(a *store.ChannelAccount) string {
	return s.PublicURL + "/channels/" + a.Provider + "/agreements/notify/" + a.ID
}

// Connector returns the connector for a, building it on first use and
// again after the account changed.
func (s *Service) Connector(a *store.ChannelAccount) (channel.Connector, error) {
	s.mu.Lock()
	b, ok := s.built[a.ID]
	s.mu.Unlock()
	if ok && b.updatedAt.Equal(a.UpdatedAt) {
		return b.conn, nil
	}
	conn, err := s.connectorOf(a)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.built == nil {
		s.built = map[string]builtConnector{}
	}
	s.built[a.ID] = builtConnector{updatedAt: a.UpdatedAt, conn: conn}
	s.mu.Unlock()
	return conn, nil
}

// ConnectorByID reads the account and returns its connector with it.
func (s *Service) ConnectorByID(ctx context.Context, accountID string) (channel.Connector, *store.ChannelAccount, error) {
	a, err := s.Store.ChannelAccountGet(ctx, accountID)
	if err != nil {
		return nil, nil, fmt.Errorf("channel account %s: %w", accountID, err)
	}
	conn, err := s.Connector(a)
	return conn, a, err
}

// connectorOf builds a's connector from its settings and its secrets,
// unsealed here.
func (s *Service) connectorOf(a *store.ChannelAccount) (channel.Connector, error) {
	p, ok := s.Providers[a.Provider]
	if !ok || p.New == nil {
		return nil, fmt.Errorf("channel account %s: provider %q is not built in", a.ID, a.Provider)
	}
	secrets, err := s.open(a)
	if err != nil {
		return nil, err
	}
	conn, err := p.New(s.account(a, secrets))
	if err != nil {
		return nil, fmt.Errorf("channel account %s: %w", a.ID, err)
	}
	if s.Wrap != nil {
		conn = s.Wrap(a.ID, conn)
	}
	return conn, nil
}

// account is the channel.Account a provider builds a connector from.
func (s *Service) account(a *store.ChannelAccount, secrets map[string]string) channel.Account {
	c := s.ConnectorClock
	if c == nil {
		c = clock.Real{}
	}
	return channel.Account{
		ID: a.ID, Provider: a.Provider, Livemode: a.Livemode, BaseURL: a.BaseURL,
		NotifyURL: s.NotifyURL(a), AgreementNotifyURL: s.AgreementNotifyURL(a), Config: a.Config, Secrets: secrets,
		Methods: a.Methods, Currencies: a.Currencies, HTTPClient: s.HTTPClient, Clock: c,
	}
}

// SandboxAccountID is the id of the test-mode sandbox account every
// gateway keeps (EnsureSandbox). It is fixed, so nodes sharing a database
// agree on it and orders made before the sandbox was an account (migration
// 0004) point at it.
const SandboxAccountID = "cha_00000000000000000000sandbx"

// EnsureSandbox makes sure the test-mode sandbox account exists, enabled or
// as the operator left it, and serves every method of the method table
// (a method added to the table reaches it at the next start).
func (s *Service) EnsureSandbox(ctx context.Context) (*store.ChannelAccount, error) {
	methods := channel.MethodNames()
	a, err := s.Store.ChannelAccountGet(ctx, SandboxAccountID)
	switch {
	case err == nil:
		if slices.Equal(a.Methods, methods) {
			return a, nil
		}
		a.Methods, a.UpdatedAt = methods, s.now()
		if err := s.Store.ChannelAccountUpdate(ctx, a); err != nil {
			return nil, fmt.Errorf("sandbox channel account: %w", err)
		}
		s.changed()
		return a, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("sandbox channel account: %w", err)
	}
	now := s.now()
	a = &store.ChannelAccount{
		ID: SandboxAccountID, Provider: sandbox.Name, Name: "Sandbox", Livemode: false,
		Config: map[string]string{}, Methods: methods, CreatedAt: now, UpdatedAt: now,
	}
	if a.SealedSecrets, a.SecretNames, err = s.seal(map[string]string{}); err != nil {
		return nil, err
	}
	if err := s.Store.ChannelAccountCreate(ctx, a); errors.Is(err, store.ErrConflict) {
		return s.Store.ChannelAccountGet(ctx, SandboxAccountID) // another node made it first
	} else if err != nil {
		return nil, fmt.Errorf("sandbox channel account: %w", err)
	}
	s.changed()
	return a, nil
}
