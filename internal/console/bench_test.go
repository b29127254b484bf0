package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// BenchmarkConsole measures the console's pages and its export on a large
// database: PAYGATE_CONSOLE_BENCH_ORDERS orders (default 100 000) over the
// last 30 days, three merchants, four methods, most succeeded. The SQLite
// database is kept in PAYGATE_CONSOLE_BENCH_DIR when set, so that a
// million-order seed is made once:
//
//	PAYGATE_CONSOLE_BENCH_ORDERS=1000000 PAYGATE_CONSOLE_BENCH_DIR=/tmp/cb \
//	  go test ./internal/console -run '^$' -bench Console -benchtime 5x
//
// With PAYGATE_CONSOLE_BENCH_POSTGRES=1 (and PAYGATE_TEST_POSTGRES) it runs
// on PostgreSQL, seeded afresh.
func BenchmarkConsole(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("PAYGATE_CONSOLE_BENCH_ORDERS")); err == nil && v > 0 {
		n = v
	}
	var st store.Store
	if os.Getenv("PAYGATE_CONSOLE_BENCH_POSTGRES") != "" {
		st = postgrestest.Open(b, postgrestest.URL(b))
	} else {
		dir := os.Getenv("PAYGATE_CONSOLE_BENCH_DIR")
		if dir == "" {
			dir = b.TempDir()
		}
		s, err := sqlite.Open(filepath.Join(dir, fmt.Sprintf("console-%d.db", n)))
		if err != nil {
			b.Fatal(err)
		}
		st = s
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	seed := seedOrders(b, st, n)
	t0 := time.Now()
	if err := console.Rollup(ctx, st, time.Now()); err != nil {
		b.Fatal(err)
	}
	b.Logf("rollup of the closed days: %s", time.Since(t0).Round(time.Millisecond))

	h := console.New(console.Config{Store: st, Payments: &payment.Service{Store: st, Clock: clock.Real{}},
		Accounts: &account.Service{Store: st, Clock: clock.Real{}}, Clock: clock.Real{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(h)
	defer srv.Close()
	email := "bench@example.com"
	if _, err := st.ConsoleUserByEmail(ctx, email); err != nil {
		if _, _, err := (&console.Users{Store: st, Clock: clock.Real{}}).Add(ctx, console.NewUser{Kind: store.ConsoleOperator,
			Email: email, Password: testPassword}); err != nil {
			b.Fatal(err)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	u := &user{t: &testing.T{}, base: srv.URL, c: c}
	u.get("/console/login")
	if r := u.post("/console/login", url.Values{"email": {email}, "password": {testPassword}}); r.status != http.StatusOK {
		b.Fatalf("login: %d", r.status)
	}
	week := time.Now().UTC().AddDate(0, 0, -7).Format("2006-01-02")
	pages := []struct{ name, path string }{
		{"overview-14d-cold", "/console/"},
		{"overview-14d", "/console/"},
		{"overview-30d", "/console/?days=30"},
		{"orders", "/console/orders"},
		{"orders-filtered", "/console/orders?status=failed&method=card&min=5000&max=9000&from=" + week},
		{"orders-one-merchant", "/console/orders?merchant=" + seed.merchants[2]},
		{"orders-page-100", "/console/orders?before=" + seed.mid},
		{"order", "/console/orders/" + seed.order},
		{"search-channel-trade-no", "/console/search?q=" + seed.tradeNo},
		{"search-payer", "/console/search?q=" + seed.payer},
		{"webhooks", "/console/webhooks"},
		{"orders-amount-desc", "/console/orders?sort=amount_desc"},
		{"orders-amount-asc-one-merchant", "/console/orders?sort=amount_asc&merchant=" + seed.merchants[1]},
		{"orders-amount-desc-failed", "/console/orders?sort=amount_desc&status=failed"},
		{"orders-amount-desc-7d", "/console/orders?sort=amount_desc&from=" + week},
		{"orders-amount-desc-page-100", "/console/orders?sort=amount_desc&before=" + url.QueryEscape(seed.midAmount)},
		{"channels-24h-cold", "/console/channels"},
		{"channels-24h", "/console/channels"},
		{"channels-48h-cold", "/console/channels?hours=48"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				if strings.HasSuffix(p.name, "-cold") {
					h.ForgetStats()
				}
				res, err := c.Get(srv.URL + p.path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", p.path, res.StatusCode)
				}
			}
		})
	}
	for _, e := range []struct{ name, query string }{
		{"export-alipay-7d", "?method=alipay.qr&status=succeeded&from=" + week},
		{"export-all", ""},
		{"export-amount-desc-7d", "?sort=amount_desc&from=" + week},
	} {
		b.Run(e.name, func(b *testing.B) {
			var rows int64
			var peak atomic.Uint64
			for b.Loop() {
				done := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { // sample the heap while the export runs
					defer wg.Done()
					var ms runtime.MemStats
					for {
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
						select {
						case <-done:
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}()
				res, err := c.Get(srv.URL + "/console/orders.csv" + e.query)
				if err != nil {
					b.Fatal(err)
				}
				n, err := countLines(res.Body)
				res.Body.Close()
				close(done)
				wg.Wait()
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatalf("export: %d %v", res.StatusCode, err)
				}
				rows = n - 1
			}
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		})
	}
}

func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(strings.Count(string(buf[:k]), "\n"))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

type seeded struct {
	merchants             []string
	order, tradeNo, payer string
	mid                   string // an id about a third of the way down the list
	midAmount             string // the cursor 5 000 rows down the list by amount, high to low
}

// seedOrders writes n orders through the store (OrderCreate, eight at a
// time), oldest first over the last 30 days, unless the store has them.
func seedOrders(b *testing.B, st store.Store, n int) seeded {
	ctx := context.Background()
	var s seeded
	ms, _, err := st.MerchantList(ctx, store.ListParams{Limit: 10})
	if err != nil {
		b.Fatal(err)
	}
	box, err := cryptobox.New(make([]byte, cryptobox.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	acc := &account.Service{Store: st, Clock: clock.Real{}, Box: box}
	apps := map[string]string{}
	if len(ms) < 3 {
		for i := 0; i < 3; i++ {
			m, err := acc.CreateMerchant(ctx, account.MerchantParams{Name: fmt.Sprintf("Bench %d", i)})
			if err != nil {
				b.Fatal(err)
			}
			na, err := acc.CreateApp(ctx, m.ID, account.AppParams{Name: "bench", Mode: "test"})
			if err != nil {
				b.Fatal(err)
			}
			apps[m.ID] = na.App.ID
			s.merchants = append(s.merchants, m.ID)
		}
	} else {
		for _, m := range ms[:3] {
			as, _, _ := st.AppList(ctx, m.ID, store.ListParams{Limit: 1})
			apps[m.ID] = as[0].ID
			s.merchants = append(s.merchants, m.ID)
		}
	}
	have, _, _ := st.ConsoleOrders(ctx, store.ConsoleOrderFilter{Limit: 1})
	if len(have) == 0 {
		start := time.Now()
		end := time.Now().UTC()
		from := end.AddDate(0, 0, -30)
		step := end.Sub(from) / time.Duration(n)
		rng := rand.New(rand.NewPCG(1, 2))
		methods := []string{"alipay.qr", "wechat.native", "card", "sandbox"}
		// Written with multi-row INSERTs (one transaction each): through
		// OrderCreate a million orders took most of an hour on a shared
		// machine. Ids are real ones, made in time order.
		x, ok := st.(interface {
			ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
		})
		if !ok {
			b.Fatal("the store cannot run raw SQL")
		}
		const rows = 400
		row := "(?, ?, ?, FALSE, ?, ?, 'CNY', 'Bench order', '', ?, ?, 'sandbox', ?, 0, NULL, ?, '', NULL, '{}', ?, '', '', 'x', ?, ?, ?, ?, ?, 'cha_bench')"
		insert := `INSERT INTO orders (id, merchant_id, app_id, livemode, out_trade_no, amount, currency, subject, description, method,
			status, channel, channel_trade_no, amount_refunded, next_action, failure_code, failure_message, risk, metadata,
			payer, notify_url, return_url, request_hash, created_at, updated_at, expires_at, paid_at, closed_at, channel_account_id) VALUES `
		for done := 0; done < n; done += rows {
			var args []any
			k := min(n, done+rows) - done
			for i := done; i < done+k; i++ {
				at := from.Add(step * time.Duration(i))
				m := s.merchants[rng.IntN(3)]
				status, tradeNo, failure := "succeeded", fmt.Sprintf("T%d", i), ""
				var paid, closed any
				switch r := rng.IntN(10); {
				case r < 7:
					paid = at.Add(time.Second).UnixMicro()
				case r < 9:
					status, tradeNo, closed = "closed", "", at.Add(time.Hour).UnixMicro()
				default:
					status, tradeNo, failure = "failed", "", "card_declined"
				}
				args = append(args, id.New(id.Order, at), m, apps[m], fmt.Sprintf("b%08d", i), int64(100+rng.IntN(20000)),
					methods[rng.IntN(4)], status, tradeNo, failure, fmt.Sprintf(`{"id":"payer-%d"}`, rng.IntN(50000)),
					at.UnixMicro(), at.UnixMicro(), at.Add(2*time.Hour).UnixMicro(), paid, closed)
			}
			if _, err := x.ExecRaw(ctx, insert+strings.TrimSuffix(strings.Repeat(row+", ", k), ", "), args...); err != nil {
				b.Fatal(err)
			}
		}
		for _, table := range []string{"orders"} {
			if _, err := x.ExecRaw(ctx, `ANALYZE `+table); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("seeded %d orders in %s", n, time.Since(start).Round(time.Second))
	}
	os, _, err := st.ConsoleOrders(ctx, store.ConsoleOrderFilter{Status: "succeeded", Limit: 1})
	if err != nil || len(os) == 0 {
		b.Fatalf("no seeded order: %v", err)
	}
	s.order, s.tradeNo, s.payer = os[0].ID, os[0].ChannelTradeNo, os[0].Payer.ID
	page, _, err := st.ConsoleOrders(ctx, store.ConsoleOrderFilter{Limit: 5000})
	if err != nil {
		b.Fatal(err)
	}
	s.mid = page[len(page)-1].ID
	if page, _, err = st.ConsoleOrders(ctx, store.ConsoleOrderFilter{Sort: store.SortAmountDesc, Limit: 5000}); err != nil {
		b.Fatal(err)
	}
	last := page[len(page)-1]
	s.midAmount = store.ConsoleCursor(store.SortAmountDesc, last.Amount, last.ID)
	return s
}
