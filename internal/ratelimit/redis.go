package ratelimit

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is one GCRA step in Redis, on Redis's clock, in microseconds.
// KEYS[1] holds the TAT; ARGV are the interval and the burst tolerance. It
// answers {allowed, retry_after, reset}. The TAT is written with %.0f:
// Lua's tostring would round a 16-digit number into 1.7e+15.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local nxt = tat + interval
local allow_at = nxt - tau
if now < allow_at then
  return {0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
return {1, 0, nxt - now}
`)

// Redis is a Limiter shared by every node through Redis.
type Redis struct {
	Client redis.UniversalClient
	// Prefix starts every key ("paygate:rl:" when empty).
	Prefix string
	// OnError, when set, hears of each failed Redis call; the request is
	// then decided by Fallback, this node's own limiter.
	OnError  func(error)
	Fallback Memory

	failures atomic.Int64
}

// Failures counts the calls Fallback decided because Redis failed.
func (l *Redis) Failures() int64 { return l.failures.Load() }

// Allow implements Limiter.
func (l *Redis) Allow(ctx context.Context, key string, rate Rate) (Result, error) {
	if rate.Unlimited() {
		return Result{Allowed: true}, nil
	}
	prefix := l.Prefix
	if prefix == "" {
		prefix = "paygate:rl:"
	}
	k := prefix + key
	// A slow Redis must not hold requests: past a short bound, the node decides.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	v, err := gcraScript.Run(cctx, l.Client, []string{k},
		rate.interval().Microseconds(), rate.Period.Microseconds()).Int64Slice()
	if err != nil || len(v) != 3 {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		l.failures.Add(1)
		if l.OnError != nil {
			if err == nil {
				err = redis.Nil
			}
			l.OnError(err)
		}
		return l.Fallback.Allow(ctx, key, rate)
	}
	res := Result{Allowed: v[0] == 1, Limit: rate.Count,
		RetryAfter: time.Duration(v[1]) * time.Microsecond, Reset: time.Duration(v[2]) * time.Microsecond}
	if res.Allowed {
		res.Remaining = int((rate.Period - res.Reset) / rate.interval())
	}
	return res, nil
}

// ParseRedisURL opens a client for a redis:// or rediss:// URL.
func ParseRedisURL(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}
