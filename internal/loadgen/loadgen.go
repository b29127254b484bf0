// Package loadgen is Paygate's load generator (`paygate bench`): it drives a
// gateway with create-order, query, mixed or full-cycle traffic at a fixed
// concurrency (closed loop) or a fixed rate (open loop, latency measured from
// the intended send time so a stalled server cannot hide its queueing), and
// reports throughput, errors by code and latency percentiles from a
// log-linear histogram.
package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/client"
)

// Config is one load run.
type Config struct {
	URL       string // the gateway's base URL
	SecretKey string // Bearer sk_test_ key; used unless Signer is set
	// HMAC signing (the signed create scenario): all three set.
	AppID, KeyID, HMACSecret string
	Scenario                 string        // create, query, mixed, cycle
	Concurrency              int           // closed loop: this many requests in flight; default 64
	Rate                     int           // open loop: requests per second; 0 means closed loop
	Duration                 time.Duration // default 10s
	// Cycle: where webhooks arrive (run by Cycle) and the secret that signs them.
	WebhookSecret string
	// Progress receives a line per second; nil for none.
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Scenario    string         `json:"scenario"`
	Requests    uint64         `json:"requests"`
	Errors      map[string]int `json:"errors"`
	Seconds     float64        `json:"seconds"`
	RPS         float64        `json:"rps"`
	P50         float64        `json:"p50_ms"`
	P90         float64        `json:"p90_ms"`
	P99         float64        `json:"p99_ms"`
	P999        float64        `json:"p999_ms"`
	Max         float64        `json:"max_ms"`
	Mean        float64        `json:"mean_ms"`
	Concurrency int            `json:"concurrency,omitempty"`
	Rate        int            `json:"rate,omitempty"`
	hist        *Histogram
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// String renders r for people.
func (r *Result) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %d requests in %.1fs = %.0f/s; latency p50 %.2fms p90 %.2fms p99 %.2fms p99.9 %.2fms max %.2fms",
		r.Scenario, r.Requests, r.Seconds, r.RPS, r.P50, r.P90, r.P99, r.P999, r.Max)
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("; errors:")
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%d", k, r.Errors[k])
		}
	}
	return b.String()
}

// op is one unit of work; it returns an error code ("" for success).
type op func(w *worker, ctx context.Context) string

// worker holds one goroutine's client state.
type worker struct {
	r    *runner
	id   int
	seq  int
	hist *Histogram // nil in open loop, where workers share one
	errs map[string]int
}

type runner struct {
	cfg    Config
	hc     *http.Client
	runID  string
	signer *client.Client // when signing
	orders []string       // for query
	cycle  *cycle
}

// Run runs cfg against its gateway until cfg.Duration passes or ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Scenario == "" {
		cfg.Scenario = "create"
	}
	b := make([]byte, 4)
	rand.Read(b)
	r := &runner{cfg: cfg, runID: hex.EncodeToString(b), hc: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute},
	}}
	if cfg.HMACSecret != "" {
		c, err := client.New(cfg.URL, client.WithHMACKey(cfg.AppID, cfg.KeyID, cfg.HMACSecret), client.WithHTTPClient(r.hc))
		if err != nil {
			return nil, err
		}
		r.signer = c
	}
	var do op
	switch cfg.Scenario {
	case "create":
		do = (*worker).create
	case "query":
		if err := r.seed(ctx, 200); err != nil {
			return nil, err
		}
		do = (*worker).query
	case "mixed":
		if err := r.seed(ctx, 200); err != nil {
			return nil, err
		}
		do = (*worker).mixed
	case "cycle":
		c, err := newCycle(cfg.WebhookSecret)
		if err != nil {
			return nil, err
		}
		defer c.close()
		r.cycle = c
		do = (*worker).fullCycle
	default:
		return nil, fmt.Errorf("unknown scenario %q (create, query, mixed, cycle)", cfg.Scenario)
	}
	return r.run(ctx, do)
}

func (r *runner) run(ctx context.Context, do op) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	var done atomic.Uint64
	var errCount atomic.Uint64
	start := time.Now()
	if r.cfg.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			var last uint64
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					n := done.Load()
					fmt.Fprintf(r.cfg.Progress, "\r%5.0fs  %8d requests  %7d/s  %d errors   ", now.Sub(start).Seconds(), n, n-last, errCount.Load())
					last = n
				}
			}
		}()
	}
	workers := r.cfg.Concurrency
	var ticks chan time.Time
	if r.cfg.Rate > 0 {
		// Open loop: a pacer issues intended send times; up to 4096 in flight.
		workers = 4096
		ticks = make(chan time.Time, 1<<16)
		go func() {
			defer close(ticks)
			interval := time.Second / time.Duration(r.cfg.Rate)
			next := time.Now()
			for ctx.Err() == nil {
				select {
				case ticks <- next:
				default: // the backlog is full: the server is far behind; drop, and count it
					errCount.Add(1)
				}
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
			}
		}()
	}
	ws := make([]*worker, workers)
	// Open loop: the 4,096 workers share one histogram (32 KiB each would be
	// 128 MiB of the process's memory, counted in its peak RSS).
	var shared *Histogram
	var sharedMu sync.Mutex
	if ticks != nil {
		shared = &Histogram{}
	}
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{r: r, id: i, errs: map[string]int{}}
		if shared == nil {
			w.hist = &Histogram{}
		}
		ws[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if ticks != nil {
					var ok bool
					if t0, ok = <-ticks; !ok {
						return
					}
				}
				code := do(w, ctx)
				if ctx.Err() != nil && code != "" {
					return // cut off by the end of the run
				}
				if shared != nil {
					sharedMu.Lock()
					shared.Record(time.Since(t0))
					sharedMu.Unlock()
				} else {
					w.hist.Record(time.Since(t0))
				}
				if code != "" {
					w.errs[code]++
					errCount.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if r.cfg.Progress != nil {
		fmt.Fprintln(r.cfg.Progress)
	}
	res := &Result{Scenario: r.cfg.Scenario, Errors: map[string]int{}, hist: &Histogram{}, Seconds: elapsed.Seconds()}
	if shared != nil {
		res.hist.Merge(shared)
	}
	for _, w := range ws {
		if w.hist != nil {
			res.hist.Merge(w.hist)
		}
		for k, v := range w.errs {
			res.Errors[k] += v
		}
	}
	if r.cfg.Rate > 0 {
		res.Rate = r.cfg.Rate
	} else {
		res.Concurrency = r.cfg.Concurrency
	}
	h := res.hist
	res.Requests = h.Count()
	res.RPS = float64(h.Count()) / elapsed.Seconds()
	res.P50, res.P90, res.P99, res.P999 = ms(h.Quantile(.5)), ms(h.Quantile(.9)), ms(h.Quantile(.99)), ms(h.Quantile(.999))
	res.Max, res.Mean = ms(h.Max()), ms(h.Mean())
	return res, nil
}

func (w *worker) nextNo() string {
	w.seq++
	return "bench-" + w.r.runID + "-" + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.seq)
}

func (w *worker) orderBody(notifyURL string) []byte {
	b := `{"out_trade_no":"` + w.nextNo() + `","amount":1000,"currency":"CNY","subject":"Load test","method":"sandbox"`
	if notifyURL != "" {
		b += `,"notify_url":"` + notifyURL + `"`
	}
	return []byte(b + "}")
}

// call sends one request with the Bearer key (or the signer) and returns
// the status class as an error code ("" for 2xx) and the body.
func (w *worker) call(ctx context.Context, method, path string, body []byte) (string, []byte) {
	r := w.r
	if r.signer != nil {
		res, err := r.signer.Do(ctx, method, path, json.RawMessage(body), nil)
		return codeOf(res, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.cfg.URL+path, rd)
	if err != nil {
		return "request_build", nil
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.SecretKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := r.hc.Do(req)
	if err != nil {
		return "transport", nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		var eb client.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			return strconv.Itoa(res.StatusCode) + "_" + eb.Error.Code, b
		}
		return strconv.Itoa(res.StatusCode), b
	}
	return "", b
}

func codeOf(res *client.Response, err error) (string, []byte) {
	var ae *client.Error
	switch {
	case err == nil:
		return "", res.Body
	case errors.As(err, &ae):
		return strconv.Itoa(ae.StatusCode) + "_" + ae.Code, nil
	}
	return "transport", nil
}

func (w *worker) create(ctx context.Context) string {
	code, _ := w.call(ctx, "POST", "/v1/orders", w.orderBody(""))
	return code
}

func (w *worker) query(ctx context.Context) string {
	id := w.r.orders[w.seq%len(w.r.orders)]
	w.seq++
	code, _ := w.call(ctx, "GET", "/v1/orders/"+id, nil)
	return code
}

// mixed is 70% queries and 30% creates, about what a busy shop's backend sends.
func (w *worker) mixed(ctx context.Context) string {
	if w.seq%10 < 7 {
		return w.query(ctx)
	}
	return w.create(ctx)
}

// seed creates n orders for the query scenarios.
func (r *runner) seed(ctx context.Context, n int) error {
	w := &worker{r: r, id: -1}
	for i := 0; i < n; i++ {
		code, body := w.call(ctx, "POST", "/v1/orders", w.orderBody(""))
		if code != "" {
			return fmt.Errorf("seed orders: %s", code)
		}
		var o struct {
			ID string `json:"id"`
		}
		json.Unmarshal(body, &o)
		r.orders = append(r.orders, o.ID)
	}
	return nil
}
