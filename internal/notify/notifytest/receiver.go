// Package notifytest is a merchant's notification receiver for tests: a real
// HTTP server on loopback that records every notification, verifies each one
// with the Standard Webhooks project's own Go library (an independent
// implementation of the scheme) and with the SDK's platform-key check, and
// answers as the test tells it to: a status, a hang, or no listener at all.
package notifytest

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/paygate/paygate/client"
)

// Request is one notification the receiver got.
type Request struct {
	Path       string
	ID         string // webhook-id
	Timestamp  int64  // webhook-timestamp
	Signatures []string
	Body       []byte
	Status     int // what the receiver answered (0 when it hung until the sender gave up)
}

// V1 returns the request's "v1," signatures.
func (r Request) V1() []string {
	var out []string
	for _, s := range r.Signatures {
		if strings.HasPrefix(s, "v1,") {
			out = append(out, s)
		}
	}
	return out
}

// Receiver is a notification receiver on 127.0.0.1. Make one with New.
type Receiver struct {
	t    testing.TB
	addr string

	mu       sync.Mutex
	srv      *http.Server
	secrets  map[string][]string // path → secrets every notification there must verify with
	keys     []client.PlatformKey
	now      func() time.Time
	respond  func(w http.ResponseWriter, r *http.Request) int
	got      []Request
	inflight map[string]int // by path and webhook-id, and by path alone
	maxIn    map[string]int
	hang     chan struct{}
	// changed is closed and replaced each time a request starts or ends,
	// so Await wakes on events rather than polling.
	changed chan struct{}
}

// New starts a receiver that answers 200 and stops it when t ends.
func New(t testing.TB) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("notifytest: listen: %v", err)
	}
	r := &Receiver{t: t, addr: ln.Addr().String(), secrets: map[string][]string{}, inflight: map[string]int{}, maxIn: map[string]int{}, hang: make(chan struct{}), changed: make(chan struct{})}
	r.serve(ln)
	t.Cleanup(func() {
		r.Release()
		r.Down()
	})
	return r
}

// URL is the receiver's URL for path ("/hook").
func (r *Receiver) URL(path string) string { return "http://" + r.addr + path }

// Verify makes every notification to path verify with each of secrets,
// checked with the Standard Webhooks library; "" applies to every path
// without secrets of its own. With no secrets for a path, notifications
// there fail the test.
func (r *Receiver) Verify(path string, secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets[path] = secrets
}

// PlatformKeys makes every notification carry a "v1a," signature by one of keys.
func (r *Receiver) PlatformKeys(keys []client.PlatformKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = keys
}

// Clock sets the time webhook-timestamp is checked against (the gateway's
// fake clock); by default the Standard Webhooks library checks it against
// the wall clock.
func (r *Receiver) Clock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// Status makes the receiver answer with code.
func (r *Receiver) Status(code int) {
	r.Respond(func(w http.ResponseWriter, _ *http.Request) int {
		w.WriteHeader(code)
		io.WriteString(w, "status "+strconv.Itoa(code))
		return code
	})
}

// Hang makes the receiver hold every request until the sender gives up.
func (r *Receiver) Hang() {
	r.Respond(func(w http.ResponseWriter, req *http.Request) int {
		r.mu.Lock()
		hang := r.hang
		r.mu.Unlock()
		select {
		case <-req.Context().Done():
		case <-hang:
		}
		return 0
	})
}

// Respond sets how the receiver answers; f returns the status it wrote.
func (r *Receiver) Respond(f func(w http.ResponseWriter, req *http.Request) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = f
}

// Down stops listening: connections are refused until Up.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Up listens again on the same address.
func (r *Receiver) Up() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("notifytest: listen again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// Await waits until cond, which reads the receiver (Requests, IDs,
// InFlight…), is true, checking it each time a request starts or ends;
// false when timeout passes first.
func (r *Receiver) Await(timeout time.Duration, cond func() bool) bool {
	expired := time.After(timeout)
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-changed:
		case <-expired:
			return cond()
		}
	}
}

// wake tells Await that something changed; r.mu must be held.
func (r *Receiver) wake() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Requests returns the notifications received so far, in arrival order.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.got...)
}

// IDs returns how many notifications arrived per webhook-id.
func (r *Receiver) IDs() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, g := range r.got {
		out[g.ID]++
	}
	return out
}

// MaxConcurrent returns, per path and webhook-id ("/hook evt_…"), the most
// requests that were in flight at once.
func (r *Receiver) MaxConcurrent() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.maxIn {
		if strings.Contains(k, " ") {
			out[k] = v
		}
	}
	return out
}

// MaxInFlight returns the most requests to path that were in flight at once.
func (r *Receiver) MaxInFlight(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxIn[path]
}

// InFlight returns how many requests to path are in flight now.
func (r *Receiver) InFlight(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight[path]
}

// Release lets every request held by Hang return (the sender sees it end
// without a response).
func (r *Receiver) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.hang)
	r.hang = make(chan struct{})
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	g := Request{Path: req.URL.Path, ID: req.Header.Get(client.HeaderWebhookID), Body: body,
		Signatures: strings.Fields(req.Header.Get(client.HeaderWebhookSignature))}
	g.Timestamp, _ = strconv.ParseInt(req.Header.Get(client.HeaderWebhookTimestamp), 10, 64)
	key := req.URL.Path + " " + g.ID

	r.mu.Lock()
	secrets, ok := r.secrets[req.URL.Path]
	if !ok {
		secrets = r.secrets[""]
	}
	keys, now, respond := r.keys, r.now, r.respond
	for _, k := range []string{key, req.URL.Path} {
		r.inflight[k]++
		r.maxIn[k] = max(r.maxIn[k], r.inflight[k])
	}
	r.wake()
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inflight[key]--
		r.inflight[req.URL.Path]--
		r.got = append(r.got, g)
		r.wake()
		r.mu.Unlock()
	}()

	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("notification %s %s: want POST application/json, got %s %q", g.ID, req.URL.Path, req.Method, req.Header.Get("Content-Type"))
	}
	if err := verify(req.Header, body, secrets, keys, now); err != nil {
		r.t.Errorf("notification %s to %s does not verify: %v\nheaders: %v\nbody: %s", g.ID, req.URL.Path, err, req.Header, body)
	}
	if respond == nil {
		w.WriteHeader(http.StatusOK)
		g.Status = http.StatusOK
		return
	}
	g.Status = respond(w, req)
}

// verify checks one notification with the Standard Webhooks library, once
// per secret, and its v1a signature with the SDK.
func verify(h http.Header, body []byte, secrets []string, keys []client.PlatformKey, now func() time.Time) error {
	if len(secrets) == 0 {
		return errors.New("the test named no secret for this path")
	}
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return err
		}
		if now == nil {
			err = wh.Verify(body, h)
		} else {
			// The gateway signs with a fake clock: the library checks the
			// signature, the timestamp is checked against that clock.
			err = wh.VerifyIgnoringTimestamp(body, h)
			if err == nil {
				err = checkTimestamp(h, now())
			}
		}
		if err != nil {
			return err
		}
	}
	if keys != nil {
		at := time.Now()
		if now != nil {
			at = now()
		}
		if err := client.VerifyWebhookPlatformKeys(h, body, keys, 0, at); err != nil {
			return err
		}
	}
	return nil
}

func checkTimestamp(h http.Header, now time.Time) error {
	ts, err := strconv.ParseInt(h.Get(client.HeaderWebhookTimestamp), 10, 64)
	if err != nil {
		return err
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("webhook-timestamp " + strconv.FormatInt(ts, 10) + " is more than 5 minutes from the gateway's clock")
	}
	return nil
}
