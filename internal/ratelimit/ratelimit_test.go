package ratelimit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"100/s": {100, time.Second}, "600/m": {600, time.Minute}, "5/h": {5, time.Hour},
		"20/10s": {20, 10 * time.Second}, "unlimited": {}, "0": {},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, _ := ParseRate(got.String()); back != got {
			t.Errorf("%q: String %q does not read back", in, got.String())
		}
	}
	for _, bad := range []string{"", "x", "10", "10/", "-1/s", "1/0s", "1/week", "5/25h", "2000000000/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func allow(t *testing.T, l Limiter, key string, r Rate) Result {
	t.Helper()
	res, err := l.Allow(context.Background(), key, r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestMemoryBurstThenRate(t *testing.T) {
	c := newFakeClock()
	m := &Memory{Now: c.Now}
	r := Rate{5, time.Hour}
	for i := range 5 {
		res := allow(t, m, "a", r)
		if !res.Allowed || res.Remaining != 4-i || res.Limit != 5 {
			t.Fatalf("request %d: %+v", i, res)
		}
	}
	res := allow(t, m, "a", r)
	if res.Allowed || res.RetryAfter != 12*time.Minute || res.Remaining != 0 {
		t.Fatalf("6th: %+v, want refused, retry after 12m", res)
	}
	if other := allow(t, m, "b", r); !other.Allowed {
		t.Fatal("another key shares the budget")
	}
	c.Add(12*time.Minute - time.Second)
	if allow(t, m, "a", r).Allowed {
		t.Fatal("allowed before Retry-After")
	}
	c.Add(time.Second)
	if !allow(t, m, "a", r).Allowed {
		t.Fatal("refused at Retry-After")
	}
	if allow(t, m, "a", r).Allowed {
		t.Fatal("one interval bought two requests")
	}
	c.Add(time.Hour)
	if res := allow(t, m, "a", r); !res.Allowed || res.Remaining != 4 {
		t.Fatalf("after a full period: %+v, want a full bucket", res)
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{}
	r := Rate{10, time.Minute}
	SetHeaders(h, r, Result{Allowed: false, Limit: 10, RetryAfter: 5500 * time.Millisecond, Reset: time.Minute})
	for k, v := range map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "60",
		"RateLimit-Policy": "10;w=60", "Retry-After": "6"} {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
}

// redisClient is the Redis of the tests (PAYGATE_TEST_REDIS, default
// 127.0.0.1:6379). Without CI=true a missing Redis skips the test.
func redisClient(t *testing.T) *redis.Client {
	addr := os.Getenv("PAYGATE_TEST_REDIS")
	if addr == "" {
		addr = "redis://127.0.0.1:6379/0"
	}
	c, err := ParseRedisURL(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		c.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s: %v", addr, err)
		}
		t.Skipf("Redis at %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRedisSharedAcrossNodes: two limiters (two nodes) spend one budget.
func TestRedisSharedAcrossNodes(t *testing.T) {
	c := redisClient(t)
	prefix := "paygate:test:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	a, b := &Redis{Client: c, Prefix: prefix}, &Redis{Client: c, Prefix: prefix}
	r := Rate{6, time.Hour}
	allowed := 0
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		res := allow(t, l, "app_1:create", r)
		if res.Allowed {
			allowed++
			if res.Remaining != 6-allowed {
				t.Errorf("request %d: remaining %d, want %d", i, res.Remaining, 6-allowed)
			}
		} else if res.RetryAfter <= 0 || res.RetryAfter > 10*time.Minute {
			t.Errorf("refusal %d: retry after %v, want within one interval (10m)", i, res.RetryAfter)
		}
	}
	if allowed != 6 {
		t.Fatalf("two nodes allowed %d of 10 at 6/h, want 6", allowed)
	}
	if a.Failures()+b.Failures() != 0 {
		t.Fatal("Redis calls failed")
	}
	if !allow(t, a, "app_2:create", r).Allowed {
		t.Fatal("another key shares the budget")
	}
}

// TestRedisDownFallsBack: when Redis cannot be reached the node's own
// limiter decides, still limiting.
func TestRedisDownFallsBack(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer c.Close()
	var errs int
	l := &Redis{Client: c, OnError: func(error) { errs++ }}
	r := Rate{2, time.Hour}
	got := []bool{allow(t, l, "k", r).Allowed, allow(t, l, "k", r).Allowed, allow(t, l, "k", r).Allowed}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("fallback decisions %v, want allow, allow, refuse", got)
	}
	if errs != 3 || l.Failures() != 3 {
		t.Fatalf("errors reported %d, failures %d, want 3", errs, l.Failures())
	}
}

func TestShedderPriorityShedLast(t *testing.T) {
	s := NewShedder(2, 1, 0)
	ctx := context.Background()
	r1, err1 := s.Acquire(ctx, false)
	r2, err2 := s.Acquire(ctx, false)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := s.Acquire(ctx, false); !errors.Is(err, ErrShed) {
		t.Fatalf("third request: %v, want shed", err)
	}
	rp, err := s.Acquire(ctx, true)
	if err != nil {
		t.Fatalf("priority request shed while its reserve is free: %v", err)
	}
	if _, err := s.Acquire(ctx, true); !errors.Is(err, ErrShed) {
		t.Fatalf("priority past the reserve: %v, want shed", err)
	}
	if s.InFlight() != 3 || s.Shed() != 2 {
		t.Fatalf("in flight %d, shed %d", s.InFlight(), s.Shed())
	}
	r1()
	r3, err := s.Acquire(ctx, false)
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	r2()
	r3()
	rp()
	if s.InFlight() != 0 {
		t.Fatalf("in flight %d after all released", s.InFlight())
	}
}

// TestShedderQueue: a request waits for a slot, within the queue time, and
// no more wait than there are slots.
func TestShedderQueue(t *testing.T) {
	s := NewShedder(1, 0, time.Hour)
	ctx := context.Background()
	release, _ := s.Acquire(ctx, false)
	got := make(chan error, 1)
	go func() {
		r, err := s.Acquire(ctx, false)
		if r != nil {
			defer r()
		}
		got <- err
	}()
	for s.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Acquire(ctx, false); !errors.Is(err, ErrShed) {
		t.Fatalf("a second waiter on one slot: %v, want shed at once", err)
	}
	release()
	if err := <-got; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	release, _ = s.Acquire(ctx, false)
	defer release()
	go func() {
		for s.waiting.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := s.Acquire(cctx, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("a waiter whose client left: %v", err)
	}
	q := NewShedder(1, 0, time.Millisecond)
	r, _ := q.Acquire(ctx, false)
	defer r()
	if _, err := q.Acquire(ctx, false); !errors.Is(err, ErrShed) {
		t.Fatalf("past the queue time: %v, want shed", err)
	}
}

// TestAcquireWaited: while the node is under pressure, what a request
// waited before the process saw it counts against the queue time; a
// request that waited it out is refused at once, a priority one is not.
// Without pressure it is served.
func TestAcquireWaited(t *testing.T) {
	ctx := context.Background()
	s := NewShedder(1, 1, 50*time.Millisecond)
	r, err := s.AcquireWaited(ctx, false, time.Second)
	if err != nil {
		t.Fatalf("a request that waited a second on an idle node: %v, want it served", err)
	}
	// Pressure: a request finds the slot taken.
	if _, err := s.AcquireWaited(ctx, false, 0); !errors.Is(err, ErrShed) {
		t.Fatalf("no slot within the queue time: %v, want ErrShed", err)
	}
	r()
	if _, err := s.AcquireWaited(ctx, false, 50*time.Millisecond); !errors.Is(err, ErrShed) {
		t.Fatalf("under pressure, a request that waited the queue time: %v, want ErrShed", err)
	}
	rp, err := s.AcquireWaited(ctx, true, time.Second)
	if err != nil {
		t.Fatalf("a priority request that waited a second: %v", err)
	}
	rp()
	hold, err := s.AcquireWaited(ctx, false, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// The slot is taken: a request that already waited 40 of its 50 ms
	// waits at most the 10 left.
	start := time.Now()
	if _, err := s.AcquireWaited(ctx, false, 40*time.Millisecond); !errors.Is(err, ErrShed) {
		t.Fatalf("no slot within the time left: %v, want ErrShed", err)
	}
	if took := time.Since(start); took >= 50*time.Millisecond {
		t.Fatalf("it waited %v, more than the 10 ms left of its queue time", took)
	}
	hold()
	if s.Stale() != 1 || s.Shed() != 3 {
		t.Fatalf("stale %d, shed %d; want 1, 3", s.Stale(), s.Shed())
	}
}

// TestWaited reads, over a real loopback connection, how long ago the
// kernel received the connection's last bytes.
func TestWaited(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_INFO is Linux's")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	ctx := WithConn(context.Background(), server)
	if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	d, ok := Waited(ctx)
	if !ok || d < 100*time.Millisecond || d > 10*time.Second {
		t.Fatalf("bytes received 120 ms ago: Waited %v %v", d, ok)
	}
	client.Write([]byte("more"))
	buf := make([]byte, 64)
	server.Read(buf)
	if d, ok := Waited(ctx); !ok || d >= 100*time.Millisecond {
		t.Fatalf("bytes just received: Waited %v %v", d, ok)
	}
	if _, ok := Waited(context.Background()); ok {
		t.Fatal("Waited without a connection reported a time")
	}
}
