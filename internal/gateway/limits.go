package gateway

import (
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/ratelimit"
)

// prepareLimits sets up the API's rate limits and load shedding: in this
// process, or shared through Redis when redis_url is set.
func (g *Gateway) prepareLimits() error {
	rates, err := api.ParseRates(g.Config.RateLimits)
	if err != nil {
		return err
	}
	var limiter ratelimit.Limiter = &ratelimit.Memory{}
	if g.Config.RedisURL != "" {
		c, err := ratelimit.ParseRedisURL(g.Config.RedisURL)
		if err != nil {
			return err
		}
		g.closers = append(g.closers, c.Close)
		var lastLog atomic.Int64
		limiter = &ratelimit.Redis{Client: c, OnError: func(err error) {
			// Once in a while, not once a request.
			now := time.Now().Unix()
			if last := lastLog.Load(); now-last >= 10 && lastLog.CompareAndSwap(last, now) {
				g.Log.Warn("rate limits: Redis failed; this node limits on its own meanwhile", "err", err)
			}
		}}
	}
	max := g.Config.MaxInFlight
	g.API.Limits = &api.Limits{Limiter: limiter, Rates: rates,
		Shedder: ratelimit.NewShedder(max, max/4+1, g.Config.MaxQueueTime)}
	return nil
}
