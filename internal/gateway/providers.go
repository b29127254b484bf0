package gateway

import (
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/alipay"
	"github.com/paygate/paygate/internal/channel/unionpay"
	"github.com/paygate/paygate/internal/channel/wechatpay"
)

// Providers are the channel providers built into Paygate, by name: the kinds
// of channel account an operator can create.
func Providers() map[string]channel.Provider {
	out := map[string]channel.Provider{}
	for _, p := range []channel.Provider{wechatpay.Provider, alipay.Provider, unionpay.Provider} {
		out[p.Name] = p
	}
	return out
}
