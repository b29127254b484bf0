package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
)

// TestHostedRefusesLoopbackTargets: on a hosted gateway a test key cannot
// point notifications at the gateway's own machine — neither an order's or
// a refund's notify_url nor a webhook endpoint — while a gateway for local
// development (the default, and the demo) takes them.
func TestHostedRefusesLoopbackTargets(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			hosted := startWith(t, kind, func(c *gateway.Config) { c.Hosted = true })
			local := start(t, kind)
			for _, url := range []string{"http://127.0.0.1:6379/", "http://localhost:8080/hook", "http://[::1]:9/hook"} {
				p := orderParams("hosted-1", 100)
				p.NotifyURL = url
				_, err := hosted.demo.CreateOrder(ctx, p)
				if ae := apiErr(t, err, 400, "notify_url_invalid"); !strings.Contains(ae.Message, "loopback") {
					t.Errorf("order notify_url %s refused with %q, want it to say loopback", url, ae.Message)
				}
				_, err = hosted.demo.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: url, EnabledEvents: []string{"*"}})
				apiErr(t, err, 400, "url_invalid")

				p.OutTradeNo = "local-" + strings.NewReplacer(":", "", "/", "", "[", "", "]", "", ".", "").Replace(url)
				if _, err := local.demo.CreateOrder(ctx, p); err != nil {
					t.Errorf("local development gateway refused test-mode notify_url %s: %v", url, err)
				}
				if _, err := local.demo.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: url, EnabledEvents: []string{"*"}}); err != nil {
					t.Errorf("local development gateway refused test-mode endpoint %s: %v", url, err)
				}
			}
			o := paidOrder(t, hosted.demo, "hosted-paid", 500)
			_, err := hosted.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: "r1", Amount: 100, NotifyURL: "http://127.0.0.1:9/refund"})
			apiErr(t, err, 400, "notify_url_invalid")
		})
	}
}
