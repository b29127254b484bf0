// Package ratelimit is the mechanics of Paygate's rate limits and load
// shedding; internal/api says what is limited (per app and route class, per
// source IP on the public endpoints) and how refusals are rendered.
//
// Limits are GCRA (the generic cell rate algorithm), which is a token bucket
// kept as one number per key: the theoretical arrival time (TAT) of the next
// request. A Rate of Count per Period admits one request every Period/Count
// on average and bursts of up to Count. Memory keeps the TATs in this
// process; Redis keeps them in Redis, checked and updated by one Lua script
// in one round trip, so that every node shares one budget. Redis answers
// with its own clock (TIME), so nodes' clocks need not agree. When Redis
// cannot be reached, Redis falls back to a Memory limiter of its own: the
// limits then hold per node, and payments go on rather than fail with the
// cache.
//
// Shedder bounds the requests in flight and the time one may wait for a
// slot; past either it refuses at once, so that the admitted requests keep
// their latency. Priority requests (channel callbacks, operator requests)
// have a reserve of slots beyond the bound, so they are shed last.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is Count requests per Period, in bursts of up to Count. The zero
// Rate is no limit.
type Rate struct {
	Count  int
	Period time.Duration
}

// Unlimited reports whether r limits nothing.
func (r Rate) Unlimited() bool { return r.Count <= 0 || r.Period <= 0 }

// interval is the time one request uses up.
func (r Rate) interval() time.Duration { return r.Period / time.Duration(r.Count) }

// String writes r as ParseRate reads it.
func (r Rate) String() string {
	if r.Unlimited() {
		return "unlimited"
	}
	switch r.Period {
	case time.Second:
		return strconv.Itoa(r.Count) + "/s"
	case time.Minute:
		return strconv.Itoa(r.Count) + "/m"
	case time.Hour:
		return strconv.Itoa(r.Count) + "/h"
	}
	return strconv.Itoa(r.Count) + "/" + r.Period.String()
}

// ParseRate reads "COUNT/PERIOD": PERIOD is s, m, h or a Go duration
// ("100/s", "600/m", "20/10s"); "unlimited" (or "0") is no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "unlimited" || s == "0" {
		return Rate{}, nil
	}
	count, per, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 1 || n > 1_000_000_000 {
		return Rate{}, fmt.Errorf("rate %q: want COUNT/PERIOD, e.g. 100/s, 600/m or 20/10s, or unlimited", s)
	}
	var d time.Duration
	switch per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil || d < time.Millisecond || d > 24*time.Hour {
			return Rate{}, fmt.Errorf("rate %q: the period is s, m, h or a duration from 1ms to 24h", s)
		}
	}
	if d/time.Duration(n) <= 0 {
		return Rate{}, fmt.Errorf("rate %q: more than one request a nanosecond", s)
	}
	return Rate{Count: n, Period: d}, nil
}

// Result is a limiter's answer for one request.
type Result struct {
	Allowed bool
	// Limit is the rate's Count (the burst), Remaining what is left of it
	// after this request.
	Limit, Remaining int
	// RetryAfter is how long a refused request should wait (zero when
	// allowed); Reset is how long until the bucket is full again.
	RetryAfter, Reset time.Duration
}

// Limiter decides whether a request under key may go on at rate.
type Limiter interface {
	Allow(ctx context.Context, key string, rate Rate) (Result, error)
}

// gcra is one GCRA step: tat is the key's stored TAT (zero when none), and
// it returns the result and the TAT to store (unchanged when refused).
func gcra(now, tat time.Time, rate Rate) (Result, time.Time) {
	t, tau := rate.interval(), rate.Period
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(t)
	res := Result{Limit: rate.Count}
	if allowAt := next.Add(-tau); now.Before(allowAt) {
		res.RetryAfter = allowAt.Sub(now)
		res.Reset = tat.Sub(now)
		return res, tat
	}
	res.Allowed = true
	res.Reset = next.Sub(now)
	res.Remaining = int((tau - next.Sub(now)) / t)
	return res, next
}

// Memory is a Limiter in this process. The zero Memory is ready; Now, when
// set, is its clock.
type Memory struct {
	Now    func() time.Time
	once   sync.Once
	seed   maphash.Seed
	shards [64]memShard
}

type memShard struct {
	mu    sync.Mutex
	tats  map[string]time.Time
	calls int
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, rate Rate) (Result, error) {
	if rate.Unlimited() {
		return Result{Allowed: true}, nil
	}
	m.once.Do(func() { m.seed = maphash.MakeSeed() })
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	sh := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.tats == nil {
		sh.tats = make(map[string]time.Time)
	}
	// Now and then drop the keys whose TAT has passed: they are as good as
	// absent, and without this a stream of new keys (source IPs) would grow
	// the map without end.
	if sh.calls++; sh.calls%1024 == 0 {
		for k, t := range sh.tats {
			if t.Before(now) {
				delete(sh.tats, k)
			}
		}
	}
	res, tat := gcra(now, sh.tats[key], rate)
	sh.tats[key] = tat
	return res, nil
}

// SetHeaders writes res as the IETF RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers): RateLimit-Limit, -Remaining and
// -Reset (seconds, rounded up), RateLimit-Policy, and Retry-After on a
// refusal.
func SetHeaders(h http.Header, rate Rate, res Result) {
	if rate.Unlimited() {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(res.Reset)))
	h.Set("RateLimit-Policy", strconv.Itoa(rate.Count)+";w="+strconv.Itoa(ceilSeconds(rate.Period)))
	if !res.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(res.RetryAfter))))
	}
}

func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// ErrShed is Shedder.Acquire's refusal.
var ErrShed = errors.New("ratelimit: overloaded")
