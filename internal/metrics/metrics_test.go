package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/metrics"
)

// deploy is the repository's deploy directory.
var deploy = filepath.Join("..", "..", "deploy")

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

func TestAlertRulesPromtool(t *testing.T) {
	pt := promtool(t)
	dir := filepath.Join(deploy, "prometheus")
	for _, args := range [][]string{{"check", "rules", "paygate-rules.yml"}, {"test", "rules", "paygate-rules.test.yml"}} {
		cmd := exec.Command(pt, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// described returns the names of every metric New registers.
func described(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	m.CollectBacklog(nil, time.Now)
	m.CollectDiscrepancies(nil)
	m.CollectChannelHealth(func() []metrics.ChannelHealth { return nil })
	ch := make(chan *prometheus.Desc, 1000)
	go func() { m.Registry.Describe(ch); close(ch) }()
	names := map[string]bool{}
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if s := re.FindStringSubmatch(d.String()); s != nil {
			names[s[1]] = true
		}
	}
	return names
}

// TestDeployedMetricsExist checks that the alert rules and the dashboard
// use only metrics Paygate exports (a renamed metric would silence an
// alert).
func TestDeployedMetricsExist(t *testing.T) {
	names := described(t)
	if !names["paygate_http_requests_total"] || !names["paygate_webhook_backlog"] {
		t.Fatalf("described metrics look wrong: %v", names)
	}
	used := regexp.MustCompile(`\b(paygate_[a-z0-9_]+)`)
	for _, f := range []string{filepath.Join(deploy, "prometheus", "paygate-rules.yml"), filepath.Join(deploy, "grafana", "paygate-dashboard.json")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			name := m[1]
			base := name
			for _, suf := range []string{"_bucket", "_count", "_sum"} {
				base = strings.TrimSuffix(base, suf)
			}
			if !names[name] && !names[base] {
				t.Errorf("%s uses %s, which Paygate does not export", filepath.Base(f), name)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s uses no paygate metric", f)
		}
	}
}

// TestNilMetricsRecordNothing: a nil *Metrics (metrics off) is safe to call.
func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	r := m.HTTPRoute("/v1/orders", "POST")
	r.Start()
	r.Observe(200, time.Now())
	m.OrderCreated("card", "sandbox", false)
	m.OrderFinished("card", "sandbox", false, "succeeded")
	m.ChannelCall("cha", "sandbox", "pay", "ok", time.Millisecond)
	m.RiskDecision("allow", nil)
	m.WebhookAttempt("succeeded", time.Millisecond)
	m.GroupCommit(3, time.Millisecond)
	m.JobRun("x", time.Now(), time.Now(), time.Second, nil)
	m.Settled("CNY", 5)
	m.LedgerVerified(time.Now(), 0)
}

// TestHTTPRouteObserveAllocatesNothing: a request's metrics are a few
// atomic adds on children bound when the router was built.
func TestHTTPRouteObserveAllocatesNothing(t *testing.T) {
	r := metrics.New().HTTPRoute("/v1/orders", "POST")
	start := time.Now()
	if n := testing.AllocsPerRun(1000, func() { r.Start(); r.Observe(201, start) }); n != 0 {
		t.Fatalf("Observe allocates %v times per request, want 0", n)
	}
}

func TestChannelOutcome(t *testing.T) {
	for err, want := range map[error]string{
		nil: "ok", channel.ErrDeclined: "declined", channel.ErrUnavailable: "unavailable",
		channel.ErrUnknownOutcome: "unknown", errors.New("boom"): "error", channel.ErrTradeNotFound: "not_found",
	} {
		if got := metrics.ChannelOutcome(err); got != want {
			t.Errorf("ChannelOutcome(%v) = %s, want %s", err, got, want)
		}
	}
}

// BenchmarkCreateOrderMetrics is what the metrics cost one create-order:
// the request's route, the order counter, the channel call and a share of
// a group commit.
func BenchmarkCreateOrderMetrics(b *testing.B) {
	m := metrics.New()
	r := m.HTTPRoute("/v1/orders", "POST")
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		r.Start()
		m.OrderCreated("sandbox", "sandbox", false)
		m.ChannelCall("cha_sandbox", "sandbox", "pay", "ok", time.Millisecond)
		m.GroupCommit(8, time.Millisecond)
		r.Observe(201, start)
	}
}

type fakeBacklog struct {
	n      int
	oldest time.Time
}

type fakeDiscrepancies map[string]int

func (f fakeDiscrepancies) DiscrepanciesOpenByAccount(context.Context) (map[string]int, error) {
	return f, nil
}

func (f fakeBacklog) DeliveriesBacklog(context.Context) (int, time.Time, error) {
	return f.n, f.oldest, nil
}

// exposition renders m's registry in the text format.
func exposition(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// TestScrapeTimeCollectors: the backlog's age and the breakers are read
// when scraped.
func TestScrapeTimeCollectors(t *testing.T) {
	m := metrics.New()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	m.CollectBacklog(fakeBacklog{n: 7, oldest: now.Add(-11 * time.Minute)}, func() time.Time { return now })
	m.CollectChannelHealth(func() []metrics.ChannelHealth {
		return []metrics.ChannelHealth{{Account: "cha_a", Breaker: "open", SuccessRate: 0.25, Samples: 8}, {Account: "cha_b", Breaker: "closed", SuccessRate: 1}}
	})
	m.CollectDiscrepancies(fakeDiscrepancies{"cha_a": 3})
	text := exposition(t, m)
	for _, want := range []string{
		"paygate_webhook_backlog 7", "paygate_webhook_oldest_due_age_seconds 660",
		`paygate_channel_breaker_state{channel_account="cha_a"} 2`, `paygate_channel_breaker_state{channel_account="cha_b"} 0`,
		`paygate_channel_success_ratio{channel_account="cha_a"} 0.25`, `paygate_channel_recent_calls{channel_account="cha_a"} 8`,
		`paygate_recon_discrepancies{channel_account="cha_a"} 3`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestRecordedFigures: the typed methods land in the series the rules and
// the dashboard read.
func TestRecordedFigures(t *testing.T) {
	m := metrics.New()
	m.RiskDecision("block", []metrics.RiskRule{{Name: "velocity", Action: "block", Mode: "enforce", Platform: true},
		{Name: "my_secret_rule_name", Action: "review", Mode: "observe"}})
	m.Settled("CNY", 9940)
	m.LedgerVerified(time.Unix(1700000000, 0), 2)
	due := time.Unix(1700000000, 0)
	m.JobRun("settlement", due, due.Add(90*time.Second), time.Second, nil)
	m.JobRun("billing", due, due, time.Second, errors.New("x"))
	m.WebhookAttempt("retry", 0)
	text := exposition(t, m)
	for _, want := range []string{
		`paygate_risk_decisions_total{decision="block"} 1`,
		`paygate_risk_rule_hits_total{action="block",mode="enforce",rule="velocity"} 1`,
		`paygate_risk_rule_hits_total{action="review",mode="observe",rule="merchant"} 1`,
		`paygate_settlement_net_amount_total{currency="CNY"} 9940`, `paygate_settlements_total{currency="CNY"} 1`,
		"paygate_ledger_verify_problems 2", "paygate_ledger_verify_ok 0", "paygate_ledger_verify_last_run_timestamp_seconds 1.7e+09",
		`paygate_job_lag_seconds{scheduled_job="settlement"} 90`, `paygate_job_runs_total{outcome="error",scheduled_job="billing"} 1`,
		`paygate_job_last_success_timestamp_seconds{scheduled_job="settlement"} 1.700000091e+09`,
		`paygate_webhook_deliveries_total{outcome="retry"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, "my_secret_rule_name") {
		t.Error("a merchant's rule name is a label value")
	}
}

// TestConnectorKeepsCapabilities: the wrapped sandbox still has the
// agreements and transfers capabilities, its calls are counted, and
// channel.Unwrap reaches the sandbox itself.
func TestConnectorKeepsCapabilities(t *testing.T) {
	m := metrics.New()
	sb := sandbox.New(clock.Real{})
	c := m.Connector("cha_sbx", sb)
	if channel.Unwrap(c) != channel.Connector(sb) {
		t.Fatal("Unwrap does not return the sandbox")
	}
	if _, err := channel.AgreementsOf(c); err != nil {
		t.Fatalf("agreements lost: %v", err)
	}
	tr, err := channel.TransfersOf(c)
	if err != nil {
		t.Fatalf("transfers lost: %v", err)
	}
	if _, err := tr.Transfer(context.Background(), channel.TransferRequest{TransferID: "trf_1", Amount: 100, Currency: "CNY", Account: "payee"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(exposition(t, m), `paygate_channel_calls_total{channel_account="cha_sbx",operation="transfer",outcome="ok",provider="sandbox"} 1`+"\n") {
		t.Fatal("the transfer is not counted")
	}
}
