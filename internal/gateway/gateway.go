// Package gateway wires Paygate together: it opens the store, loads or makes
// the master key, the operator token and the platform signing key, creates
// the demo merchant on an empty database, and runs the HTTP server and the
// background workers. cmd/paygate is a thin shell over it, and end-to-end
// tests start a Gateway on 127.0.0.1:0.
package gateway

import (
	"bytes"
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
	"syscall"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/profitsharing"
	"github.com/paygate/paygate/internal/ratelimit"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/routing"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/site"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres"
	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/transfer"
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
	// Risk runs risk control on every payment.
	Risk *risk.Service
	// Notifier delivers events to notify_urls and webhook endpoints.
	Notifier *notify.Dispatcher
	API      *api.Server
	// Billing runs recurring payments (its worker is one of Jobs' jobs).
	Billing *billing.Service
	// Transfers pays merchants' money out to payees (its worker is one of
	// Jobs' jobs).
	Transfers *transfer.Service
	// ProfitSharing shares orders' money with receivers (its worker is
	// one of Jobs).
	ProfitSharing *profitsharing.Service
	// FX loads exchange rates and makes quotes.
	FX *fx.Service
	// Metrics are the Prometheus collectors (nil with Config.NoMetrics),
	// served on the operator listener (monitoring.go).
	Metrics *metrics.Metrics

	// Settlements settles merchants' days and pays them out; Jobs runs its
	// job (and the gateway's other scheduled jobs) once across the nodes.
	Settlements *settlement.Service
	Jobs        *jobs.Scheduler
	// Recon reconciles channel accounts' bills; its job is one of Jobs'.
	Recon *recon.Service

	// Demo is the demo merchant's app created at this start, nil otherwise.
	Demo *account.NewApp
	// OperatorToken is set when this start generated it (or it came from Config).
	OperatorToken string

	listener net.Listener
	server   *http.Server
	admin    *http.Server // the operator listener's, when there is one
	// outer are the metrics of the cashier's and the site's requests.
	outerCashier, outerSite *outerRoute
	// simulators are the demo's channel simulators, by channel account id
	// (Config.Simulators).
	simulators map[string]*demoSimulator
	// site serves the home page and the API reference.
	site     *site.Handler
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  error
	// closers are closed last at shutdown (the Redis client).
	closers []func() error
	// background are what Serve runs beside the server until it stops
	// (the shedder's Adapter).
	background []func(context.Context)
}

// KeyCacheTTL is how long the store keeps a looked-up API key
// (sqlstore.EnableKeyCache): a key revoked on this node stops working at
// once, one revoked by another node or by `paygate keys` within this time.
// On PostgreSQL the lookup was one of a create's two statements.
const KeyCacheTTL = time.Second

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

// Open binds the listen address, then opens the store, migrates it, and
// prepares everything Serve needs. Binding comes first, so a start that
// cannot listen (the port is taken) fails before it creates anything it
// would print once (the operator token, the demo keys). out receives those
// first-start messages.
func Open(ctx context.Context, cfg Config, out io.Writer) (*Gateway, error) {
	cfg.setDefaults()
	closeListener, err := bind(&cfg)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		closeListener()
		return nil, err
	}
	g, err := OpenWith(ctx, cfg, st, out)
	if err != nil {
		st.Close()
		closeListener()
		return nil, err
	}
	return g, nil
}

// OpenWith is Open on a store the caller opened (tests pass one per test).
// The gateway closes st when it shuts down.
func OpenWith(ctx context.Context, cfg Config, st store.Store, out io.Writer) (*Gateway, error) {
	cfg.setDefaults()
	closeListener, err := bind(&cfg)
	if err != nil {
		return nil, err
	}
	if kc, ok := st.(interface{ EnableKeyCache(time.Duration) }); ok {
		kc.EnableKeyCache(KeyCacheTTL)
	}
	g := &Gateway{Config: cfg, Store: st, Clock: cfg.Clock, Log: cfg.Logger, listener: cfg.Listener}
	if g.Clock == nil {
		g.Clock = clock.Real{}
	}
	if g.Log == nil {
		g.Log = NewLogger(cfg.LogLevel, os.Stderr)
	}
	if err := st.Migrate(ctx); err != nil {
		closeListener()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := g.prepare(ctx, out); err != nil {
		closeListener()
		return nil, err
	}
	return g, nil
}

// bind sets cfg.Listener to a listener on cfg.Addr unless it has one, and
// returns what closes the listener it made (nothing when it made none).
func bind(cfg *Config) (closeListener func(), err error) {
	closeMain := func() {}
	if cfg.Listener == nil {
		l, err := Listen(cfg.Addr)
		if err != nil {
			return nil, err
		}
		cfg.Listener = l
		closeMain = func() { l.Close(); cfg.Listener = nil }
	}
	closeAdmin, err := bindAdmin(cfg)
	if err != nil {
		closeMain()
		return nil, err
	}
	return func() { closeAdmin(); closeMain() }, nil
}

// Listen binds addr for the gateway. When the address is taken, the error
// says what to do about it.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: address already in use: is another paygate (or another server) running there? "+
			"Stop it, or listen elsewhere with --addr (PAYGATE_ADDR), e.g. --addr 127.0.0.1:8081", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

// NewLogger returns the gateway's JSON logger on w at level (debug, info,
// warn or error; anything else is info).
func NewLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func (g *Gateway) prepare(ctx context.Context, out io.Writer) error {
	var err error
	if g.Box, err = g.openBox(ctx, true); err != nil {
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
	g.newMetrics()
	if _, err := g.Channels.EnsureSandbox(ctx); err != nil {
		return err
	}
	g.Payments = &payment.Service{
		Store: g.Store, Clock: g.Clock, PublicURL: g.publicURL(), Log: g.Log, Router: g.Router,
		Accounts: g.Channels, MicropayDeadline: g.Config.MicropayDeadline,
		ParamsKey: g.Box.DeriveKey(payment.ParamsKeyLabel),
	}
	g.Risk = &risk.Service{
		Store: g.Store, Clock: g.Clock, Log: g.Log, CardKey: g.Box.DeriveKey(risk.CardKeyLabel),
		MaxCost: uint64(g.Config.RiskRuleMaxCost), MerchantMaxCost: uint64(g.Config.RiskMerchantRuleMaxCost),
		MerchantMaxRules: g.Config.RiskMerchantMaxRules,
	}
	g.Payments.Risk = g.Risk
	g.Worker = &payment.Worker{Service: g.Payments, Interval: g.Config.WorkerInterval}
	g.Notifier = &notify.Dispatcher{
		Store: g.Store, Unseal: g.Box.Open, PlatformKey: signer.Key, Clock: g.Clock,
		Schedule: g.Config.NotifyRetrySchedule, Timeout: g.Config.NotifyTimeout, Lease: g.Config.NotifyLease,
		Concurrency: g.Config.NotifyConcurrency, PerTarget: g.Config.NotifyPerTarget, Log: g.Log,
		Policy: g.notifyPolicy(),
	}
	g.Payments.Notify = g.Notifier.Kick
	g.Payments.CheckNotifyURL = g.checkNotifyURL
	if err := g.prepareSettlement(); err != nil {
		return err
	}
	g.Payments.CardKey = g.Box.DeriveKey(payment.CardKeyLabel)
	g.Billing = &billing.Service{
		Store: g.Store, Clock: g.Clock, Log: g.Log, Payments: g.Payments, Channels: g.Channels, Router: g.Router,
		PublicURL: g.publicURL(), DunningSchedule: g.Config.DunningSchedule, ClaimFor: g.Config.InvoiceClaim, Notify: g.Notifier.Kick,
	}
	g.Payments.Sources, g.Payments.OrderSettled = g.Billing, g.Billing.OrderSettled
	g.Jobs.Jobs = append(g.Jobs.Jobs, (&billing.Worker{Service: g.Billing}).Job(g.Config.WorkerInterval))
	g.FX = &fx.Service{Store: g.Store, Clock: g.Clock, MarkupBps: g.Config.FXMarkupBps}
	g.Settlements.FX = g.FX // batches in other currencies convert at the day's rate
	if g.Config.FXRatesURL != "" {
		g.Jobs.Jobs = append(g.Jobs.Jobs, g.FX.Job(fx.HTTPProvider{URL: g.Config.FXRatesURL}, g.Config.FXRatesInterval))
	}
	g.Transfers = &transfer.Service{Store: g.Store, Clock: g.Clock, Channels: g.Channels, Log: g.Log, Notify: g.Notifier.Kick}
	g.Jobs.Jobs = append(g.Jobs.Jobs, g.Transfers.Job(g.Config.WorkerInterval))
	g.ProfitSharing = &profitsharing.Service{Store: g.Store, Clock: g.Clock, Channels: g.Channels, Log: g.Log, Notify: g.Notifier.Kick,
		ReleaseAfter: g.Config.ProfitSharingReleaseAfter}
	g.Jobs.Jobs = append(g.Jobs.Jobs, g.ProfitSharing.Job(g.Config.WorkerInterval))
	g.Jobs.Jobs = append(g.Jobs.Jobs, console.RollupJob(g.Store, 10*time.Minute))
	g.API = &api.Server{
		Store: g.Store, Payments: g.Payments, Signer: signer, PlatformKeys: keys, OperatorTokenHash: tokenHash,
		Box: g.Box, Clock: g.Clock, Log: g.Log, Channels: g.Channels, Risk: g.Risk, Billing: g.Billing,
		MerchantRoutes: &routing.Routes{Store: g.Store, Clock: g.Clock, Changed: g.Router.Invalidate},
		Settlements:    g.Settlements,
		Recon:          g.Recon,
		Transfers:      g.Transfers,
		ProfitSharing:  g.ProfitSharing,
		FX:             g.FX,
		Auth:           &auth.Authenticator{Store: g.Store, Unseal: g.Box.Open, Clock: g.Clock},
		Accounts:       &account.Service{Store: g.Store, Box: g.Box, Clock: g.Clock},
		Endpoints:      &notify.Endpoints{Store: g.Store, Seal: g.Box.Seal, Clock: g.Clock, CheckURL: g.notifyPolicy().CheckURL},
		ChannelHealth: func(accountID string) *client.ChannelHealth {
			h := g.Router.Health(accountID)
			return &client.ChannelHealth{Breaker: h.Breaker, SuccessRate: h.SuccessRate, Samples: h.Samples}
		},
	}
	if err := g.prepareLimits(); err != nil {
		return err
	}
	g.wireMetrics()
	if g.OperatorToken != "" && g.Config.AdminToken == "" {
		fmt.Fprintf(out, "Operator token for /admin/v1 (shown once; keep it, or set PAYGATE_ADMIN_TOKEN to a token of your own): %s\n", g.OperatorToken)
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
	} else if err := g.disableSimulatorAccounts(ctx); err != nil {
		return fmt.Errorf("channel simulators: %w", err)
	}
	sc := site.Config{Version: g.Config.Version, NotFound: g.API, Log: g.Log}
	if !g.Config.NoDemo {
		if app, err := FindDemoApp(ctx, g.Store); err == nil {
			sc.DemoCashier = func(ctx context.Context) (string, error) { return g.demoCashierOrder(ctx, app) }
		}
	}
	if g.site, err = site.New(sc); err != nil {
		return err
	}
	return nil
}

// prepareSettlement sets up fees, settlement and the scheduled jobs.
func (g *Gateway) prepareSettlement() error {
	policy, err := settlement.ParseRefundFeePolicy(g.Config.RefundFeePolicy)
	if err != nil {
		return err
	}
	settleAt, err := ParseClockTime(g.Config.SettleAt)
	if err != nil {
		return fmt.Errorf("settle_at %q: %w", g.Config.SettleAt, err)
	}
	g.Payments.RefundFeePolicy = policy
	g.Settlements = &settlement.Service{Store: g.Store, Clock: g.Clock, Log: g.Log, SettleAt: settleAt, Notify: g.Notifier.Kick}
	g.Jobs = &jobs.Scheduler{Store: g.Store, Clock: g.Clock, Log: g.Log, Interval: g.Config.WorkerInterval,
		Jobs: []jobs.Job{g.Settlements.Job()}}
	return g.prepareRecon()
}

// prepareRecon sets up reconciliation and its scheduled job.
func (g *Gateway) prepareRecon() error {
	def, per, err := recon.ParseBillReady(g.Config.ReconBillReady)
	if err != nil {
		return fmt.Errorf("recon_bill_ready: %w", err)
	}
	g.Recon = &recon.Service{Store: g.Store, Clock: g.Clock, Log: g.Log, Accounts: g.Channels, Payments: g.Payments,
		DefaultReady: def, BillReady: per, Notify: g.Notifier.Kick}
	g.Jobs.Jobs = append(g.Jobs.Jobs, g.Recon.Job())
	return nil
}

func (g *Gateway) publicURL() string {
	if g.Config.PublicURL != "" {
		return strings.TrimRight(g.Config.PublicURL, "/")
	}
	_, port, _ := net.SplitHostPort(g.listener.Addr().String())
	return "http://localhost:" + port
}

// openBox returns the box of the master key and the old master keys, its
// derivation root loaded from the store (made at first start). create
// makes the key file beside a SQLite database when it is missing.
func (g *Gateway) openBox(ctx context.Context, create bool) (*cryptobox.Box, error) {
	key, err := g.masterKey(create)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{key}
	if g.Config.OldMasterKeys != "" {
		for _, v := range strings.Split(g.Config.OldMasterKeys, ",") {
			k, err := cryptobox.ParseKey(v)
			if err != nil {
				return nil, fmt.Errorf("old_master_keys: %w", err)
			}
			keys = append(keys, k)
		}
	}
	box, err := cryptobox.New(keys...)
	if err != nil {
		return nil, err
	}
	if g.Store != nil {
		if err := box.LoadRoot(ctx, rootSetting{g.Store}); err != nil {
			return nil, err
		}
	}
	return box, nil
}

// rootSetting keeps the box's derivation root in the settings table.
type rootSetting struct{ st store.Store }

func (r rootSetting) RootGet(ctx context.Context) (string, error) {
	v, err := r.st.SettingGet(ctx, store.DerivationRootSetting)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return v, err
}

func (r rootSetting) RootInit(ctx context.Context, sealed string) (string, error) {
	return r.st.SettingInit(ctx, store.DerivationRootSetting, sealed)
}

// masterKey returns the configured key, or for SQLite the one in the file
// beside the database, made on first start when create.
func (g *Gateway) masterKey(create bool) ([]byte, error) {
	if g.Config.MasterKey != "" {
		return cryptobox.ParseKey(g.Config.MasterKey)
	}
	if !strings.HasPrefix(g.Config.Database, "sqlite:") {
		return nil, errors.New("PAYGATE_MASTER_KEY is required with PostgreSQL (64 hex digits; e.g. `openssl rand -hex 32`)")
	}
	path, _ := MasterKeyFile(g.Config.Database)
	if b, err := os.ReadFile(path); err == nil {
		return cryptobox.ParseKey(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	} else if !create {
		return nil, fmt.Errorf("no master key: %s is missing and PAYGATE_MASTER_KEY is not set", path)
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

// MasterKeyFile is where a SQLite database keeps its master key when
// master_key is not set: PATH.masterkey. ok is false for PostgreSQL.
func MasterKeyFile(database string) (path string, ok bool) {
	p, ok := strings.CutPrefix(database, "sqlite:")
	if !ok {
		return "", false
	}
	return p + ".masterkey", true
}

// ReplaceMasterKeyFile writes key (64 hex digits) to the key file at path
// once a rotation to it is complete, so that a node started without
// master_key opens the database with the new key. A missing file (the key
// was always given) or one that already holds key is left alone. The new
// file is written beside it, synced, and renamed over it (mode 0600), so a
// crash leaves one key or the other, never half a file.
func ReplaceMasterKeyFile(path, key string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	k, err := cryptobox.ParseKey(key)
	if err != nil {
		return false, err
	}
	if old, err := cryptobox.ParseKey(string(b)); err == nil && bytes.Equal(old, k) {
		return false, nil
	}
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return false, err
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
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

// Listen is kept for callers of the former two-step start: the gateway
// binds its address when it opens, so this does nothing.
func (g *Gateway) Listen() error { return nil }

// Addr is the address the gateway listens on.
func (g *Gateway) Addr() string { return g.listener.Addr().String() }

// URL is the base URL of the listening gateway.
func (g *Gateway) URL() string { return "http://" + g.Addr() }

// Serve runs the HTTP server and the background workers until ctx ends or
// Shutdown is called.
func (g *Gateway) Serve(ctx context.Context) error {
	ctx, g.cancel = context.WithCancel(ctx)
	g.wg.Add(1)
	go func() { defer g.wg.Done(); g.Worker.Run(ctx) }()
	g.wg.Add(1)
	go func() { defer g.wg.Done(); g.Jobs.Run(ctx) }()
	g.wg.Add(1)
	go func() { defer g.wg.Done(); g.refreshPlatformKeys(ctx) }() // keys.go
	if !g.Config.NotifyManual {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.Notifier.Run(ctx) }()
	}
	for _, run := range g.background {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); run(ctx) }()
	}
	g.server = &http.Server{Handler: g.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ConnContext: ratelimit.WithConn, ErrorLog: slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- g.server.Serve(g.listener) }()
	g.serveAdmin()
	select {
	case err := <-errc:
		g.cancel()
		return err
	case <-ctx.Done():
	}
	return g.Shutdown(context.Background())
}

// handler sends the hosted cashier (/pay/…) to the web handler, the home
// page and the API reference to the site, and every other request to the
// API, which answers unknown routes in its error shape.
func (g *Gateway) handler() http.Handler {
	cashier := web.New(web.Config{
		Payments: g.Payments, Billing: g.Billing, Store: g.Store, Accounts: g.API.Accounts,
		Clock: g.Clock, PublicURL: g.Payments.PublicURL, Log: g.Log,
	})
	guarded := g.API.Guard(cashier) // shedding, and the per-IP limit
	consoleUI := g.console()
	g.outerCashier, g.outerSite = newOuterRoute(g.Metrics, "/pay/"), newOuterRoute(g.Metrics, "site")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/pay/"):
			measured(g.outerCashier, guarded, w, r)
		case r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, "/console/"):
			consoleUI.ServeHTTP(w, r)
		case g.site.Serves(r):
			measured(g.outerSite, g.site, w, r)
		default:
			g.API.ServeHTTP(w, r)
		}
	})
}

// console is the operator and merchant web console (/console), on the
// same services as the API.
func (g *Gateway) console() *console.Handler {
	return console.New(console.Config{
		Store: g.Store, Payments: g.Payments, Accounts: g.API.Accounts, Settlements: g.Settlements, Risk: g.Risk,
		Recon: g.Recon, Endpoints: g.API.Endpoints,
		Notify: g.Notifier.Kick, Seal: g.Box.Seal, Open: g.Box.Open, Clock: g.Clock, Log: g.Log, PublicURL: g.Payments.PublicURL,
		ChannelHealth: func(accountID string) console.Health {
			h := g.Router.Health(accountID)
			return console.Health{Breaker: h.Breaker, SuccessRate: h.SuccessRate, Samples: h.Samples}
		},
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
		} else {
			g.listener.Close() // opened, never served
		}
		if g.admin != nil {
			g.admin.Close()
		} else if g.Config.AdminListener != nil {
			g.Config.AdminListener.Close()
		}
		g.wg.Wait()
		g.Payments.Close()
		g.stopSimulators()
		if err := g.Store.Close(); g.stopErr == nil {
			g.stopErr = err
		}
		for _, c := range g.closers {
			c()
		}
	})
	return g.stopErr
}

// clockOrReal is cfg's clock, or the real one.
func clockOrReal(cfg Config) clock.Clock {
	if cfg.Clock != nil {
		return cfg.Clock
	}
	return clock.Real{}
}
