package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store/sqlstore"
	"github.com/paygate/paygate/internal/tracing"
)

// scrape GETs url and returns the body.
func scrape(t testing.TB, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// series is one sample of the text exposition format.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the samples of a text exposition (label values here
// hold no commas or escaped quotes).
func parseMetrics(t testing.TB, text string) []series {
	t.Helper()
	var out []series
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		s := series{name: line[:sp], labels: map[string]string{}, value: v}
		if i := strings.IndexByte(s.name, '{'); i >= 0 {
			for _, kv := range strings.Split(strings.TrimSuffix(s.name[i+1:], "}"), ",") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					s.labels[k] = strings.Trim(v, `"`)
				}
			}
			s.name = s.name[:i]
		}
		out = append(out, s)
	}
	return out
}

// sum adds the samples of name whose labels include want.
func sum(all []series, name string, want map[string]string) (float64, bool) {
	total, found := 0.0, false
	for _, s := range all {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			total += s.value
			found = true
		}
	}
	return total, found
}

// withAdmin gives the gateway an operator listener on a free loopback port.
func withAdmin(c *gateway.Config) { c.AdminAddr = "127.0.0.1:0" }

// promtool returns promtool's path; without it the test is skipped, or
// fails under CI (.ci/run installs Debian's prometheus package).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool is missing: .ci/run installs Debian's prometheus package")
		}
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	return p
}

// idLike matches the ids Paygate makes (ord_…, rfd_…, req_…), which must
// never be label values; channel accounts (cha_…) are the operator's few.
var idLike = regexp.MustCompile(`^(ord|rfd|req|evt|mch|app|dlv|jnl|stl|rsk)_`)

func TestMonitoringMetrics(t *testing.T) {
	eachStoreWith(t, withAdmin, func(t *testing.T, e *env) {
		admin := "http://" + e.g.AdminAddr()
		const paid, open = 3, 2
		for i := range paid {
			paidOrder(t, e.demo, fmt.Sprintf("mon-paid-%d", i), 100)
		}
		ctx := context.Background()
		for i := range open {
			if _, err := e.demo.CreateOrder(ctx, orderParams(fmt.Sprintf("mon-open-%d", i), 100)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.demo.GetOrder(ctx, "ord_nope"); err == nil {
			t.Fatal("GET of a missing order succeeded")
		}

		// Two open discrepancies of one account and a resolved one, as a
		// reconciliation run leaves them (no FK: the run need not exist).
		for i, status := range []string{"open", "open", "resolved"} {
			if _, err := e.g.Store.(*sqlstore.Store).ExecRaw(ctx, `INSERT INTO recon_discrepancies (id, run_id, channel_account_id,
				livemode, bill_date, class, ref_kind, ref_id, merchant_id, channel_trade_no, channel_refund_no, line_no, bill_amount,
				bill_fee, gateway_amount, currency, detail, status, action, note, resolved_by, dedupe_key, created_at, updated_at)
				VALUES (?, 'rrn_x', 'cha_mon', false, '2026-12-01', 'amount_mismatch', 'payment', '', '', '', '', 1, 100, 0, 90, 'CNY', '',
				?, '', '', '', ?, 0, 0)`, fmt.Sprintf("dsc_mon%d", i), status, fmt.Sprintf("mon-%d", i)); err != nil {
				t.Fatal(err)
			}
		}

		// Never on the public port.
		for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
			if st, body := scrape(t, e.url+p); st != http.StatusNotFound || strings.Contains(body, "paygate_http_requests_total") {
				t.Errorf("public port GET %s = %d, want 404 without metrics", p, st)
			}
		}
		if st, _ := scrape(t, admin+"/debug/pprof/"); st != 200 {
			t.Errorf("admin GET /debug/pprof/ = %d", st)
		}

		st, text := scrape(t, admin+"/metrics")
		if st != 200 {
			t.Fatalf("admin GET /metrics = %d", st)
		}
		all := parseMetrics(t, text)
		check := func(name string, labels map[string]string, want float64) {
			t.Helper()
			got, ok := sum(all, name, labels)
			if !ok || got != want {
				t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
			}
		}
		check("paygate_http_requests_total", map[string]string{"route": "/v1/orders", "method": "POST", "code": "2xx"}, paid+open)
		check("paygate_http_requests_total", map[string]string{"route": "/v1/test/orders/{id}/pay", "method": "POST", "code": "2xx"}, paid)
		check("paygate_http_requests_total", map[string]string{"route": "/v1/orders/{id}", "method": "GET", "code": "4xx"}, 1)
		check("paygate_http_request_duration_seconds_count", map[string]string{"route": "/v1/orders", "method": "POST"}, paid+open)
		check("paygate_orders_created_total", map[string]string{"method": "sandbox", "provider": "sandbox", "mode": "test"}, paid+open)
		check("paygate_orders_finished_total", map[string]string{"method": "sandbox", "status": "succeeded", "mode": "test"}, paid)
		check("paygate_risk_decisions_total", map[string]string{"decision": "allow"}, paid+open)
		check("paygate_recon_discrepancies", map[string]string{"channel_account": "cha_mon"}, 2)
		// The worker's first pass runs at start, beside the requests.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, text := scrape(t, admin+"/metrics")
			if n, _ := sum(parseMetrics(t, text), "paygate_job_runs_total", map[string]string{"scheduled_job": "payment_worker", "outcome": "ok"}); n >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no payment worker pass is counted")
			}
		}
		if n, _ := sum(all, "paygate_channel_calls_total", map[string]string{"provider": "sandbox", "operation": "pay", "outcome": "ok"}); n < paid+open {
			t.Errorf("sandbox pay calls = %v, want at least %d", n, paid+open)
		}
		for _, name := range []string{"paygate_webhook_backlog", "paygate_webhook_oldest_due_age_seconds", "paygate_channel_breaker_state",
			"paygate_channel_success_ratio", "go_goroutines", "process_cpu_seconds_total", "go_sql_open_connections",
			"paygate_ledger_verify_problems", "paygate_http_requests_in_flight", "paygate_shed_bound", "paygate_shed_in_flight", "paygate_shed_refused_total", "paygate_shed_stale_total"} {
			if _, ok := sum(all, name, nil); !ok {
				t.Errorf("%s is missing", name)
			}
		}
		for _, s := range all {
			for k, v := range s.labels {
				if idLike.MatchString(v) {
					t.Errorf("%s has an id as label %s=%q", s.name, k, v)
				}
			}
		}
		if n, _ := sum(all, "paygate_store_group_commit_batch_size_count", nil); n == 0 && t.Name() == "TestMonitoringMetrics/sqlite" {
			t.Error("group commit batches are not observed on SQLite")
		}

		// The exposition passes promtool's lint.
		if t.Name() == "TestMonitoringMetrics/sqlite" {
			cmd := exec.Command(promtool(t), "check", "metrics")
			cmd.Stdin = strings.NewReader(text)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool check metrics: %v\n%s", err, out)
			}
		}
	})
}

// TestMonitoringLedgerVerifyJob runs the ledger_verify job and reads its
// result from the metrics.
func TestMonitoringLedgerVerifyJob(t *testing.T) {
	e := startWith(t, "sqlite", withAdmin)
	paidOrder(t, e.demo, "lv-1", 500)
	ran := e.g.Jobs.RunOnce(context.Background())
	_, text := scrape(t, "http://"+e.g.AdminAddr()+"/metrics")
	all := parseMetrics(t, text)
	if v, ok := sum(all, "paygate_ledger_verify_ok", nil); !ok || v != 1 {
		t.Fatalf("paygate_ledger_verify_ok = %v (present %v) after jobs %v, want 1", v, ok, ran)
	}
	if v, _ := sum(all, "paygate_ledger_verify_problems", nil); v != 0 {
		t.Fatalf("paygate_ledger_verify_problems = %v, want 0", v)
	}
	if v, _ := sum(all, "paygate_job_runs_total", map[string]string{"scheduled_job": "ledger_verify", "outcome": "ok"}); v < 1 {
		t.Fatalf("ledger_verify runs = %v, want at least 1", v)
	}
}

// installTracing records spans in memory for the test.
func installTracing(t *testing.T) *tracetest.InMemoryExporter {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracing.Install(tp)
	t.Cleanup(func() { tracing.Uninstall(); tp.Shutdown(context.Background()) })
	return exp
}

// spanText renders every span's name, attributes, events and status.
func spanText(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "%s %s %s\n", s.Name, s.Status.Code, s.Status.Description)
		for _, a := range s.Attributes {
			fmt.Fprintf(&b, "  %s=%s\n", a.Key, a.Value.String())
		}
		for _, ev := range s.Events {
			fmt.Fprintf(&b, "  event %s\n", ev.Name)
			for _, a := range ev.Attributes {
				fmt.Fprintf(&b, "    %s=%s\n", a.Key, a.Value.String())
			}
		}
	}
	return b.String()
}

// hookReceiver is a webhook endpoint on loopback that keeps what it got.
type hookReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hdrs []http.Header
	got  chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{got: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.hdrs = append(h.hdrs, r.Header.Clone())
		h.mu.Unlock()
		h.got <- struct{}{}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) wait(t *testing.T) http.Header {
	t.Helper()
	select {
	case <-h.got:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook arrived")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hdrs[len(h.hdrs)-1]
}

// TestMonitoringNoSecretsInLogsMetricsOrSpans plants canary secrets
// through real flows (a secret key used to authenticate, a webhook
// endpoint's secret used to sign deliveries, a full card number paid with,
// the master key the gateway runs on, the operator token) with debug logs
// and tracing on, and searches every log line, the metrics and every span.
func TestMonitoringNoSecretsInLogsMetricsOrSpans(t *testing.T) {
	exp := installTracing(t)
	logs := &lockedBuffer{}
	const masterKey = "c0ffee0102030405060708090a0b0c0d0e0f101112131415161718191a1b1cfe"
	e := startWith(t, "sqlite", func(c *gateway.Config) {
		withAdmin(c)
		c.MasterKey = masterKey
		c.Logger = gateway.NewLoggerFormat("debug", "json", logs)
	})
	ctx := context.Background()
	hooks := newHookReceiver(t)
	ep, err := e.demo.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: hooks.srv.URL + "/hooks", EnabledEvents: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	const card = "4242424242424242"
	st, body := e.postJSON(t, e.g.Demo.SecretKey, "/v1/orders", map[string]any{"out_trade_no": "canary-card", "amount": 700, "currency": "CNY",
		"subject": "Card", "method": "card", "card": map[string]any{"number": card, "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvc": "737"}})
	if st != 200 && st != 201 {
		t.Fatalf("card order: %d %s", st, body)
	}
	// A failing request too: a wrong key, a bad card.
	e.postJSON(t, e.g.Demo.SecretKey+"x", "/v1/orders", map[string]any{"out_trade_no": "canary-bad"})
	e.postJSON(t, e.g.Demo.SecretKey, "/v1/orders", map[string]any{"out_trade_no": "canary-bad", "amount": 700, "currency": "CNY",
		"subject": "Card", "method": "card", "card": map[string]any{"number": "4000000000000002", "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvc": "737"}})
	paidOrder(t, e.demo, "canary-sandbox", 300)
	hooks.wait(t)
	waitSpan(t, exp, "webhook deliver")

	// The attempt is counted once it is over (after the receiver answered).
	var metricsText string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, metricsText = scrape(t, "http://"+e.g.AdminAddr()+"/metrics")
		if n, _ := sum(parseMetrics(t, metricsText), "paygate_webhook_deliveries_total", map[string]string{"outcome": "succeeded"}); n >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no succeeded webhook attempt is counted")
		}
	}
	spans := spanText(exp.GetSpans())
	logText := logs.String()
	canaries := map[string]string{
		"secret key": e.g.Demo.SecretKey, "app webhook secret": e.g.Demo.WebhookSecret, "endpoint webhook secret": ep.Secret,
		"signing secret": e.g.Demo.SigningSecret, "card number": card, "declined card number": "4000000000000002",
		"master key": masterKey, "operator token": adminToken, "cvc": `"737"`,
	}
	for what, v := range canaries {
		if v == "" {
			t.Fatalf("canary %s is empty", what)
		}
		for where, text := range map[string]string{"logs": logText, "metrics": metricsText, "spans": spans} {
			if strings.Contains(text, v) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
	if !strings.Contains(spans, "POST /v1/orders") || !strings.Contains(spans, "channel pay") || !strings.Contains(spans, "webhook deliver") || !strings.Contains(spans, "store tx") {
		t.Errorf("spans lack a request, channel, webhook or store span:\n%s", spans)
	}

	// One log line per request, with its id, app, route, status, latency
	// and trace id.
	var requests int
	sc := bufio.NewScanner(strings.NewReader(logText))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if l["msg"] != "request" || l["route"] != "/v1/orders" {
			continue
		}
		requests++
		for _, k := range []string{"request_id", "status", "duration_ms", "trace_id"} {
			if _, ok := l[k]; !ok {
				t.Errorf("request log line lacks %s: %s", k, sc.Text())
			}
		}
		if l["status"] != float64(401) && l["app"] != e.g.Demo.App.ID {
			t.Errorf("request log line's app = %v, want %s: %s", l["app"], e.g.Demo.App.ID, sc.Text())
		}
	}
	if requests != 4 {
		t.Errorf("%d request lines for POST /v1/orders, want 4", requests)
	}
}

// postJSON POSTs body with a Bearer key and returns the status and answer.
func (e *env) postJSON(t *testing.T, key, path string, body any) (int, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.url+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestMonitoringTraceparent sends a request with a W3C traceparent: the
// gateway's span joins the caller's trace, and the webhook it causes is
// delivered in that trace, with the delivery span's traceparent.
func TestMonitoringTraceparent(t *testing.T) {
	exp := installTracing(t)
	e := startWith(t, "sqlite", func(c *gateway.Config) { c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	hooks := newHookReceiver(t)
	ctx := context.Background()
	if _, err := e.demo.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: hooks.srv.URL, EnabledEvents: []string{"order.succeeded"}}); err != nil {
		t.Fatal(err)
	}
	o, err := e.demo.CreateOrder(ctx, orderParams("tp-1", 100))
	if err != nil {
		t.Fatal(err)
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("POST", e.url+"/v1/test/orders/"+o.ID+"/pay", strings.NewReader(`{"outcome":"succeeded"}`))
	req.Header.Set("Authorization", "Bearer "+e.g.Demo.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("pay: %d", res.StatusCode)
	}
	var server *tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "POST /v1/test/orders/{id}/pay" {
			server = &s
		}
	}
	if server == nil {
		t.Fatalf("no span for the pay request; spans:\n%s", spanText(exp.GetSpans()))
	}
	if got := server.SpanContext.TraceID().String(); got != traceID {
		t.Fatalf("request span's trace = %s, want the caller's %s", got, traceID)
	}
	if got := server.Parent.SpanID().String(); got != "00f067aa0ba902b7" {
		t.Fatalf("request span's parent = %s, want the caller's span", got)
	}
	if !hasAttr(server.Attributes, "http.route", "/v1/test/orders/{id}/pay") {
		t.Fatalf("request span attributes %v lack http.route", server.Attributes)
	}

	// The home page (the site) has its span too.
	if st, _ := scrape(t, e.url+"/"); st != 200 {
		t.Fatalf("home page: %d", st)
	}
	waitSpan(t, exp, "GET site")

	h := hooks.wait(t)
	tp := h.Get("traceparent")
	deliver := waitSpan(t, exp, "webhook deliver")
	want := fmt.Sprintf("00-%s-%s-01", traceID, deliver.SpanContext.SpanID())
	if tp != want {
		t.Fatalf("webhook traceparent = %q, want the delivery span's %q in the caller's trace", tp, want)
	}
	// The delivery continues the trace of the request that wrote the event
	// (migration 0012 keeps its traceparent with the event).
	if got := deliver.Parent.TraceID().String(); got != traceID || !deliver.Parent.IsRemote() {
		t.Fatalf("delivery span's parent = %s (remote %v), want a span of the caller's trace %s", got, deliver.Parent.IsRemote(), traceID)
	}
}

// waitSpan waits for a span named name to end (a webhook's span ends after
// its receiver has answered) and returns it.
func waitSpan(t *testing.T, exp *tracetest.InMemoryExporter, name string) *tracetest.SpanStub {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, s := range exp.GetSpans() {
			if s.Name == name {
				return &s
			}
		}
	}
	t.Fatalf("no %q span", name)
	return nil
}

func hasAttr(attrs []attribute.KeyValue, key, value string) bool {
	for _, a := range attrs {
		if string(a.Key) == key && a.Value.String() == value {
			return true
		}
	}
	return false
}

// eachStoreWith is eachStore with the configuration adjusted by tweak.
func eachStoreWith(t *testing.T, tweak func(*gateway.Config), f func(t *testing.T, e *env)) {
	t.Helper()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, startWith(t, kind, tweak))
		})
	}
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// promQuery runs an instant query against Prometheus's HTTP API and returns
// the value of its only sample (ok false when the result is empty).
func promQuery(t *testing.T, base, q string) (float64, bool) {
	t.Helper()
	res, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer res.Body.Close()
	var out struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Status != "success" {
		t.Fatalf("query %s: %v %s %s", q, err, out.Status, out.Error)
	}
	if len(out.Data.Result) == 0 {
		return 0, false
	}
	if len(out.Data.Result) > 1 {
		t.Fatalf("query %s: %d samples, want one", q, len(out.Data.Result))
	}
	v, err := strconv.ParseFloat(out.Data.Result[0].Value[1].(string), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// TestMonitoringPrometheusScrape runs Debian's prometheus against a gateway
// under a short load and reads back, through Prometheus's HTTP API, what
// the test did: the orders counter and the request rate.
func TestMonitoringPrometheusScrape(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus is missing: .ci/run installs Debian's prometheus package")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	e := startWith(t, "sqlite", withAdmin)
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: paygate\n    static_configs:\n      - targets: [%q]\n", e.g.AdminAddr())
	if err := os.WriteFile(dir+"/prometheus.yml", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	var out lockedBuffer
	cmd := exec.Command(bin, "--config.file="+dir+"/prometheus.yml", "--storage.tsdb.path="+dir+"/data",
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	waitFor(t, "prometheus ready", &out, func() bool {
		res, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	// One request builds the router, whose routes' series start at 0.
	if _, err := e.demo.GetOrder(context.Background(), "ord_missing"); err == nil {
		t.Fatal("a missing order was found")
	}
	waitFor(t, "the gateway's target up", &out, func() bool {
		v, ok := promQuery(t, base, `up{job="paygate"}`)
		return ok && v == 1
	})

	// The load: 4 clients create 100 orders; 10 requests for a missing order.
	const orders, missing = 100, 10
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range orders / 4 {
				if _, err := e.demo.CreateOrder(context.Background(), orderParams(fmt.Sprintf("scrape-%d-%d", w, i), 100)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for range missing {
		e.demo.GetOrder(context.Background(), "ord_missing")
	}

	created := `sum(paygate_orders_created_total{job="paygate",method="sandbox",mode="test"})`
	waitFor(t, "the orders counter at "+strconv.Itoa(orders), &out, func() bool {
		v, _ := promQuery(t, base, created)
		return v == orders
	})
	if v, _ := promQuery(t, base, `sum(paygate_http_requests_total{job="paygate",route="/v1/orders",method="POST",code="2xx"})`); v != orders {
		t.Errorf("POST /v1/orders 2xx = %v, want %d", v, orders)
	}
	if v, _ := promQuery(t, base, `sum(paygate_http_requests_total{job="paygate",route="/v1/orders/{id}",method="GET",code="4xx"})`); v != missing+1 {
		t.Errorf("GET /v1/orders/{id} 4xx = %v, want %d", v, missing+1)
	}
	// The increase over the last minute covers the whole load (the series
	// exist, at 0, from before it): the orders made, within Prometheus's
	// extrapolation to the window's end.
	var inc float64
	waitFor(t, "the request rate", &out, func() bool {
		v, ok := promQuery(t, base, `sum(increase(paygate_http_requests_total{job="paygate",route="/v1/orders",method="POST"}[1m]))`)
		inc = v
		return ok && v >= orders
	})
	if inc > 1.5*orders {
		t.Errorf("requests over the last minute = %v, want about %d", inc, orders)
	}
	if rate, _ := promQuery(t, base, `sum(rate(paygate_http_requests_total{job="paygate",route="/v1/orders",method="POST"}[1m]))`); rate*60 < 0.9*orders || rate*60 > 1.5*orders {
		t.Errorf("request rate %v/s × 60 s = %v, want about %d", rate, rate*60, orders)
	}
}

// waitFor polls cond until it holds, failing with Prometheus's output after
// a minute (a bound, not a timing assertion).
func waitFor(t *testing.T, what string, out *lockedBuffer, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waiting for %s: gave up after a minute; prometheus said:\n%s", what, out.String())
}
