// Package account manages the platform's merchants, their apps and the apps'
// keys: what the operator API and the demo bootstrap create. Secrets are
// returned once, at creation; the store keeps only a hash (Bearer keys) or a
// value sealed with the master key (HMAC keys, webhook secrets).
package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Errors of the operator API.
var (
	ErrMerchantNotFound = errs.NotFound("merchant_not_found", "No such merchant.")
	ErrAppNotFound      = errs.NotFound("app_not_found", "No such app.")
	ErrKeyNotFound      = errs.NotFound("key_not_found", "No such key.")
)

// Service creates and reads merchants, apps and keys.
type Service struct {
	Store store.Store
	Box   *cryptobox.Box
	Clock clock.Clock
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// MerchantParams create a merchant.
type MerchantParams struct {
	Name               string
	Timezone           string // default Asia/Shanghai
	SettlementCurrency string // default CNY
	FeeRateBps         int
}

// CreateMerchant validates p and creates the merchant.
func (s *Service) CreateMerchant(ctx context.Context, p MerchantParams) (*store.Merchant, error) {
	if p.Timezone == "" {
		p.Timezone = "Asia/Shanghai"
	}
	if p.SettlementCurrency == "" {
		p.SettlementCurrency = "CNY"
	}
	n := utf8.RuneCountInString(strings.TrimSpace(p.Name))
	switch {
	case n == 0:
		return nil, errs.Missing("name")
	case n > 128:
		return nil, errs.InvalidParam("name", "name must be at most 128 characters.")
	}
	if _, err := time.LoadLocation(p.Timezone); err != nil || p.Timezone == "Local" {
		return nil, errs.InvalidParam("timezone", "timezone must be an IANA time zone such as Asia/Shanghai.")
	}
	if !money.ValidCurrency(p.SettlementCurrency) {
		return nil, errs.InvalidParam("settlement_currency", "settlement_currency must be an upper-case ISO 4217 code.")
	}
	if p.FeeRateBps < 0 || p.FeeRateBps > 10000 {
		return nil, errs.InvalidParam("fee_rate_bps", "fee_rate_bps must be 0 to 10000.")
	}
	now := s.now()
	m := &store.Merchant{ID: id.New(id.Merchant, now), Name: strings.TrimSpace(p.Name), Timezone: p.Timezone,
		SettlementCurrency: p.SettlementCurrency, FeeRateBps: p.FeeRateBps, CreatedAt: now}
	if err := s.Store.MerchantCreate(ctx, m); err != nil {
		return nil, fmt.Errorf("create merchant: %w", err)
	}
	return m, nil
}

// GetMerchant returns a merchant.
func (s *Service) GetMerchant(ctx context.Context, merchantID string) (*store.Merchant, error) {
	m, err := s.Store.MerchantGet(ctx, merchantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrMerchantNotFound
	}
	return m, err
}

// AppParams create an app.
type AppParams struct {
	Name             string
	Mode             string // "test" or "live"
	RequireSignature bool
}

// NewApp is a created app with its secrets, shown once.
type NewApp struct {
	App           *store.App
	SecretKey     string
	SigningKey    *store.Key
	SigningSecret string
	WebhookSecret string
}

// CreateApp creates an app with a Bearer secret key, an HMAC signing key and
// a webhook secret, in one transaction.
func (s *Service) CreateApp(ctx context.Context, merchantID string, p AppParams) (*NewApp, error) {
	if _, err := s.GetMerchant(ctx, merchantID); err != nil {
		return nil, err
	}
	n := utf8.RuneCountInString(strings.TrimSpace(p.Name))
	switch {
	case n == 0:
		return nil, errs.Missing("name")
	case n > 128:
		return nil, errs.InvalidParam("name", "name must be at most 128 characters.")
	}
	if p.Mode != "test" && p.Mode != "live" {
		return nil, errs.InvalidParam("mode", `mode must be "test" or "live".`)
	}
	live := p.Mode == "live"
	now := s.now()
	webhookSecret := auth.NewWebhookSecret()
	sealedWebhook, err := s.Box.Seal(webhookSecret)
	if err != nil {
		return nil, err
	}
	app := &store.App{ID: id.New(id.App, now), MerchantID: merchantID, Name: strings.TrimSpace(p.Name), Livemode: live,
		RequireSignature: p.RequireSignature, WebhookSecretSealed: sealedWebhook, CreatedAt: now}
	sk := auth.NewSecretKey(live)
	secretKey := &store.Key{ID: id.New(id.Key, now), AppID: app.ID, MerchantID: merchantID, Livemode: live,
		Kind: store.KeySecret, SecretHash: auth.HashSecret(sk), CreatedAt: now}
	hmacSecret := auth.NewHMACSecret()
	sealedHMAC, err := s.Box.Seal(hmacSecret)
	if err != nil {
		return nil, err
	}
	signing := &store.Key{ID: id.New(id.Key, now), AppID: app.ID, MerchantID: merchantID, Livemode: live,
		Kind: store.KeySigning, Alg: store.AlgHMAC, SecretSealed: sealedHMAC, CreatedAt: now}
	if err := s.Store.AppCreate(ctx, app, []*store.Key{secretKey, signing}); err != nil {
		return nil, fmt.Errorf("create app: %w", err)
	}
	return &NewApp{App: app, SecretKey: sk, SigningKey: signing, SigningSecret: hmacSecret, WebhookSecret: webhookSecret}, nil
}

// GetApp returns an app.
func (s *Service) GetApp(ctx context.Context, appID string) (*store.App, error) {
	a, err := s.Store.AppGet(ctx, appID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrAppNotFound
	}
	return a, err
}

// WebhookSecret returns an app's webhook secret in the clear.
func (s *Service) WebhookSecret(a *store.App) (string, error) {
	return s.Box.Open(a.WebhookSecretSealed)
}

// KeyParams create a key.
type KeyParams struct {
	Alg       string
	PublicKey string
	ExpiresAt *time.Time
}

// CreateKey adds a signing key to an app (or, with Alg "secret", another
// Bearer secret key). The returned secret is "" for asymmetric keys.
func (s *Service) CreateKey(ctx context.Context, appID string, p KeyParams) (*store.Key, string, error) {
	app, err := s.GetApp(ctx, appID)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	if p.ExpiresAt != nil && !p.ExpiresAt.After(now) {
		return nil, "", errs.InvalidParam("expires_at", "expires_at must be in the future.")
	}
	k := &store.Key{ID: id.New(id.Key, now), AppID: app.ID, MerchantID: app.MerchantID, Livemode: app.Livemode,
		Kind: store.KeySigning, Alg: p.Alg, ExpiresAt: p.ExpiresAt, CreatedAt: now}
	var secret string
	switch p.Alg {
	case "":
		return nil, "", errs.Missing("alg")
	case store.AlgHMAC:
		if p.PublicKey != "" {
			return nil, "", errs.InvalidParam("public_key", "HMAC-SHA256 keys take no public_key; the secret is generated.")
		}
		secret = auth.NewHMACSecret()
		if k.SecretSealed, err = s.Box.Seal(secret); err != nil {
			return nil, "", err
		}
	case store.AlgRSA, store.AlgEd25519:
		if p.PublicKey == "" {
			return nil, "", errs.Missing("public_key")
		}
		if _, err := auth.ParsePublicKey(p.Alg, p.PublicKey); err != nil {
			return nil, "", err
		}
		k.PublicKey = p.PublicKey
	case store.KeySecret:
		secret = auth.NewSecretKey(app.Livemode)
		k.Kind, k.Alg, k.SecretHash = store.KeySecret, "", auth.HashSecret(secret)
	default:
		return nil, "", errs.InvalidParam("alg", "alg must be HMAC-SHA256, RSA-SHA256, ED25519 or secret.")
	}
	if err := s.Store.KeyCreate(ctx, k); err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	return k, secret, nil
}

// RevokeKey revokes a key at once.
func (s *Service) RevokeKey(ctx context.Context, keyID string) (*store.Key, error) {
	k, err := s.Store.KeyRevoke(ctx, keyID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrKeyNotFound
	}
	return k, err
}
