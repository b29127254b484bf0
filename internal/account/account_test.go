package account_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// The account service tested directly on SQLite, with a fake clock.

func setup(t *testing.T) (*account.Service, *clock.Fake) {
	t.Helper()
	box, err := cryptobox.New(make([]byte, cryptobox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := clock.NewFake(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC))
	return &account.Service{Store: sqlitetest.Open(t), Box: box, Clock: c}, c
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v; want %s", err, code)
	}
}

func TestMerchantDefaultsAndRules(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	m, err := s.CreateMerchant(ctx, account.MerchantParams{Name: "  Lumière Café  "})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "Lumière Café" || m.Timezone != "Asia/Shanghai" || m.SettlementCurrency != "CNY" || m.FeeRateBps != 0 {
		t.Fatalf("merchant %+v; want the name trimmed and the defaults", m)
	}
	for _, tc := range []struct {
		p    account.MerchantParams
		code string
	}{
		{account.MerchantParams{}, "parameter_missing"},
		{account.MerchantParams{Name: strings.Repeat("x", 129)}, "name_invalid"},
		{account.MerchantParams{Name: "x", Timezone: "Mars/Olympus"}, "timezone_invalid"},
		{account.MerchantParams{Name: "x", Timezone: "Local"}, "timezone_invalid"},
		{account.MerchantParams{Name: "x", SettlementCurrency: "cny"}, "settlement_currency_invalid"},
		{account.MerchantParams{Name: "x", FeeRateBps: 10001}, "fee_rate_bps_invalid"},
		{account.MerchantParams{Name: "x", FeeRateBps: -1}, "fee_rate_bps_invalid"},
	} {
		_, err := s.CreateMerchant(ctx, tc.p)
		wantCode(t, err, tc.code)
	}
	_, err = s.GetMerchant(ctx, "mch_nope")
	wantCode(t, err, "merchant_not_found")
}

func TestAppSecretsAreShownOnceAndStoredSealedOrHashed(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	m, err := s.CreateMerchant(ctx, account.MerchantParams{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	na, err := s.CreateApp(ctx, m.ID, account.AppParams{Name: "web", Mode: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(na.SecretKey, "sk_live_") || !strings.HasPrefix(na.WebhookSecret, "whsec_") || na.SigningSecret == "" {
		t.Fatalf("new app's secrets %q %q %q", na.SecretKey, na.WebhookSecret, na.SigningSecret)
	}
	app, err := s.GetApp(ctx, na.App.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(app.WebhookSecretSealed, na.WebhookSecret) {
		t.Fatal("the webhook secret is stored in the clear")
	}
	if got, err := s.WebhookSecret(app); err != nil || got != na.WebhookSecret {
		t.Fatalf("opened webhook secret %q, %v", got, err)
	}
	keys, err := s.Store.KeyList(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k.SecretHash+k.SecretSealed, na.SecretKey) || strings.Contains(k.SecretSealed, na.SigningSecret) {
			t.Fatalf("key %s keeps a secret in the clear", k.ID)
		}
	}
	k, err := s.Store.KeyGetBySecretHash(ctx, auth.HashSecret(na.SecretKey))
	if err != nil || k.AppID != app.ID {
		t.Fatalf("the secret key's hash finds %v, %v", k, err)
	}
	_, err = s.CreateApp(ctx, m.ID, account.AppParams{Name: "x", Mode: "prod"})
	wantCode(t, err, "mode_invalid")
	_, err = s.CreateApp(ctx, "mch_nope", account.AppParams{Name: "x", Mode: "test"})
	wantCode(t, err, "merchant_not_found")
}

func TestKeysRotateWithOverlapAndRevoke(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	ctx := context.Background()
	m, _ := s.CreateMerchant(ctx, account.MerchantParams{Name: "Shop"})
	na, err := s.CreateApp(ctx, m.ID, account.AppParams{Name: "web", Mode: "test"})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	past := c.Now().Add(-time.Minute)
	_, _, err = s.CreateKey(ctx, na.App.ID, account.KeyParams{Alg: store.AlgHMAC, ExpiresAt: &past})
	wantCode(t, err, "expires_at_invalid")
	_, _, err = s.CreateKey(ctx, na.App.ID, account.KeyParams{Alg: store.AlgEd25519})
	wantCode(t, err, "parameter_missing")
	_, _, err = s.CreateKey(ctx, na.App.ID, account.KeyParams{Alg: store.AlgRSA, PublicKey: pemKey})
	wantCode(t, err, "public_key_invalid")
	_, _, err = s.CreateKey(ctx, na.App.ID, account.KeyParams{Alg: "HS512"})
	wantCode(t, err, "alg_invalid")

	// The old signing key expires a day from now; the new one is valid beside it.
	old := na.SigningKey
	until := c.Now().Add(24 * time.Hour)
	k, secret, err := s.CreateKey(ctx, na.App.ID, account.KeyParams{Alg: store.AlgEd25519, PublicKey: pemKey, ExpiresAt: &until})
	if err != nil || secret != "" || k.PublicKey != pemKey {
		t.Fatalf("ed25519 key %+v, secret %q, %v", k, secret, err)
	}
	revoked, err := s.RevokeKey(ctx, old.ID)
	if err != nil || revoked.RevokedAt == nil {
		t.Fatalf("revoke: %+v, %v", revoked, err)
	}
	again, err := s.RevokeKey(ctx, old.ID)
	if err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Fatalf("revoking twice: %+v, %v; want the first revocation kept", again, err)
	}
	_, err = s.RevokeKey(ctx, "key_nope")
	wantCode(t, err, "key_not_found")
}
