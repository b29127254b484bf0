// Package unionpay simulates China UnionPay's online-payments gateway (ACP
// 5.1.0, signMethod 01) on loopback, for the unionpay connector's tests,
// the gateway's tests and the demo.
//
// Faithful: the endpoints (/gateway/api/backTransReq.do, frontTransReq.do,
// queryTrans.do, fileTransfer.do); form-encoded requests and raw
// (not URL-encoded) "k=v&…" answers; the signature (sorted fields, SHA-256
// hex, SHA256withRSA) checked with the merchant's certificate named by
// certId; answers and notifications signed by a certificate whose CN's
// third "@" field is "中国银联股份有限公司", chained to a root and an
// intermediate CA the account configures, and sent as signPubKeyCert with
// CR LF line ends; the response
// codes of ACP's appendix (10 format error, 11 signature check failed, 12
// duplicate transaction, 13 missing element, 34 no such transaction, 35
// original transaction missing or in the wrong state, 98 no file); queries
// by orderId and txnTime with origRespCode; asynchronous refunds (respCode 00
// is "accepted"); backUrl notifications posted as forms until HTTP 200,
// with a field posted empty ("reserved=") that the signature does not
// cover (UnionPay's demo drops empty fields before it verifies a
// notification, so UnionPay's signature leaves them out); statements as a
// zip of fixed-width files, zlib-compressed and Base64-encoded in
// fileContent.
//
// SetTestEnvironment makes it play UnionPay's test environment: it signs
// with a certificate whose CN has that environment's form
// ("041@Z12@00040000:SIGN@00000062"), and Account sets validate_cert_cn
// to false.
//
// Simplified or chosen where UnionPay publishes nothing: the notification
// retry schedule is 1, 2, 4, 8 and 16 minutes after the first attempt (times
// Options.RetryScale), and only successes are notified; a refund settles 10
// seconds (times RetryScale) after it is accepted; a query of an applied-for
// QR code that nobody has paid says origRespCode 05 (accepted); a reversal
// (txnType 99) of a paid trade makes its query say 45 ("already refunded or
// cancelled") and of an unpaid one 69 (closed); "reserved" is the one
// field every notification posts empty; a refund above what is left
// is 36 ("does not match the original"); txnTime is not checked against the
// clock; the statement's settlement day is the calendar day (CST) of the
// payment or refund, with no 23:00 cut-off; fees are 0.6 %.
//
// Payment codes for the payer-presented method (19 digits starting 62):
// AuthCodeSuccess pays at once, AuthCodeUserPaying waits for the payer
// (PayerPays), AuthCodeDeclined fails with 64 (insufficient funds); any
// other well-formed code pays at once.
package unionpay

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/sim"
)

// MerID is the simulated merchant number.
const MerID = "777290058110048"

// Payment codes the simulator answers in a known way.
const (
	AuthCodeSuccess    = "6200000000000000001"
	AuthCodeUserPaying = "6200000000000000002"
	AuthCodeDeclined   = "6200000000000000003"
)

// retrySchedule is the wait before each repeated notification.
var retrySchedule = []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute}

// refundDelay is how long an accepted refund takes to settle.
const refundDelay = 10 * time.Second

// Sim is the UnionPay simulator. It implements sim.Simulator.
type Sim struct {
	pki    *pki
	opts   sim.Options
	clock  clock.Clock
	client *http.Client
	log    *slog.Logger

	testEnv atomic.Bool // sign as UnionPay's test environment does

	mu     sync.Mutex
	trades map[string]*trade // by orderId
	// billAmounts are bill lines altered by AlterBillAmount, by orderId.
	billAmounts map[string]int64
	byQueryID   map[string]*trade
	seq         int64
	faults      sim.Faults
	closed      bool // no new background work once Close has begun

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

var _ sim.Simulator = (*Sim)(nil)

// New returns a simulator; its keys are made once per process.
func New(o sim.Options) (*Sim, error) {
	p, err := loadPKI()
	if err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	s := &Sim{
		pki:       p,
		opts:      o,
		clock:     o.Clock,
		client:    o.HTTPClient,
		log:       o.Logger,
		trades:    map[string]*trade{},
		byQueryID: map[string]*trade{},
		done:      make(chan struct{}),
	}
	return s, nil
}

// Provider returns "unionpay".
func (s *Sim) Provider() string { return "unionpay" }

// Account returns the settings the unionpay connector needs to talk to this
// simulator at baseURL.
func (s *Sim) Account(baseURL string) channel.Account {
	baseURL = strings.TrimRight(baseURL, "/")
	a := channel.Account{
		Provider: "unionpay",
		BaseURL:  baseURL,
		Config: map[string]string{
			"mer_id":      MerID,
			"cert_id":     s.pki.merchantCertID,
			"root_cert":   s.pki.rootPEM,
			"middle_cert": s.pki.middlePEM,
			"file_url":    baseURL + "/gateway/api/fileTransfer.do",
		},
		Secrets: map[string]string{"private_key": s.pki.merchantKeyPEM},
	}
	if s.testEnv.Load() {
		a.Config["validate_cert_cn"] = "false"
	}
	return a
}

// SetTestEnvironment makes the simulator play UnionPay's test environment
// (on) or production (off, the default). In the test environment its
// answers and notifications carry a signing certificate of the test form
// (TestSigningCertCN), and Account sets validate_cert_cn to false, as
// UnionPay's SDK is configured for that environment; the simulator's own
// host is not UnionPay's test host, so the connector would otherwise check
// the production rule.
func (s *Sim) SetTestEnvironment(on bool) { s.testEnv.Store(on) }

// SetFault makes the next count API calls misbehave (0: until cleared).
// Notification faults count notifications instead.
func (s *Sim) SetFault(f sim.Fault, count int) { s.faults.Set(f, count) }

// Close stops the notification senders and waits for them.
func (s *Sim) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// ServeHTTP serves UnionPay's API and the /_sim/ control API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	switch r.URL.Path {
	case pathBackTrans, pathQuery, pathFile:
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serveAPI(w, r)
	case pathFrontTrans:
		if r.Method != http.MethodPost && r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serveFront(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveControl is the /_sim/ API of package sim.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_sim/")
	switch {
	case path == "account" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Account("http://" + r.Host))
	case path == "fault" && r.Method == http.MethodPost:
		f, count, err := sim.DecodeFault(r.Body)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		s.SetFault(f, count)
		w.WriteHeader(http.StatusNoContent)
	case path == "fault" && r.Method == http.MethodDelete:
		s.SetFault(sim.FaultNone, 0)
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "trades/") && r.Method == http.MethodPost:
		parts := strings.Split(strings.TrimPrefix(path, "trades/"), "/")
		if len(parts) != 2 {
			http.NotFound(w, r)
			return
		}
		var err error
		switch parts[1] {
		case "pay":
			err = s.PayerPays(parts[0])
		case "fail":
			err = s.PayerFails(parts[0])
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><p>%s: %s</p>", htmlEscape(parts[0]), htmlEscape(parts[1]))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
