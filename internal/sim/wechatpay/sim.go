// Package wechatpay simulates WeChat Pay for tests and demos: API v3 (JSON,
// WECHATPAY2-SHA256-RSA2048) and the API v2 (XML) micropay calls, over
// HTTP on the provider's real paths.
//
// Served: POST /v3/pay/transactions/{native,jsapi,app,h5};
// GET /v3/pay/transactions/out-trade-no/{no} and /id/{transaction_id};
// POST /v3/pay/transactions/out-trade-no/{no}/close;
// POST /v3/refund/domestic/refunds and GET …/refunds/{out_refund_no};
// GET /v3/bill/tradebill and its download URL (/v3/billdownload/file);
// POST /pay/micropay, /secapi/pay/reverse and /pay/orderquery (v2);
// and the /_sim/ control API of package sim. Cross-border: WeChat Pay
// Global's /v3/global/ transactions and refunds, in foreign currencies
// converted to CNY at test rates (global.go).
//
// Faithful: the request signature is checked as WeChat does (scheme, mchid,
// merchant serial, timestamp within 5 minutes, SHA256withRSA over
// METHOD\nURI\nTS\nNONCE\nBODY\n with the exact URI and body) and refused
// with 401 SIGN_ERROR; answers (errors included) carry Wechatpay-Timestamp,
// -Nonce, -Serial and -Signature made with the platform key; errors are
// {code, message} with WeChat's statuses (400 PARAM_ERROR, 404
// ORDER_NOT_EXIST / RESOURCE_NOT_EXISTS, 403 OUT_TRADE_NO_USED, 400
// ORDERPAID, ORDER_CLOSED, INVALID_REQUEST, 202 USER_PAYING, 500
// SYSTEM_ERROR); trade states NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED,
// REVOKED, PAYERROR; a create repeated with the same parameters answers the
// same prepay, with others OUT_TRADE_NO_USED; notifications are JSON
// envelopes whose resource is AEAD_AES_256_GCM-encrypted with the APIv3 key
// and which are signed with the platform key, posted to the notify_url the
// trade or refund carried, retried after 15s, 15s, 30s, 3m, 10m, 20m, 30m,
// 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h (× Options.RetryScale) until a 2xx; v2
// calls are signed (MD5 or HMAC-SHA256) both ways; bills are the ALL/SUCCESS/
// REFUND trade bill CSV (back-quoted fields, summary lines) with a SHA1.
//
// Micropay auth codes must be 18 digits starting 10–15 (else
// AUTH_CODE_INVALID). By their last four digits:
//
//	…0000  SUCCESS at once
//	…1111  USERPAYING until PayerPays (SUCCESS) or PayerFails (PAYERROR)
//	…2222  NOTENOUGH: declined, the trade ends PAYERROR
//	…3333  SYSTEMERROR, yet the payment went through (a query says SUCCESS);
//	       its first reverse answers SYSTEMERROR with recall=Y
//	other  SUCCESS at once
//
// 委托代扣 (papay.go): the signing page where the simulated payer signs or
// refuses (SignContract, RefuseContract, or the page's buttons), contract and deduction
// notifications, the payer's termination (TerminateContract), and refusals
// (RULELIMIT above the template's limit, CONTRACT_NOT_EXIST, NOTENOUGH
// through SetBalance). What it simplifies is listed there.
//
// Simplified: one merchant (mchid, appid) and one platform key; notify_url
// may be plain http; no 5-minute wait before close; a reverse needs no
// client certificate (production's /secapi/ requires mutual TLS) and works
// on any trade not refunded; a refund is PROCESSING when accepted and
// SUCCESS 5 s × RetryScale later (then REFUND.SUCCESS is posted to its
// notify_url); an unpaid trade closes at its time_expire (default 2 h);
// bills are served for any past or current day (WeChat only from the next
// morning), without tar_type=GZIP; v2 micropay trades post no notifications.
package wechatpay

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/sim"
)

// Provider is the provider's name, as the connector's.
const Provider = "wechatpay"

// The simulated merchant.
const (
	MchID    = "1900000109"
	AppID    = "wxd930ea5d5a258f4f"
	apiV3Key = "Paygate0SimulatorApiV3Key0000032" // 32 ASCII bytes
	apiV2Key = "192006250b4c09247ec02edce69f6a2d"
)

// cst is China Standard Time.
var cst = time.FixedZone("CST", 8*3600)

// Keys are generated once per process: RSA generation is slow and tests
// make many simulators.
var (
	keysOnce                           sync.Once
	merchantKey, platformKey, wrongKey *rsa.PrivateKey
	merchantSerial, platformSerial     string
	merchantKeyPEM, platformPublicPEM  string
)

func loadKeys() {
	keysOnce.Do(func() {
		keys, err := sim.GenerateRSAKeys(3)
		if err != nil {
			panic(fmt.Sprintf("wechatpay sim: generate RSA key: %v", err)) // the system's randomness failed
		}
		merchantKey, platformKey, wrongKey = keys[0], keys[1], keys[2]
		der, _ := x509.MarshalPKIXPublicKey(&merchantKey.PublicKey)
		sum := sha1.Sum(der)
		merchantSerial = strings.ToUpper(hex.EncodeToString(sum[:]))
		platformSerial = "PUB_KEY_ID_0119000001092025000000000001"
		p8, _ := x509.MarshalPKCS8PrivateKey(merchantKey)
		merchantKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
		pub, _ := x509.MarshalPKIXPublicKey(&platformKey.PublicKey)
		platformPublicPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	})
}

// Sim is a simulated WeChat Pay. It implements sim.Simulator.
type Sim struct {
	opts  sim.Options
	clock clock.Clock
	log   *slog.Logger
	http  *http.Client
	mux   *http.ServeMux

	ctx    context.Context // ends at Close; background work watches it
	cancel context.CancelFunc
	bgMu   sync.Mutex // guards closed and every wg.Add, so none races Close's Wait
	closed bool
	wg     sync.WaitGroup

	mu     sync.Mutex
	trades map[string]*trade // by out_trade_no
	// billAmounts are bill lines altered by AlterBillAmount, by out_trade_no.
	billAmounts map[string]int64
	refunds     map[string]*refund
	// transfers are the transfer batches made, by out_batch_no (transfers.go).
	transfers map[string]*transferBatch
	// sharings are the profit sharings made, by out_order_no, and
	// sharingReceivers the receivers added (profitsharing.go).
	sharings         map[string]*sharing
	sharingReceivers map[string]bool
	// receiverNames the names tests expect (ExpectReceiverName);
	// addedNames the names receivers were added with, decrypted.
	receiverNames, addedNames map[string]string
	// returns the profit sharing returns, by out_return_no.
	returns map[string]*sharingReturn
	bills   map[string][]byte // download token → file
	held    map[string]*notification
	// contracts are the 委托代扣 contracts, by contract_code.
	contracts map[string]*contract
	seq       int64
	faults    sim.Faults
	// rates are the global API's rates to CNY × 10^8, by currency (global.go).
	rates map[string]int64
}

// New returns a simulator. Close it to stop its notification sender.
func New(o sim.Options) (*Sim, error) {
	loadKeys()
	if o.RetryScale < 0 {
		return nil, errors.New("wechatpay sim: negative RetryScale")
	}
	o = o.WithDefaults()
	s := &Sim{
		opts: o, clock: o.Clock, log: o.Logger, http: o.HTTPClient,
		trades: map[string]*trade{}, refunds: map[string]*refund{}, bills: map[string][]byte{}, held: map[string]*notification{},
		contracts: map[string]*contract{}, rates: defaultRates(),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = http.NewServeMux()
	s.routes()
	return s, nil
}

func (s *Sim) routes() {
	for _, kind := range []string{"native", "jsapi", "app", "h5"} {
		s.mux.Handle("POST /v3/pay/transactions/"+kind, s.v3(func(r *v3Request) (int, any) { return s.create(r, kind) }))
	}
	s.mux.Handle("GET /v3/pay/transactions/out-trade-no/{no}", s.v3(s.queryByOutTradeNo))
	s.mux.Handle("GET /v3/pay/transactions/id/{id}", s.v3(s.queryByTransactionID))
	s.mux.Handle("POST /v3/pay/transactions/out-trade-no/{no}/close", s.v3(s.close))
	s.mux.Handle("POST /v3/refund/domestic/refunds", s.v3(s.refund))
	s.mux.Handle("GET /v3/refund/domestic/refunds/{no}", s.v3(s.refundQuery))
	s.mux.Handle("GET /v3/bill/tradebill", s.v3(s.tradeBill))
	s.globalRoutes()
	s.mux.Handle("POST /v3/transfer/batches", s.v3(s.createTransferBatch))
	s.mux.Handle("GET /v3/transfer/batches/out-batch-no/{batch}/details/out-detail-no/{detail}", s.v3(s.transferDetail))
	s.mux.Handle("POST /v3/profitsharing/receivers/add", s.v3(s.addReceiver))
	s.mux.Handle("POST /v3/profitsharing/orders", s.v3(s.createSharing))
	s.mux.Handle("GET /v3/profitsharing/orders/{no}", s.v3(s.querySharing))
	s.mux.Handle("POST /v3/profitsharing/orders/unfreeze", s.v3(s.unfreezeSharing))
	s.mux.Handle("POST /v3/profitsharing/return-orders", s.v3(s.createReturn))
	s.mux.Handle("GET /v3/profitsharing/return-orders/{no}", s.v3(s.queryReturn))
	s.mux.HandleFunc("GET /v3/billdownload/file", s.billDownload)
	s.mux.Handle("POST /pay/micropay", s.v2(s.micropay))
	s.mux.Handle("POST /secapi/pay/reverse", s.v2(s.reverse))
	s.mux.Handle("POST /pay/orderquery", s.v2(s.orderQuery))
	s.papayRoutes()

	s.mux.HandleFunc("POST /_sim/trades/{no}/pay", s.control(func(r *http.Request) error { return s.PayerPays(r.PathValue("no")) }))
	s.mux.HandleFunc("POST /_sim/trades/{no}/fail", s.control(func(r *http.Request) error { return s.PayerFails(r.PathValue("no")) }))
	s.mux.HandleFunc("POST /_sim/fault", s.control(func(r *http.Request) error {
		f, count, err := sim.DecodeFault(r.Body)
		if err != nil {
			return err // 400
		}
		s.SetFault(f, count)
		return nil
	}))
	s.mux.HandleFunc("DELETE /_sim/fault", s.control(func(*http.Request) error { s.SetFault(sim.FaultNone, 0); return nil }))
	s.mux.HandleFunc("GET /_sim/account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Account(baseURL(r)))
	})
}

// control adapts a /_sim/ action: 204, or 404/409/400 with {"error":…}.
func (s *Sim) control(act func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := act(r)
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, channel.ErrTradeNotFound):
			status = http.StatusNotFound
		case errors.Is(err, channel.ErrAlreadyPaid):
			status = http.StatusConflict
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
	}
}

// baseURL is the simulator's own address as the request reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ServeHTTP serves WeChat Pay's API and the /_sim/ control API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Provider returns "wechatpay".
func (s *Sim) Provider() string { return Provider }

// Account returns the settings a connector needs to talk to this simulator.
func (s *Sim) Account(baseURL string) channel.Account {
	return channel.Account{
		Provider: Provider,
		BaseURL:  baseURL,
		Config: map[string]string{
			"mchid": MchID, "appid": AppID, "serial_no": merchantSerial,
			"platform_serial": platformSerial, "platform_public_key": platformPublicPEM,
			"papay_plan_id": PlanID,
		},
		Secrets: map[string]string{"private_key": merchantKeyPEM, "api_v3_key": apiV3Key, "api_v2_key": apiV2Key},
	}
}

// SetFault makes the next count API calls (and, for the notify faults and
// bad_signature, notifications) misbehave; count 0 means until cleared.
func (s *Sim) SetFault(f sim.Fault, count int) { s.faults.Set(f, count) }

// Close stops background work (notification retries, refund settlement) and waits for it.
func (s *Sim) Close() {
	s.bgMu.Lock()
	s.closed = true
	s.bgMu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// background counts one more background goroutine; false once closed.
func (s *Sim) background() bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// later runs f after d unless the simulator closes first.
func (s *Sim) later(d time.Duration, f func()) {
	if !s.background() {
		return
	}
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
		case <-t.C:
			f()
		}
	}()
}

// hang holds an answer for FaultTimeout: until the client gives up or Hang passes.
func (s *Sim) hang(r *http.Request) {
	t := time.NewTimer(s.opts.Hang)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-s.ctx.Done():
	case <-t.C:
	}
}

// readBody reads a request body, bounded.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}
