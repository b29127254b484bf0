package sandbox_test

import (
	"testing"

	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/clock"
)

func TestConformance(t *testing.T) {
	channeltest.Run(t, func(t *testing.T) *channeltest.Harness {
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
	})
}
