package gateway

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/internal/jobs"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/ratelimit"
)

// InFlightPerCPU is the default of max_in_flight per CPU the process may
// use (GOMAXPROCS). Measured on a 2-CPU machine creating orders on SQLite
// (BENCHMARKS.md, "Load shedding"): 16 in flight gave the most orders per
// second with p99 near 50 ms; 32 gave fewer and twice the latency, and
// 512, the former default, let an overload queue inside the process for
// seconds.
const InFlightPerCPU = 8

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
	// Expired OAuth tokens are deleted hourly (a day after they expired,
	// so a late request still learns its token expired rather than that it
	// never existed).
	g.Jobs.Jobs = append(g.Jobs.Jobs, jobs.Job{Name: "oauth_token_purge", Next: jobs.Every(time.Hour),
		Run: func(ctx context.Context, now time.Time) error {
			_, err := g.Store.OAuthTokenPurge(ctx, now.Add(-24*time.Hour))
			return err
		}})
	max := g.Config.MaxInFlight
	if max == 0 {
		max = InFlightPerCPU * runtime.GOMAXPROCS(0)
	}
	shedder := ratelimit.NewShedder(max, max/4+1, g.Config.MaxQueueTime)
	g.API.Limits = &api.Limits{Limiter: limiter, Rates: rates, Shedder: shedder}
	if t := g.Config.ShedLatencyTarget; t > 0 {
		g.background = append(g.background, func(ctx context.Context) {
			shedder.Adapt(ctx, ratelimit.Adapter{Target: t, Min: min(runtime.GOMAXPROCS(0), max)})
		})
	}
	return nil
}
