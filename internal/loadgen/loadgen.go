// Package loadgen is Paygate's load generator (`paygate bench`): it drives a
// gateway with create-order, query, mixed or full-cycle traffic at a fixed
// concurrency (closed loop) or a fixed rate (open loop, latency measured from
// the intended send time so a stalled server cannot hide its queueing), and
// reports throughput, errors by code and latency percentiles from a
// log-linear histogram.
//
// A request counts as a success only with a 2xx answer (for the cycle: once
// its webhook has arrived with a valid signature). The rate counts
// successes; failures are reported by code (the HTTP status and the API's
// error code, or the kind of transport error) and latency is measured over
// successes only, so a run of fast 401s cannot pass for throughput. Before
// a run, one request checks that the gateway answers and takes the key.
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
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	// NoPreflight skips the request that checks the gateway and the key
	// before the run (the floor server has no API to ask).
	NoPreflight bool
	// Payers, when above 0, gives each created order a payer (id, IP and
	// device) drawn from this many, so risk rules count real histories.
	Payers int
	// PayEvery, when above 0, pays every PayEvery-th order the mixed
	// scenario creates (test mode), so that its events go out as webhooks.
	PayEvery int
	// NotifyURL, when set, is the notify_url of the orders the mixed
	// scenario creates.
	NotifyURL string
	// Window, when above 0, calls OnWindow with each window's figures
	// while the run goes on (the soak's per-minute lines).
	Window   time.Duration
	OnWindow func(Window)
}

// Window is one window of a run: its successful and failed requests and
// the latency percentiles of the successful ones.
type Window struct {
	Elapsed    time.Duration // since the run started, at the window's end
	OK, Failed uint64
	P50, P99   float64 // milliseconds
}

// MaxFailedShare is the share of failed requests above which a run is
// reported as failed (Result.Failing): more than half.
const MaxFailedShare = 0.5

// Result is what a run measured.
type Result struct {
	Scenario string `json:"scenario"`
	// Requests is every request that finished: OK + Failed.
	Requests uint64 `json:"requests"`
	OK       uint64 `json:"ok"`
	Failed   uint64 `json:"failed"`
	// Unfinished are requests still in flight when the run ended (not
	// counted either way).
	Unfinished uint64 `json:"unfinished,omitempty"`
	// Errors counts failures by code; ErrorSamples has the first message of each.
	Errors       map[string]int    `json:"errors"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	Seconds      float64           `json:"seconds"`
	// RPS is successful requests per second.
	RPS         float64 `json:"rps"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	P999        float64 `json:"p999_ms"`
	Max         float64 `json:"max_ms"`
	Mean        float64 `json:"mean_ms"`
	Concurrency int     `json:"concurrency,omitempty"`
	Rate        int     `json:"rate,omitempty"`
	// Phases splits the successful cycles of the cycle scenario (closed
	// loop) into their steps, to show where a cycle's time goes.
	Phases []Phase `json:"phases,omitempty"`
	hist   *Histogram
}

// Phase is one step of the successful cycles: its latency percentiles.
type Phase struct {
	Name string  `json:"name"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
}

// cyclePhases name the steps of a cycle: the create request, the pay
// request, and the wait from the pay's answer to its webhook's arrival.
var cyclePhases = [3]string{"create", "pay", "webhook"}

// Failing reports whether the run mostly failed: no request succeeded, or
// more than MaxFailedShare of them failed.
func (r *Result) Failing() bool {
	return r.OK == 0 || float64(r.Failed) > MaxFailedShare*float64(r.Requests)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// String renders r for people.
func (r *Result) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %d ok, %d failed in %.1fs = %.0f ok/s", r.Scenario, r.OK, r.Failed, r.Seconds, r.RPS)
	if r.Unfinished > 0 {
		fmt.Fprintf(&b, " (%d unfinished at the end)", r.Unfinished)
	}
	if r.OK > 0 {
		fmt.Fprintf(&b, "; latency p50 %.2fms p90 %.2fms p99 %.2fms p99.9 %.2fms max %.2fms", r.P50, r.P90, r.P99, r.P999, r.Max)
	}
	for i, ph := range r.Phases {
		if i == 0 {
			b.WriteString("; p50/p99 by step:")
		}
		fmt.Fprintf(&b, " %s %.2f/%.2fms", ph.Name, ph.P50, ph.P99)
	}
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

// Explain says, for a run that mostly failed, what its errors were, one
// line per code with the first message, and what to check.
func (r *Result) Explain() string {
	var b strings.Builder
	switch {
	case r.Requests == 0 && r.Unfinished > 0:
		fmt.Fprintf(&b, "no request finished within the run (%d were still waiting at the end); run longer with --duration", r.Unfinished)
		if r.Scenario == "cycle" {
			b.WriteString(" (a cycle waits for its webhook, up to 30s)")
		}
		return b.String()
	case r.Requests == 0:
		return "no request finished"
	}
	fmt.Fprintf(&b, "%d of %d requests failed (more than %.0f%%)", r.Failed, r.Requests, 100*MaxFailedShare)
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return r.Errors[keys[i]] > r.Errors[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %s ×%d", k, r.Errors[k])
		if m := r.ErrorSamples[k]; m != "" {
			fmt.Fprintf(&b, ": %s", m)
		}
	}
	return b.String()
}

// op is one unit of work; it returns an error code ("" for success) and,
// for a failure, a message.
type op func(w *worker, ctx context.Context) (code, msg string)

// worker holds one goroutine's client state.
type worker struct {
	r    *runner
	id   int
	seq  int
	hist *Histogram // nil in open loop, where workers share one
	// phases, in the cycle scenario's closed loop, records each step of
	// the successful cycles (cyclePhases).
	phases *[len(cyclePhases)]Histogram
	errs   map[string]int
	msgs   map[string]string // first message per code
}

type runner struct {
	cfg    Config
	hc     *http.Client
	runID  string
	signer *client.Client // when signing
	orders []string       // for query
	cycle  *cycle
	// mixed counts the mixed scenario's requests, creates its creates.
	mixed, creates atomic.Uint64
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
	if !cfg.NoPreflight {
		if err := r.preflight(ctx); err != nil {
			return nil, err
		}
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
		if cfg.WebhookSecret == "" {
			return nil, errors.New("the cycle scenario verifies each webhook: give the app's webhook secret (whsec_…) with --webhook-secret")
		}
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
	var ok, failed, unfinished, dropped atomic.Uint64
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
					n := ok.Load()
					fmt.Fprintf(r.cfg.Progress, "\r%5.0fs  %8d ok  %7d ok/s  %d failed   ", now.Sub(start).Seconds(), n, n-last, failed.Load()+dropped.Load())
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
					dropped.Add(1)
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
	var window *windows
	if r.cfg.Window > 0 && r.cfg.OnWindow != nil {
		window = &windows{hist: &Histogram{}}
		go window.report(ctx, start, r.cfg.Window, r.cfg.OnWindow)
	}
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{r: r, id: i, errs: map[string]int{}, msgs: map[string]string{}}
		if shared == nil {
			w.hist = &Histogram{}
			if r.cycle != nil {
				w.phases = &[len(cyclePhases)]Histogram{}
			}
		}
		ws[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if ticks != nil {
					var more bool
					if t0, more = <-ticks; !more {
						return
					}
				}
				code, msg := do(w, ctx)
				if ctx.Err() != nil && code != "" {
					unfinished.Add(1) // cut off by the end of the run
					return
				}
				if window != nil {
					window.record(code == "", time.Since(t0))
				}
				if code != "" {
					w.errs[code]++
					if _, seen := w.msgs[code]; !seen && msg != "" {
						w.msgs[code] = msg
					}
					failed.Add(1)
					continue
				}
				if shared != nil {
					sharedMu.Lock()
					shared.Record(time.Since(t0))
					sharedMu.Unlock()
				} else {
					w.hist.Record(time.Since(t0))
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if r.cfg.Progress != nil {
		fmt.Fprintln(r.cfg.Progress)
	}
	res := &Result{Scenario: r.cfg.Scenario, Errors: map[string]int{}, ErrorSamples: map[string]string{}, hist: &Histogram{}, Seconds: elapsed.Seconds()}
	if shared != nil {
		res.hist.Merge(shared)
	}
	var phases [len(cyclePhases)]Histogram
	for _, w := range ws {
		if w.hist != nil {
			res.hist.Merge(w.hist)
		}
		if w.phases != nil {
			for i := range phases {
				phases[i].Merge(&w.phases[i])
			}
		}
		for k, v := range w.errs {
			res.Errors[k] += v
		}
		for k, m := range w.msgs {
			if res.ErrorSamples[k] == "" {
				res.ErrorSamples[k] = m
			}
		}
	}
	if n := dropped.Load(); n > 0 {
		res.Errors["dropped_backlog_full"] += int(n)
		res.ErrorSamples["dropped_backlog_full"] = "the open loop's backlog of 65,536 sends was full: the gateway is far behind --rate"
		failed.Add(n)
	}
	if r.cfg.Rate > 0 {
		res.Rate = r.cfg.Rate
	} else {
		res.Concurrency = r.cfg.Concurrency
	}
	h := res.hist
	res.OK, res.Failed, res.Unfinished = ok.Load(), failed.Load(), unfinished.Load()
	res.Requests = res.OK + res.Failed
	res.RPS = float64(res.OK) / elapsed.Seconds()
	res.P50, res.P90, res.P99, res.P999 = ms(h.Quantile(.5)), ms(h.Quantile(.9)), ms(h.Quantile(.99)), ms(h.Quantile(.999))
	res.Max, res.Mean = ms(h.Max()), ms(h.Mean())
	for i, name := range cyclePhases {
		if phases[i].Count() > 0 {
			res.Phases = append(res.Phases, Phase{Name: name, P50: ms(phases[i].Quantile(.5)), P99: ms(phases[i].Quantile(.99))})
		}
	}
	return res, nil
}

// preflight asks the gateway once for the app's balance, so an
// unreachable URL or a refused key stops the run at once with the reason.
func (r *runner) preflight(ctx context.Context) error {
	w := &worker{r: r, id: -1}
	code, msg, _ := w.call(ctx, "GET", "/v1/balance", nil)
	switch {
	case code == "":
		return nil
	case strings.HasPrefix(code, "transport"):
		return fmt.Errorf("cannot reach the gateway at %s: %s", r.cfg.URL, msg)
	}
	return fmt.Errorf("the gateway at %s refused the check request (GET /v1/balance): %s: %s", r.cfg.URL, code, msg)
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
	if n := w.r.cfg.Payers; n > 0 {
		k := (w.id*7919 + w.seq*104729) % n
		b += `,"payer":{"id":"payer-` + strconv.Itoa(k) + `","ip":"198.18.` + strconv.Itoa(k/256%256) + `.` + strconv.Itoa(k%256) +
			`","device_id":"device-` + strconv.Itoa(k) + `"}`
	}
	return []byte(b + "}")
}

// call sends one request with the Bearer key (or the signer) and returns
// an error code ("" for 2xx): the status and the API's error code
// ("401_key_invalid"), or the kind of transport error; a message saying
// what went wrong; and the body.
func (w *worker) call(ctx context.Context, method, path string, body []byte) (code, msg string, out []byte) {
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
		return "request_invalid", err.Error(), nil
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.SecretKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := r.hc.Do(req)
	if err != nil {
		return transportCode(err), err.Error(), nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		var eb client.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			return strconv.Itoa(res.StatusCode) + "_" + eb.Error.Code, eb.Error.Message, b
		}
		return strconv.Itoa(res.StatusCode), res.Status, b
	}
	return "", "", b
}

// transportCode names a request that got no HTTP answer.
func transportCode(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "transport_connection_refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "transport_timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport_connection_reset"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "transport_dns"
	}
	return "transport_error"
}

func codeOf(res *client.Response, err error) (string, string, []byte) {
	var ae *client.Error
	switch {
	case err == nil:
		return "", "", res.Body
	case errors.As(err, &ae):
		return strconv.Itoa(ae.StatusCode) + "_" + ae.Code, ae.Message, nil
	}
	return transportCode(err), err.Error(), nil
}

func (w *worker) create(ctx context.Context) (string, string) {
	code, msg, _ := w.call(ctx, "POST", "/v1/orders", w.orderBody(w.r.cfg.NotifyURL))
	return code, msg
}

func (w *worker) query(ctx context.Context) (string, string) {
	id := w.r.orders[w.seq%len(w.r.orders)]
	w.seq++
	code, msg, _ := w.call(ctx, "GET", "/v1/orders/"+id, nil)
	return code, msg
}

// mixed is 70% queries and 30% creates, about what a busy shop's backend
// sends; with PayEvery, every PayEvery-th create is paid at once.
//
// The mix is counted over the run, not per worker: in an open loop each of
// the 4,096 workers sends only a few requests.
func (w *worker) mixed(ctx context.Context) (string, string) {
	if w.r.mixed.Add(1)%10 < 7 {
		return w.query(ctx)
	}
	if n := w.r.cfg.PayEvery; n > 0 && w.r.creates.Add(1)%uint64(n) == 0 {
		return w.createPaid(ctx)
	}
	return w.create(ctx)
}

// createPaid creates an order and pays it (test mode).
func (w *worker) createPaid(ctx context.Context) (string, string) {
	code, msg, body := w.call(ctx, "POST", "/v1/orders", w.orderBody(w.r.cfg.NotifyURL))
	if code != "" {
		return code, msg
	}
	var o struct {
		ID string `json:"id"`
	}
	json.Unmarshal(body, &o)
	code, msg, _ = w.call(ctx, "POST", "/v1/test/orders/"+o.ID+"/pay", []byte(`{"outcome":"succeeded"}`))
	if code != "" {
		return "pay_" + code, msg
	}
	return "", ""
}

// windows collects a run's figures window by window.
type windows struct {
	mu         sync.Mutex
	hist       *Histogram
	ok, failed uint64
}

func (w *windows) record(ok bool, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ok {
		w.ok++
		w.hist.Record(d)
	} else {
		w.failed++
	}
}

// report hands each window's figures to fn until ctx ends.
func (w *windows) report(ctx context.Context, start time.Time, every time.Duration, fn func(Window)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.mu.Lock()
			win := Window{Elapsed: now.Sub(start), OK: w.ok, Failed: w.failed,
				P50: ms(w.hist.Quantile(.5)), P99: ms(w.hist.Quantile(.99))}
			w.hist, w.ok, w.failed = &Histogram{}, 0, 0
			w.mu.Unlock()
			fn(win)
		}
	}
}

// seed creates n orders for the query scenarios.
func (r *runner) seed(ctx context.Context, n int) error {
	w := &worker{r: r, id: -1}
	for i := 0; i < n; i++ {
		code, msg, body := w.call(ctx, "POST", "/v1/orders", w.orderBody(""))
		if code != "" {
			return fmt.Errorf("seed orders: %s: %s", code, msg)
		}
		var o struct {
			ID string `json:"id"`
		}
		json.Unmarshal(body, &o)
		r.orders = append(r.orders, o.ID)
	}
	return nil
}
