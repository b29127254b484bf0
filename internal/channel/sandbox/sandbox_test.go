package sandbox_test

import (
	"testing"

	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/clock"
)

func newHarness(t testing.TB) *channeltest.Harness {
	sb := sandbox.New(clock.Real{})
	return &channeltest.Harness{
		Connector:       sb,
		QRMethod:        "sandbox",
		OtherMethods:    []string{"wechat.jsapi", "alipay.page"},
		MicropayMethod:  "wechat.micropay",
		AuthCodeSuccess: "134567890123456789",
		PayerPays: func(t testing.TB, orderID, tradeNo string) {
			if err := sb.PayerActs(tradeNo, true); err != nil {
				t.Fatalf("payer acts on %s: %v", tradeNo, err)
			}
		},
	}
}

func TestConformance(t *testing.T) { channeltest.Run(t, newHarness) }

// BenchmarkConnector measures trade creates and queries against the
// simulator over loopback HTTP, signatures included.
func BenchmarkConnector(b *testing.B) { channeltest.Bench(b, newHarness) }
