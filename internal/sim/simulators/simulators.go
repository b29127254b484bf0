// Package simulators builds any of the channel simulators by provider name,
// for paygate sim and the gateway's demo (serve --simulators).
package simulators

import (
	"fmt"

	"github.com/paygate/paygate/internal/sim"
	"github.com/paygate/paygate/internal/sim/alipay"
	"github.com/paygate/paygate/internal/sim/unionpay"
	"github.com/paygate/paygate/internal/sim/wechatpay"
)

// Providers are the simulated providers, in the order the demo starts them.
var Providers = []string{"wechatpay", "alipay", "unionpay"}

// New returns the simulator of provider.
func New(provider string, o sim.Options) (sim.Simulator, error) {
	switch provider {
	case "wechatpay":
		return of(wechatpay.New(o))
	case "alipay":
		return of(alipay.New(o))
	case "unionpay":
		return of(unionpay.New(o))
	}
	return nil, fmt.Errorf("no simulator of %q (have wechatpay, alipay, unionpay)", provider)
}

// of returns s as a sim.Simulator, or nil (not a nil *T inside the interface) with err.
func of[T sim.Simulator](s T, err error) (sim.Simulator, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
