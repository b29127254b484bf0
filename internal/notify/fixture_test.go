package notify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

var storeKinds = []string{"sqlite", "postgres"}

func openStore(t testing.TB, kind string) store.Store {
	t.Helper()
	if kind == "postgres" {
		return postgrestest.Open(t, postgrestest.URL(t))
	}
	return sqlitetest.Open(t)
}

// openTwice opens two stores, each with its own connections, on one new
// database: what two gateway nodes see.
func openTwice(t testing.TB, kind string) (store.Store, store.Store) {
	t.Helper()
	ctx := context.Background()
	var open func() (store.Store, error)
	if kind == "postgres" {
		base := postgrestest.URL(t)
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 6)
		rand.Read(b)
		schema := "paygate_notify_" + hex.EncodeToString(b)
		if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		url := base + sep + "search_path=" + schema + "&pool_max_conns=" + postgrestest.PoolSize
		open = func() (store.Store, error) { return postgres.Open(ctx, url) }
	} else {
		path := filepath.Join(t.TempDir(), "paygate.db")
		open = func() (store.Store, error) { return sqlite.Open(path) }
	}
	var out [2]store.Store
	for i := range out {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		out[i] = st
	}
	return out[0], out[1]
}

// fixture is a merchant with apps whose orders emit events straight through
// the store, as the payment service does.
type fixture struct {
	st      store.Store
	box     *cryptobox.Box
	clock   *clock.Fake
	apps    []*store.App
	secrets []string // webhook secret of each app
	orders  []*store.Order
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey
}

func newFixture(t testing.TB, st store.Store, apps int, live bool) *fixture {
	t.Helper()
	ctx := context.Background()
	box, err := cryptobox.New(make([]byte, cryptobox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	f := &fixture{st: st, box: box, clock: clock.NewFake(now)}
	f.pub, f.priv, _ = ed25519.GenerateKey(nil)
	m := &store.Merchant{ID: id.New(id.Merchant, now), Name: "notify", Timezone: "Asia/Shanghai", SettlementCurrency: "CNY", CreatedAt: now}
	if err := st.MerchantCreate(ctx, m); err != nil {
		t.Fatal(err)
	}
	for i := range apps {
		secret := auth.NewWebhookSecret()
		sealed, err := box.Seal(secret)
		if err != nil {
			t.Fatal(err)
		}
		a := &store.App{ID: id.New(id.App, now), MerchantID: m.ID, Name: "app", Livemode: live, WebhookSecretSealed: sealed, CreatedAt: now}
		if err := st.AppCreate(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		o := &store.Order{ID: id.New(id.Order, now), MerchantID: m.ID, AppID: a.ID, Livemode: live, OutTradeNo: "o" + strconv.Itoa(i),
			Amount: 100, Currency: "CNY", Subject: "s", Status: store.OrderPending, RequestHash: "h", CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.OrderCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
		f.apps, f.secrets, f.orders = append(f.apps, a), append(f.secrets, secret), append(f.orders, o)
	}
	return f
}

// emit writes n events of app i, each owed to url, committed 500 to a transaction.
func (f *fixture) emit(t testing.TB, i, n int, url string) []*store.Event {
	t.Helper()
	var all []*store.Event
	for n > 0 {
		k := min(n, 500)
		n -= k
		at := f.clock.Now().UTC().Truncate(time.Microsecond)
		_, err := f.st.OrderTransition(context.Background(), store.OrderTransition{
			OrderID: f.orders[i].ID, From: []store.OrderStatus{store.OrderPending}, To: store.OrderPending, At: at,
			Effects: func(o *store.Order) (store.Effects, error) {
				var evs []*store.Event
				for range k {
					data, _ := json.Marshal(map[string]any{"object": map[string]any{"id": o.ID, "object": "order", "status": "succeeded", "amount": o.Amount}})
					evs = append(evs, &store.Event{ID: id.New(id.Event, at), Type: "order.succeeded", MerchantID: o.MerchantID, AppID: o.AppID,
						Livemode: o.Livemode, ObjectType: "order", ObjectID: o.ID, Data: data, NotifyURL: url, CreatedAt: at})
				}
				all = append(all, evs...)
				return store.Effects{Events: evs}, nil
			},
		})
		if err != nil {
			t.Fatalf("emit events: %v", err)
		}
	}
	return all
}

// dispatcher returns a Dispatcher on st with the fixture's clock and keys.
func (f *fixture) dispatcher(st store.Store, schedule ...time.Duration) *notify.Dispatcher {
	if len(schedule) == 0 {
		schedule = []time.Duration{15 * time.Second, 15 * time.Second, 30 * time.Second}
	}
	return &notify.Dispatcher{Store: st, Unseal: f.box.Open, PlatformKey: f.priv, Clock: f.clock, Schedule: schedule,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}
