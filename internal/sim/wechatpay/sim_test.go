package wechatpay_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	connector "github.com/paygate/paygate/internal/channel/wechatpay"
	"github.com/paygate/paygate/internal/sim"
	"github.com/paygate/paygate/internal/sim/wechatpay"
)

// env is a simulator on loopback and a raw client that signs as a merchant would.
type env struct {
	sim     *wechatpay.Sim
	srv     *httptest.Server
	acct    channel.Account
	key     *rsa.PrivateKey
	pub     *rsa.PublicKey // the platform key
	serial  string
	nowFunc func() time.Time
}

func newEnv(t *testing.T, o sim.Options) *env {
	t.Helper()
	s, err := wechatpay.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	a := s.Account(srv.URL)
	block, _ := pem.Decode([]byte(a.Secrets["private_key"]))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := pem.Decode([]byte(a.Config["platform_public_key"]))
	pub, err := x509.ParsePKIXPublicKey(pb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, acct: a, key: k.(*rsa.PrivateKey), pub: pub.(*rsa.PublicKey), serial: a.Config["serial_no"], nowFunc: time.Now}
}

// call sends a v3 request signed over signedURI and signedBody (normally
// what is sent), with the given mchid and serial, at the env's time.
type call struct {
	method, uri, body        string
	signedURI, signedBody    string
	mchID, serial, timestamp string
	key                      *rsa.PrivateKey
}

func (e *env) do(t *testing.T, c call) (int, errorAnswer, http.Header, []byte) {
	t.Helper()
	if c.signedURI == "" {
		c.signedURI = c.uri
	}
	if c.signedBody == "" {
		c.signedBody = c.body
	}
	if c.mchID == "" {
		c.mchID = wechatpay.MchID
	}
	if c.serial == "" {
		c.serial = e.serial
	}
	if c.timestamp == "" {
		c.timestamp = strconv.FormatInt(e.nowFunc().Unix(), 10)
	}
	if c.key == nil {
		c.key = e.key
	}
	nonce := "593BEC0C930BF1AFEB40B4A08C8FB242"
	sig, err := connector.SignSHA256RSA(c.key, connector.SigningMessage(c.method, c.signedURI, c.timestamp, nonce, c.signedBody))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(c.method, e.srv.URL+c.uri, strings.NewReader(c.body))
	req.Header.Set("Authorization", connector.AuthorizationHeader(c.mchID, c.serial, nonce, c.timestamp, sig))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var ea errorAnswer
	json.Unmarshal(data, &ea)
	return resp.StatusCode, ea, resp.Header, data
}

type errorAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

const nativeBody = `{"appid":"wxd930ea5d5a258f4f","mchid":"1900000109","description":"Tea","out_trade_no":"ord_SIMTEST000000000000000001","notify_url":"https://shop.example/notify","amount":{"total":100,"currency":"CNY"}}`

func TestRequestSignatureIsChecked(t *testing.T) {
	e := newEnv(t, sim.Options{})
	wrong, err := rsa.GenerateKey(rand.Reader, 2048) // not the merchant's key
	if err != nil {
		t.Fatal(err)
	}
	stale := strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10)
	tests := []struct {
		name string
		c    call
	}{
		{"tampered body", call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody, signedBody: strings.Replace(nativeBody, "100", "1", 1)}},
		{"other URI signed", call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/x123456?mchid=1900000109", signedURI: "/v3/pay/transactions/out-trade-no/x123456"}},
		{"stale timestamp", call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody, timestamp: stale}},
		{"unknown serial", call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody, serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"}},
		{"other merchant", call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody, mchID: "1230000109"}},
		{"wrong key", call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody, key: wrong}},
	}
	for _, tt := range tests {
		status, ea, h, body := e.do(t, tt.c)
		if status != http.StatusUnauthorized || ea.Code != "SIGN_ERROR" {
			t.Errorf("%s: %d %s, want 401 SIGN_ERROR", tt.name, status, body)
		}
		if err := e.verifyAnswer(h, body); err != nil {
			t.Errorf("%s: the error answer is not signed: %v", tt.name, err)
		}
	}
	// No Authorization at all.
	resp, err := http.Post(e.srv.URL+"/v3/pay/transactions/native", "application/json", strings.NewReader(nativeBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request: %d, want 401", resp.StatusCode)
	}
	// The genuine request goes through, and its answer is signed.
	status, _, h, body := e.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody})
	if status != http.StatusOK || !strings.Contains(string(body), `"code_url":"weixin://wxpay/bizpayurl?pr=`) {
		t.Fatalf("genuine create: %d %s", status, body)
	}
	if err := e.verifyAnswer(h, body); err != nil {
		t.Fatalf("answer signature: %v", err)
	}
}

func (e *env) verifyAnswer(h http.Header, body []byte) error {
	if h.Get("Wechatpay-Serial") != e.acct.Config["platform_serial"] {
		return io.ErrUnexpectedEOF
	}
	return connector.VerifySHA256RSA(e.pub, connector.SigningMessage(h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce"), string(body)), h.Get("Wechatpay-Signature"))
}

func TestParameterErrors(t *testing.T) {
	e := newEnv(t, sim.Options{})
	tests := []struct {
		name, uri, body, code string
		status                int
	}{
		{"no amount", "/v3/pay/transactions/native", `{"appid":"wxd930ea5d5a258f4f","mchid":"1900000109","description":"T","out_trade_no":"abcdef1","notify_url":"https://x"}`, "PARAM_ERROR", 400},
		{"jsapi without openid", "/v3/pay/transactions/jsapi", strings.Replace(nativeBody, "ord_SIMTEST000000000000000001", "abcdef2", 1), "PARAM_ERROR", 400},
		{"h5 without scene", "/v3/pay/transactions/h5", strings.Replace(nativeBody, "ord_SIMTEST000000000000000001", "abcdef3", 1), "PARAM_ERROR", 400},
		{"bad out_trade_no", "/v3/pay/transactions/native", strings.Replace(nativeBody, "ord_SIMTEST000000000000000001", "a b", 1), "PARAM_ERROR", 400},
		{"other appid", "/v3/pay/transactions/native", strings.Replace(nativeBody, "wxd930ea5d5a258f4f", "wx0000000000000000", 1), "APPID_MCHID_NOT_MATCH", 400},
		{"not json", "/v3/pay/transactions/native", `{`, "PARAM_ERROR", 400},
		{"refund of nothing", "/v3/refund/domestic/refunds", `{"out_trade_no":"nosuch1","out_refund_no":"rfd_1abc","amount":{"refund":1,"total":1,"currency":"CNY"}}`, "RESOURCE_NOT_EXISTS", 404},
		{"refund without amount", "/v3/refund/domestic/refunds", `{"out_trade_no":"nosuch1","out_refund_no":"rfd_1abc"}`, "PARAM_ERROR", 400},
	}
	for _, tt := range tests {
		status, ea, _, body := e.do(t, call{method: "POST", uri: tt.uri, body: tt.body})
		if status != tt.status || ea.Code != tt.code || ea.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}
	status, ea, _, _ := e.do(t, call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/nosuch123?mchid=1900000109"})
	if status != 404 || ea.Code != "ORDER_NOT_EXIST" {
		t.Errorf("query of nothing: %d %s", status, ea.Code)
	}
	status, ea, _, _ = e.do(t, call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/nosuch123"})
	if status != 400 || ea.Code != "PARAM_ERROR" {
		t.Errorf("query without mchid: %d %s", status, ea.Code)
	}
	// Close answers 204 with a signed empty body; a second close too.
	e.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody})
	for range 2 {
		status, _, h, body := e.do(t, call{method: "POST", uri: "/v3/pay/transactions/out-trade-no/ord_SIMTEST000000000000000001/close", body: `{"mchid":"1900000109"}`})
		if status != http.StatusNoContent || len(body) != 0 || e.verifyAnswer(h, body) != nil {
			t.Errorf("close: %d %q", status, body)
		}
	}
}

func TestV2SignIsChecked(t *testing.T) {
	e := newEnv(t, sim.Options{})
	params := map[string]string{
		"appid": wechatpay.AppID, "mch_id": wechatpay.MchID, "nonce_str": "ibuaiVcKdpRxkhJA", "body": "Cake",
		"out_trade_no": "mp0000001", "total_fee": "100", "spbill_create_ip": "127.0.0.1", "auth_code": "134567890123450000",
	}
	post := func(p map[string]string) string {
		var b bytes.Buffer
		b.WriteString("<xml>")
		for k, v := range p {
			b.WriteString("<" + k + ">" + v + "</" + k + ">")
		}
		b.WriteString("</xml>")
		resp, err := http.Post(e.srv.URL+"/pay/micropay", "text/xml", &b)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return string(data)
	}
	params["sign"], _ = connector.V2Sign(params, "not the key", connector.SignTypeMD5)
	if got := post(params); !strings.Contains(got, "<return_code><![CDATA[FAIL]]></return_code>") || !strings.Contains(got, "签名错误") {
		t.Errorf("wrong sign: %s", got)
	}
	// MD5 (no sign_type) with the right key is accepted, and so answered.
	params["sign"], _ = connector.V2Sign(params, e.acct.Secrets["api_v2_key"], connector.SignTypeMD5)
	got := post(params)
	if !strings.Contains(got, "<result_code><![CDATA[SUCCESS]]></result_code>") || !strings.Contains(got, "<trade_type><![CDATA[MICROPAY]]></trade_type>") {
		t.Fatalf("MD5-signed micropay: %s", got)
	}
}

func TestBillFile(t *testing.T) {
	e := newEnv(t, sim.Options{RetryScale: 0.0005})
	e.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody})
	if err := e.sim.PayerPays("ord_SIMTEST000000000000000001"); err != nil {
		t.Fatal(err)
	}
	status, _, _, _ := e.do(t, call{method: "POST", uri: "/v3/refund/domestic/refunds", body: `{"out_trade_no":"ord_SIMTEST000000000000000001","out_refund_no":"rfd_SIMTEST1","amount":{"refund":40,"total":100,"currency":"CNY"}}`})
	if status != 200 {
		t.Fatalf("refund: %d", status)
	}
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	status, _, _, body := e.do(t, call{method: "GET", uri: "/v3/bill/tradebill?bill_date=" + day + "&bill_type=ALL"})
	var ans struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	json.Unmarshal(body, &ans)
	if status != 200 || ans.HashType != "SHA1" || !strings.HasPrefix(ans.DownloadURL, e.srv.URL+"/") {
		t.Fatalf("tradebill: %d %s", status, body)
	}
	uri := strings.TrimPrefix(ans.DownloadURL, e.srv.URL)
	status, _, _, file := e.do(t, call{method: "GET", uri: uri})
	sum := sha1.Sum(file)
	if status != 200 || hex.EncodeToString(sum[:]) != ans.HashValue {
		t.Fatalf("download: %d, sha1 %x want %s", status, sum, ans.HashValue)
	}
	lines := strings.Split(strings.TrimSuffix(string(file), "\r\n"), "\r\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号") || lines[3] != "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额" {
		t.Fatalf("bill layout:\n%s", file)
	}
	for _, l := range lines[1:3] {
		for _, f := range strings.Split(l, ",") {
			if !strings.HasPrefix(f, "`") {
				t.Fatalf("field %q of %q lacks the back-quote", f, l)
			}
		}
	}
	if lines[4] != "`2,`1.00,`0.40,`0.00,`0.01,`1.00,`0.40" {
		t.Errorf("summary %q", lines[4])
	}
	// An unsigned download is refused.
	resp, err := http.Get(ans.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned download: %d", resp.StatusCode)
	}
}

// recorder counts callbacks and answers them with status.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	status int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	st := r.status
	r.mu.Unlock()
	w.WriteHeader(st)
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.bodies) }

func TestNotificationRetrySchedule(t *testing.T) {
	// The whole schedule (about 24 h) in under a second.
	e := newEnv(t, sim.Options{RetryScale: 0.00001})
	rec := &recorder{status: http.StatusInternalServerError}
	hook := httptest.NewServer(rec)
	defer hook.Close()
	body := strings.Replace(nativeBody, "https://shop.example/notify", hook.URL+"/n", 1)
	e.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: body})
	if err := e.sim.PayerPays("ord_SIMTEST000000000000000001"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rec.count() < 16 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // time for a 17th, which must not come
	if n := rec.count(); n != 16 {
		t.Fatalf("%d attempts, want 16 (the first and 15 retries)", n)
	}
	for _, b := range rec.bodies[1:] {
		if !bytes.Equal(b, rec.bodies[0]) {
			t.Fatal("a retry changed the notification body")
		}
	}
	// A 2xx stops the retries.
	rec2 := &recorder{status: http.StatusNoContent}
	hook2 := httptest.NewServer(rec2)
	defer hook2.Close()
	body = strings.Replace(strings.Replace(nativeBody, "https://shop.example/notify", hook2.URL+"/n", 1), "ord_SIMTEST000000000000000001", "ord_SIMTEST000000000000000002", 1)
	e.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: body})
	e.sim.PayerPays("ord_SIMTEST000000000000000002")
	time.Sleep(200 * time.Millisecond)
	if n := rec2.count(); n != 1 {
		t.Fatalf("acknowledged notification sent %d times, want 1", n)
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: nativeBody})
	post := func(path, body string) int {
		resp, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("/_sim/trades/ord_SIMTEST000000000000000001/pay", ""); st != http.StatusNoContent {
		t.Fatalf("pay: %d", st)
	}
	if st := post("/_sim/trades/ord_SIMTEST000000000000000001/pay", ""); st != http.StatusConflict {
		t.Errorf("pay twice: %d, want 409", st)
	}
	if st := post("/_sim/trades/nosuch/fail", ""); st != http.StatusNotFound {
		t.Errorf("fail of nothing: %d, want 404", st)
	}
	if st := post("/_sim/fault", `{"fault":"5xx","count":1}`); st != http.StatusNoContent {
		t.Fatalf("fault: %d", st)
	}
	if status, ea, _, _ := e.do(t, call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/ord_SIMTEST000000000000000001?mchid=1900000109"}); status != 500 || ea.Code != "SYSTEM_ERROR" {
		t.Errorf("under 5xx: %d %s", status, ea.Code)
	}
	if status, _, _, body := e.do(t, call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/ord_SIMTEST000000000000000001?mchid=1900000109"}); status != 200 || !strings.Contains(string(body), `"trade_state":"SUCCESS"`) {
		t.Errorf("after the fault: %d %s", status, body)
	}
	resp, err := http.Get(e.srv.URL + "/_sim/account")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a channel.Account
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.BaseURL != e.srv.URL || a.Config["mchid"] != wechatpay.MchID {
		t.Fatalf("account: %+v, %v", a, err)
	}
	if _, err := connector.New(a); err != nil {
		t.Errorf("the served account does not make a connector: %v", err)
	}
}
