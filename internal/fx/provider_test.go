package fx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite/sqlitetest"
)

// TestHTTPProviderJob: the rates job loads a URL's CSV, with the URL's host
// as the source of rows that name none, once per rate; a URL that fails
// loads nothing and says why.
func TestHTTPProviderJob(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 1, 0, 0, 0, time.UTC)
	body := "base,quote,rate,as_of,source\nUSD,CNY,7.1234,2026-03-15T00:00:00Z,\nEUR,CNY,7.75,2026-03-15T00:00:00Z,ecb\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rates.csv" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	st := sqlitetest.Open(t)
	svc := &fx.Service{Store: st, Clock: clock.NewFake(now)}
	job := svc.Job(fx.HTTPProvider{URL: srv.URL + "/rates.csv"}, time.Hour)
	for range 2 {
		if err := job.Run(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	rates, _, err := st.FXRateList(ctx, store.FXRateFilter{})
	if err != nil || len(rates) != 2 {
		t.Fatalf("rates: %v %+v", err, rates)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, r := range rates {
		if (r.Base == "USD" && r.Source != host) || (r.Base == "EUR" && r.Source != "ecb") {
			t.Fatalf("rate %+v", r)
		}
	}
	if err := svc.Job(fx.HTTPProvider{URL: srv.URL + "/missing"}, time.Hour).Run(ctx, now); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a failing URL: %v", err)
	}
}
