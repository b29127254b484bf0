// Package gateway wires Paygate together: it opens the store, loads or makes
// the master key, the operator token and the platform signing key, creates
// the demo merchant on an empty database, and runs the HTTP server and the
// background workers. cmd/paygate is a thin shell over it, and end-to-end
// tests start a Gateway on 127.0.0.1:0.
package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres"
	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/web"
)

// Gateway is a running Paygate.
type Gateway struct {
	Config   Config
	Store    store.Store
	Box      *cryptobox.Box
	Clock    clock.Clock
	Log      *slog.Logger
	Payments *payment.Service
	Worker   *payment.Worker
	// Router picks channel accounts for payments and tracks their health.
	Router *routing.Router
	// Channels manages channel accounts and builds their connectors.
	Channels *channelaccount.Service
	// Notifier delivers events to notify_urls and webhook endpoints.
	Notifier *notify.Dispatcher
	API      *api.Server
	// Demo is the demo merchant's app created at this start, nil otherwise.
	Demo *account.NewApp
	// OperatorToken is set when this start generated it (or it came from Config).
	OperatorToken string

	listener net.Listener
	server   *http.Server
	// simulators are the demo's channel simulators, by channel account id
	// (Config.Simulators).
	simulators map[string]*demoSimulator
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	stopOnce   sync.Once
	stopErr    error
}

// OpenStore opens the store named by a --database value.
func OpenStore(ctx context.Context, database string) (store.Store, error) {
	switch {
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return postgres.Open(ctx, database)
	case strings.HasPrefix(database, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(database, "sqlite:"))
	}
	return nil, fmt.Errorf("database %q: want sqlite:<path> or a postgres:// URL", database)
}

// Open opens the store, migrates it, and prepares everything Serve needs.
// out receives the first-start messages (operator token, demo keys).
func Open(ctx context.Context, cfg Config, out io.Writer) (*Gateway, error) {
	if cfg.Database == "" {
		cfg.Database = "sqlite:paygate.db"
	}
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	g, err := OpenWith(ctx, cfg, st, out)
	if err != nil {
		st.Close()
		return nil, err
	}
	return g, nil
}

// OpenWith is Open on a store the caller opened (tests pass one per test).
// The gateway closes st when it shuts down.
func OpenWith(ctx context.Context, cfg Config, st store.Store, out io.Writer) (*Gateway, error) {
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.Database == "" {
		cfg.Database = "sqlite:paygate.db"
	}
	if len(cfg.NotifyRetrySchedule) == 0 {
		cfg.NotifyRetrySchedule = DefaultRetrySchedule
	}
	g := &Gateway{Config: cfg, Store: st, Clock: cfg.Clock, Log: cfg.Logger}
	if g.Clock == nil {
		g.Clock = clock.Real{}
	}
	if g.Log == nil {
		g.Log = newLogger(cfg.LogLevel)
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := g.prepare(ctx, out); err != nil {
		return nil, err
	}
	return g, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func (g *Gateway) prepare(ctx context.Context, out io.Writer) error {
	key, err := g.masterKey()
	if err != nil {
		return err
	}
	if g.Box, err = cryptobox.New(key); err != nil {
		return err
	}
	tokenHash, err := g.operatorToken(ctx)
	if err != nil {
		return err
	}
	signer, keys, err := g.platformKey(ctx)
	if err != nil {
		return err
	}
	providers := Providers()
	// The sandbox is a provider like the others; its trades live in this
	// process and it runs on the gateway's clock.
	providers[sandbox.Name] = sandbox.Provider(sandbox.New(g.Clock))
	g.Router = &routing.Router{Source: g.Store, Clock: g.Clock}
	g.Channels = &channelaccount.Service{
		// Connectors sign with the wall clock (ConnectorClock unset): channels
		// check it, whatever clock the gateway runs on.
		Store: g.Store, Providers: providers, Box: g.Box, PublicURL: g.publicURL(), Clock: g.Clock,
		Changed: g.Router.Invalidate,
	}
	if _, err := g.Channels.EnsureSandbox(ctx); err != nil {
		return err
	}
	g.Payments = &payment.Service{
		Store: g.Store, Clock: g.Clock, PublicURL: g.publicURL(), Log: g.Log, Router: g.Router,
		Accounts: g.Channels, MicropayDeadline: g.Config.MicropayDeadline,
		ParamsKey: g.Box.DeriveKey(payment.ParamsKeyLabel),
	}
	g.Worker = &payment.Worker{Service: g.Payments, Interval: g.Config.WorkerInterval}
	g.Notifier = &notify.Dispatcher{
		Store: g.Store, Unseal: g.Box.Open, PlatformKey: signer.Key, Clock: g.Clock,
		Schedule: g.Config.NotifyRetrySchedule, Timeout: g.Config.NotifyTimeout, Lease: g.Config.NotifyLease,
		Concurrency: g.Config.NotifyConcurrency, PerTarget: g.Config.NotifyPerTarget, Log: g.Log,
		Policy: g.notifyPolicy(),
	}
	g.Payments.Notify = g.Notifier.Kick
	g.Payments.CheckNotifyURL = g.checkNotifyURL
	g.API = &api.Server{
		Store: g.Store, Payments: g.Payments, Signer: signer, PlatformKeys: keys, OperatorTokenHash: tokenHash,
		Box: g.Box, Clock: g.Clock, Log: g.Log, Channels: g.Channels,
		MerchantRoutes: &routing.Routes{Store: g.Store, Clock: g.Clock, Changed: g.Router.Invalidate},
		Auth:           &auth.Authenticator{Store: g.Store, Unseal: g.Box.Open, Clock: g.Clock},
		Accounts:       &account.Service{Store: g.Store, Box: g.Box, Clock: g.Clock},
		Endpoints:      &notify.Endpoints{Store: g.Store, Seal: g.Box.Seal, Clock: g.Clock, CheckURL: g.notifyPolicy().CheckURL},
		ChannelHealth: func(accountID string) *client.ChannelHealth {
			h := g.Router.Health(accountID)
			return &client.ChannelHealth{Breaker: h.Breaker, SuccessRate: h.SuccessRate, Samples: h.Samples}
		},
	}
	if g.OperatorToken != "" && g.Config.AdminToken == "" {
		fmt.Fprintf(out, "Operator token (shown once; keep it): %s\n", g.OperatorToken)
	}
	if !g.Config.NoDemo {
		if err := g.demo(ctx, out); err != nil {
			return fmt.Errorf("demo merchant: %w", err)
		}
	}
	if g.Config.Simulators {
		if err := g.startSimulators(ctx, out); err != nil {
			g.stopSimulators()
			return fmt.Errorf("channel simulators: %w", err)
		}
	}
	return nil
}

func (g *Gateway) publicURL() string {
	if g.Config.PublicURL != "" {
		return strings.TrimRight(g.Config.PublicURL, "/")
	}
	_, port, err := net.SplitHostPort(g.Config.Addr)
	if err != nil || port == "0" {
		if g.listener != nil {
			_, port, _ = net.SplitHostPort(g.listener.Addr().String())
		}
	}
	return "http://localhost:" + port
}

// masterKey returns the configured key, or for SQLite the one in the file
// beside the database, made on first start.
func (g *Gateway) masterKey() ([]byte, error) {
	if g.Config.MasterKey != "" {
		return cryptobox.ParseKey(g.Config.MasterKey)
	}
	if !strings.HasPrefix(g.Config.Database, "sqlite:") {
		return nil, errors.New("PAYGATE_MASTER_KEY is required with PostgreSQL (64 hex digits; e.g. `openssl rand -hex 32`)")
	}
	path := strings.TrimPrefix(g.Config.Database, "sqlite:") + ".masterkey"
	if b, err := os.ReadFile(path); err == nil {
		return cryptobox.ParseKey(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, cryptobox.KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process made it first
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return cryptobox.ParseKey(string(b))
	}
	if err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, err
	}
	return k, f.Sync()
}

// operatorToken returns the hash of the operator token: the configured one,
// or one made and recorded at first start.
func (g *Gateway) operatorToken(ctx context.Context) (string, error) {
	if g.Config.AdminToken != "" {
		g.OperatorToken = g.Config.AdminToken
		return auth.HashSecret(g.Config.AdminToken), nil
	}
	token := "op_" + strings.TrimPrefix(auth.NewSecretKey(true), "sk_live_")
	want := auth.HashSecret(token)
	got, err := g.Store.SettingInit(ctx, "operator_token_hash", want)
	if err != nil {
		return "", err
	}
	if got == want {
		g.OperatorToken = token
	}
	return got, nil
}

// platformKey loads the platform's Ed25519 response-signing key, making it on first start.
func (g *Gateway) platformKey(ctx context.Context) (*auth.ResponseSigner, []*store.PlatformKey, error) {
	keys, err := g.Store.PlatformKeyList(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) == 0 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		pubDER, _ := x509.MarshalPKIXPublicKey(pub)
		privDER, _ := x509.MarshalPKCS8PrivateKey(priv)
		sealed, err := g.Box.Seal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})))
		if err != nil {
			return nil, nil, err
		}
		now := g.Clock.Now()
		k := &store.PlatformKey{ID: id.New(id.Platform, now), Alg: store.AlgEd25519, Status: "current", CreatedAt: now,
			PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})), PrivateSealed: sealed}
		if err := g.Store.PlatformKeyCreate(ctx, k); err != nil {
			return nil, nil, err
		}
		if keys, err = g.Store.PlatformKeyList(ctx); err != nil {
			return nil, nil, err
		}
	}
	var cur *store.PlatformKey
	for _, k := range keys { // two nodes starting together may both make one: the oldest wins
		if k.Status == "current" && (cur == nil || k.ID < cur.ID) {
			cur = k
		}
	}
	if cur == nil {
		return nil, nil, errors.New("no current platform key")
	}
	privPEM, err := g.Box.Open(cur.PrivateSealed)
	if err != nil {
		return nil, nil, fmt.Errorf("open platform key: %w", err)
	}
	block, _ := pem.Decode([]byte(privPEM))
	if block == nil {
		return nil, nil, errors.New("platform key is not PEM")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, err
	}
	edPriv, ok := priv.(ed25519.PrivateKey)
	if !ok {
		return nil, nil, errors.New("platform key is not Ed25519")
	}
	return &auth.ResponseSigner{KeyID: cur.ID, Key: edPriv, Clock: g.Clock}, keys, nil
}

// demo creates the demo merchant and its test app once, on an empty database.
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
	m, err := acc.CreateMerchant(ctx, account.MerchantParams{Name: "Demo Shop", FeeRateBps: 60})
	if err != nil {
		return err
	}
	na, err := acc.CreateApp(ctx, m.ID, account.AppParams{Name: "Demo test app", Mode: "test"})
	if err != nil {
		return err
	}
	g.Demo = na
	fmt.Fprintf(out, `
Demo merchant %s (%s), test-mode app %s:
  secret key      %s
  signing key     %s  HMAC-SHA256 secret %s
  webhook secret  %s
These are shown once. Try:
  curl -s %s/v1/orders -H "Authorization: Bearer %s" \
    --json '{"out_trade_no":"demo-1","amount":1000,"currency":"CNY","subject":"Coffee","method":"sandbox"}'
`, m.Name, m.ID, na.App.ID, na.SecretKey, na.SigningKey.ID, na.SigningSecret, na.WebhookSecret, g.publicURL(), na.SecretKey)
	return nil
}

// notifyPolicy is where notifications may go, by Config.Hosted.
func (g *Gateway) notifyPolicy() notify.Policy { return notify.Policy{Hosted: g.Config.Hosted} }

// checkNotifyURL refuses an order's or refund's notify_url as
// notify.Policy.CheckURL does, except a name that does not resolve right
// now: a DNS hiccup must not fail a payment, and every notification
// connection is checked again anyway. The lookup is bounded to keep the
// payment path fast.
func (g *Gateway) checkNotifyURL(ctx context.Context, url string, live bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := g.notifyPolicy().CheckURL(ctx, url, live); err != nil && !errors.Is(err, notify.ErrNotResolved) {
		return err
	}
	return nil
}

// Listen binds the configured address; Addr is then known.
func (g *Gateway) Listen() error {
	l, err := net.Listen("tcp", g.Config.Addr)
	if err != nil {
		return err
	}
	g.listener = l
	if g.Config.PublicURL == "" {
		g.Payments.PublicURL = g.publicURL()
		g.Channels.PublicURL = g.Payments.PublicURL
	}
	return nil
}

// Addr is the address the gateway listens on, after Listen.
func (g *Gateway) Addr() string { return g.listener.Addr().String() }

// URL is the base URL of the listening gateway, after Listen.
func (g *Gateway) URL() string { return "http://" + g.Addr() }

// Serve runs the HTTP server and the background workers until ctx ends or
// Shutdown is called. It calls Listen when not yet listening.
func (g *Gateway) Serve(ctx context.Context) error {
	if g.listener == nil {
		if err := g.Listen(); err != nil {
			return err
		}
	}
	ctx, g.cancel = context.WithCancel(ctx)
	g.wg.Add(1)
	go func() { defer g.wg.Done(); g.Worker.Run(ctx) }()
	if !g.Config.NotifyManual {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.Notifier.Run(ctx) }()
	}
	g.server = &http.Server{Handler: g.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- g.server.Serve(g.listener) }()
	select {
	case err := <-errc:
		g.cancel()
		return err
	case <-ctx.Done():
	}
	return g.Shutdown(context.Background())
}

// handler sends the hosted cashier (/pay/…) to the web handler and every
// other request to the API, which answers unknown routes in its error shape.
func (g *Gateway) handler() http.Handler {
	cashier := web.New(web.Config{
		Payments: g.Payments, Store: g.Store, Accounts: g.API.Accounts,
		Clock: g.Clock, PublicURL: g.Payments.PublicURL, Log: g.Log,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/pay/") {
			cashier.ServeHTTP(w, r)
			return
		}
		g.API.ServeHTTP(w, r)
	})
}

// Shutdown drains in-flight requests (up to 30 s), stops the workers and closes the store.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.stopOnce.Do(func() {
		if g.cancel != nil {
			g.cancel()
		}
		if g.server != nil {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			g.stopErr = g.server.Shutdown(sctx)
			cancel()
		}
		g.wg.Wait()
		g.Payments.Close()
		g.stopSimulators()
		if err := g.Store.Close(); g.stopErr == nil {
			g.stopErr = err
		}
	})
	return g.stopErr
}
