package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// The demo merchant: its name, its app's name, and the setting that records
// the app's id.
const (
	demoMerchantName = "Demo Shop"
	demoAppName      = "Demo test app"
	demoAppSetting   = "demo_app"
	// demoFeeRateBps is the demo merchant's platform fee, 0.6%: what a
	// platform typically charges for WeChat Pay and Alipay, so a paid demo
	// order shows a fee in the balance.
	demoFeeRateBps = 60
)

// demo creates the demo merchant and its test app once, on an empty
// database, and prints the app's keys to out.
func (g *Gateway) demo(ctx context.Context, out io.Writer) error {
	ms, _, err := g.Store.MerchantList(ctx, store.ListParams{Limit: 1})
	if err != nil || len(ms) > 0 {
		return err
	}
	marker := id.New("demo_", g.Clock.Now())
	if got, err := g.Store.SettingInit(ctx, "demo_created", marker); err != nil || got != marker {
		return err // another node made it
	}
	acc := &account.Service{Store: g.Store, Box: g.Box, Clock: g.Clock}
	m, err := acc.CreateMerchant(ctx, account.MerchantParams{Name: demoMerchantName, FeeRateBps: demoFeeRateBps})
	if err != nil {
		return err
	}
	na, err := acc.CreateApp(ctx, m.ID, account.AppParams{Name: demoAppName, Mode: "test"})
	if err != nil {
		return err
	}
	if _, err := g.Store.SettingInit(ctx, demoAppSetting, na.App.ID); err != nil {
		return err
	}
	g.Demo = na
	keys := &DemoKeys{Merchant: m, App: na.App, SecretKey: na.SecretKey, SigningKey: na.SigningKey,
		SigningSecret: na.SigningSecret, WebhookSecret: na.WebhookSecret}
	keys.Print(out, g.publicURL(), true)
	return nil
}

// DemoKeys are the demo app's keys, as printed.
type DemoKeys struct {
	Merchant      *store.Merchant
	App           *store.App
	SecretKey     string
	SigningKey    *store.Key // nil when the app has no active HMAC key
	SigningSecret string
	WebhookSecret string
	// Revoked are the secret keys revoked in favour of SecretKey.
	Revoked []string
}

// Print writes the keys and a first request to try against baseURL.
// first says they were just created (with the database).
func (k *DemoKeys) Print(out io.Writer, baseURL string, first bool) {
	fmt.Fprintf(out, "\nDemo merchant %s (%s), test-mode app %s:\n", k.Merchant.Name, k.Merchant.ID, k.App.ID)
	fmt.Fprintf(out, "  secret key      %s\n", k.SecretKey)
	if k.SigningKey != nil {
		fmt.Fprintf(out, "  signing key     %s  HMAC-SHA256 secret %s\n", k.SigningKey.ID, k.SigningSecret)
	}
	fmt.Fprintf(out, "  webhook secret  %s\n", k.WebhookSecret)
	if first {
		fmt.Fprintln(out, "The secret key is shown once (only its hash is kept); `paygate demo keys` issues a new one.")
	}
	fmt.Fprintf(out, `Try:
  curl -s %s/v1/orders -H "Authorization: Bearer %s" \
    --json '{"out_trade_no":"demo-1","amount":1000,"currency":"CNY","subject":"Coffee","method":"sandbox"}'
`, baseURL, k.SecretKey)
}

// ReissueDemoKeys issues a new secret key for the demo app in the database
// of cfg and returns it with the app's signing secret and webhook secret
// (those two are sealed, not hashed, so they are shown as they are). Secret
// keys are kept only as hashes, so the one printed at the first start
// cannot be shown again: this is a new one, and the earlier ones stay valid
// unless revokeOthers. The gateway may be running meanwhile.
func ReissueDemoKeys(ctx context.Context, cfg Config, revokeOthers bool) (*DemoKeys, error) {
	cfg.setDefaults()
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: start `paygate serve` first (or name it with --database)", path)
		}
	}
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	g := &Gateway{Config: cfg, Store: st}
	box, err := g.openBox(ctx, false)
	if err != nil {
		return nil, err
	}
	app, err := FindDemoApp(ctx, st)
	if err != nil {
		return nil, err
	}
	acc := &account.Service{Store: st, Box: box, Clock: clockOrReal(cfg)}
	m, err := acc.GetMerchant(ctx, app.MerchantID)
	if err != nil {
		return nil, err
	}
	k := &DemoKeys{Merchant: m, App: app}
	if k.WebhookSecret, err = acc.WebhookSecret(app); err != nil {
		return nil, fmt.Errorf("open the webhook secret (is this the database's master key?): %w", err)
	}
	keys, err := st.KeyList(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var oldSecrets []string
	for _, sk := range keys {
		active := sk.RevokedAt == nil && (sk.ExpiresAt == nil || sk.ExpiresAt.After(now))
		switch {
		case !active:
		case sk.Kind == store.KeySecret:
			oldSecrets = append(oldSecrets, sk.ID)
		case sk.Alg == store.AlgHMAC && k.SigningKey == nil:
			if k.SigningSecret, err = box.Open(sk.SecretSealed); err != nil {
				return nil, fmt.Errorf("open signing key %s: %w", sk.ID, err)
			}
			k.SigningKey = sk
		}
	}
	if _, k.SecretKey, err = acc.CreateKey(ctx, app.ID, account.KeyParams{Alg: store.KeySecret}); err != nil {
		return nil, err
	}
	if revokeOthers {
		for _, old := range oldSecrets {
			if _, err := acc.RevokeKey(ctx, old); err != nil {
				return nil, fmt.Errorf("revoke %s: %w", old, err)
			}
			k.Revoked = append(k.Revoked, old)
		}
	}
	return k, nil
}

// FindDemoApp returns the demo app: the one recorded at its creation, or,
// in a database made before that was recorded, the app named as the demo's
// of the merchant named as the demo.
func FindDemoApp(ctx context.Context, st store.Store) (*store.App, error) {
	if appID, err := st.SettingGet(ctx, demoAppSetting); err == nil {
		return st.AppGet(ctx, appID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	p := store.ListParams{Limit: 100}
	for {
		ms, more, err := st.MerchantList(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Name != demoMerchantName {
				continue
			}
			apps, _, err := st.AppList(ctx, m.ID, store.ListParams{Limit: 100})
			if err != nil {
				return nil, err
			}
			for _, a := range apps {
				if a.Name == demoAppName && !a.Livemode {
					return a, nil
				}
			}
		}
		if !more || len(ms) == 0 {
			return nil, errors.New("this database has no demo merchant (it was started with --no-demo, or had merchants before its first start)")
		}
		p.StartingAfter = ms[len(ms)-1].ID
	}
}

// demoCashierOrder makes a test order of the demo app without a method, for
// the home page's cashier demo, and returns its cashier page's path.
func (g *Gateway) demoCashierOrder(ctx context.Context, app *store.App) (string, error) {
	sc := payment.Scope{MerchantID: app.MerchantID, AppID: app.ID, Livemode: false}
	o, _, err := g.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{
		OutTradeNo: "cashier-demo-" + id.New("", g.Clock.Now()),
		Amount:     1850, Currency: "CNY", Subject: "Flat white (cashier demo)",
		ReturnURL: g.publicURL() + "/",
	})
	if err != nil {
		return "", err
	}
	return "/pay/" + o.ID, nil
}
