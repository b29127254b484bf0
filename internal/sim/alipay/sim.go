// Package alipay simulates Alipay's OpenAPI gateway (gateway.do) on
// loopback for the connector's tests, the gateway's tests and the demo.
//
// Faithful:
//   - Requests are form posts to /gateway.do dispatched by "method"; the
//     common parameters are checked (app_id, charset utf-8, format JSON,
//     sign_type RSA2, timestamp, version 1.0) and the RSA2 signature is
//     verified over the sorted, raw k=v& content (sign_type included).
//     Failures answer code 40001/40002 with Alipay's sub_codes
//     (isv.invalid-signature, isv.invalid-app-id, isv.invalid-timestamp…);
//     an unknown method or app_id answers an unsigned error_response.
//   - Answers are {"<method>_response":{…},"sign":"…"} signed with the
//     "Alipay" key over the member's exact bytes; slashes are escaped ("\/")
//     as Alipay's encoder does, so a client that re-serialises fails.
//   - Trades keep Alipay's states (WAIT_BUYER_PAY, TRADE_SUCCESS,
//     TRADE_CLOSED). A precreated trade does not exist (TRADE_NOT_EXIST for
//     query, close and refund) until the payer scans its code (Scan,
//     POST /_sim/trades/{no}/scan, or GET of the qr_code URL) or pays.
//     close of a paid or closed trade is ACQ.TRADE_STATUS_ERROR; cancel
//     closes an unpaid trade, refunds a paid one in full, and records a
//     closed trade for an out_trade_no it has never seen.
//   - Refunds are synchronous (fund_change Y; a repeated out_request_no is
//     fund_change N); a refund beyond what is left is
//     ACQ.REFUND_AMT_NOT_EQUAL_TOTAL; a full refund closes the trade.
//   - Callbacks are trade_status_sync form posts to the trade's notify_url,
//     signed over every parameter but sign and sign_type, retried after
//     4m, 10m, 10m, 1h, 2h, 6h and 15h (× Options.RetryScale) until the
//     body is "success". Refunds send one too (trade_status TRADE_SUCCESS,
//     or TRADE_CLOSED after a full refund, with the cumulative refund_fee,
//     gmt_refund and out_biz_no = out_request_no), as Alipay does for trades
//     whose notify_url was set.
//   - Bills: bill.downloadurl.query answers a bill_download_url (30 s) for a
//     zip holding "<PID>0156_<yyyymmdd>_业务明细.csv" and its (汇总)
//     companion, GBK-encoded with GBK member names, in Alipay's layout.
//
// 商家扣款 (agreements.go): the signing page where the simulated payer signs
// or refuses, agreement query and unsign, withholding charges through
// alipay.trade.pay with their refusals (terminated agreement, per-charge
// limit, insufficient balance), dut_user_sign and dut_user_unsign
// callbacks, the payer's termination. What it simplifies is listed there.
//
// Simplified:
//   - Request timestamps more than 30 minutes from the simulator's clock are
//     rejected (isv.invalid-timestamp); Alipay publishes no window for
//     OpenAPI, and 30 minutes is the expiry its global gateway documents.
//   - Page and wap payments: a GET (or POST) of /gateway.do with the signed
//     parameters opens a tiny cashier page and creates the trade; an
//     alipay.trade.app.pay posted to /gateway.do stands in for the Alipay
//     app and creates the trade. qr_code URLs point at this simulator
//     (/qr/{code}) rather than qr.alipay.com.
//   - Bills are served for any day up to today (Alipay: from the next day);
//     the fee is 0.6 %, charged on payments and returned pro rata on
//     refunds (服务费 negative when charged, positive when returned).
//   - alipay.trade.pay scenarios follow the auth code's last four digits:
//     0000 success, 1111 10003 (payer confirming) until PayerPays or
//     PayerFails, 2222 ACQ.BUYER_BALANCE_NOT_ENOUGH, 3333 20000 (unknown)
//     although the payment succeeded; any other valid code succeeds. Codes
//     must be 16–24 digits starting 25–30 (else ACQ.PAYMENT_AUTH_CODE_INVALID).
//   - No certificate mode, no AES content encryption, no app_auth_token.
package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/sim"
)

// Provider is the simulated provider's name.
const Provider = "alipay"

// Identities of the simulated application and merchant.
const (
	AppID    = "2021000000000001"
	SellerID = "2088000000000001"
)

// Keys are generated once per process: tests make many simulators.
var (
	keysOnce  sync.Once
	appKey    *rsa.PrivateKey // the merchant application's key
	alipayKey *rsa.PrivateKey // "Alipay's" key
	wrongKey  *rsa.PrivateKey // FaultBadSignature signs with this
	keysErr   error
)

func loadKeys() error {
	keysOnce.Do(func() {
		var keys []*rsa.PrivateKey
		if keys, keysErr = sim.GenerateRSAKeys(3); keysErr == nil {
			appKey, alipayKey, wrongKey = keys[0], keys[1], keys[2]
		}
	})
	return keysErr
}

// Sim is the Alipay simulator. It implements sim.Simulator.
type Sim struct {
	opts  sim.Options
	clock clock.Clock
	log   *slog.Logger
	http  *http.Client

	mu     sync.Mutex
	trades map[string]*trade
	// billAmounts are bill lines altered by AlterBillAmount, by out_trade_no.
	billAmounts map[string]int64
	seq         int64
	faults      sim.Faults
	billTokens  map[string]billToken
	held        map[string][]*notification // out_of_order_notify: payment callbacks waiting for a later one
	agreements  map[string]*agreement      // by external_agreement_no
	transfers   map[string]*transfer       // by out_biz_no (transfers.go)
	// settlements are the profit sharing settlements, by out_request_no,
	// and royaltyBound the receivers bound (royalty.go).
	settlements  map[string]*settlement
	royaltyBound map[string]bool

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

var _ sim.Simulator = (*Sim)(nil)

// New returns a simulator with its own keys and an empty trade book.
func New(o sim.Options) (*Sim, error) {
	if err := loadKeys(); err != nil {
		return nil, fmt.Errorf("alipay sim: generate keys: %w", err)
	}
	o = o.WithDefaults()
	s := &Sim{
		opts:       o,
		clock:      o.Clock,
		log:        o.Logger,
		http:       o.HTTPClient,
		trades:     map[string]*trade{},
		billTokens: map[string]billToken{},
		held:       map[string][]*notification{},
		agreements: map[string]*agreement{},
		stop:       make(chan struct{}),
	}
	return s, nil
}

// Provider returns "alipay".
func (s *Sim) Provider() string { return Provider }

// Account returns the settings a connector needs: the gateway URL under
// baseURL, the app id, the Alipay public key, the seller id and the app's
// private key.
func (s *Sim) Account(baseURL string) channel.Account {
	return channel.Account{
		Provider: Provider,
		BaseURL:  strings.TrimRight(baseURL, "/") + "/gateway.do",
		Config: map[string]string{
			"app_id":            AppID,
			"alipay_public_key": PublicKeyPEM(),
			"seller_id":         SellerID,
			// The 商家扣款 scene agreed with Alipay (withholding).
			"agreement_sign_scene": "INDUSTRY|DIGITAL_MEDIA",
		},
		Secrets: map[string]string{"private_key": AppPrivateKeyPEM()},
	}
}

// PublicKeyPEM is the simulated Alipay public key (PKIX PEM).
func PublicKeyPEM() string {
	_ = loadKeys()
	der, _ := x509.MarshalPKIXPublicKey(&alipayKey.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// AppPrivateKeyPEM is the simulated application's private key (PKCS #8 PEM,
// as Alipay's key tool writes it).
func AppPrivateKeyPEM() string {
	_ = loadKeys()
	der, _ := x509.MarshalPKCS8PrivateKey(appKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// SignAsApp signs content with the application's key; tests use it to build
// requests by hand.
func SignAsApp(content string) (string, error) {
	if err := loadKeys(); err != nil {
		return "", err
	}
	return signRSA2(appKey, content)
}

// SetFault makes the next count API calls (or, for the callback faults,
// callbacks) misbehave; count 0 means until SetFault(FaultNone, 0).
func (s *Sim) SetFault(f sim.Fault, count int) { s.faults.Set(f, count) }

// takeFault reports whether the current fault is one of fs, using up one of
// its count.
func (s *Sim) takeFault(fs ...sim.Fault) bool { return s.faults.Take(fs...) != sim.FaultNone }

// Close stops the callback senders and waits for them.
func (s *Sim) Close() {
	s.once.Do(func() {
		s.mu.Lock() // notify starts senders under s.mu, so none starts after this
		close(s.stop)
		s.mu.Unlock()
	})
	s.wg.Wait()
}

// ServeHTTP serves /gateway.do, the QR and bill paths and the /_sim/ control API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/gateway.do":
		s.serveGateway(w, r)
	case strings.HasPrefix(r.URL.Path, "/qr/") && r.Method == http.MethodGet:
		s.serveQR(w, r)
	case r.URL.Path == "/bill/download" && r.Method == http.MethodGet:
		s.serveBill(w, r)
	case strings.HasPrefix(r.URL.Path, "/_sim/"):
		s.serveControl(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveControl is the /_sim/ API shared by every simulator.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_sim/")
	switch {
	case path == "account" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Account(baseURL(r)))
	case path == "fault" && r.Method == http.MethodPost:
		f, count, err := sim.DecodeFault(r.Body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.SetFault(f, count)
		w.WriteHeader(http.StatusNoContent)
	case path == "fault" && r.Method == http.MethodDelete:
		s.SetFault(sim.FaultNone, 0)
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "agreements/"):
		s.serveAgreementControl(w, r, path)
	case strings.HasPrefix(path, "trades/") && r.Method == http.MethodPost:
		no, action, ok := strings.Cut(strings.TrimPrefix(path, "trades/"), "/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		var err error
		switch action {
		case "pay":
			err = s.PayerPays(no)
		case "fail":
			err = s.PayerFails(no)
		case "scan":
			err = s.Scan(no)
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
