package metrics_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paygate/paygate/internal/channel"
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
	m.ReconDiscrepancies("cha", 1)
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
