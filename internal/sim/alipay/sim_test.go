package alipay_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/sim"
	simalipay "github.com/paygate/paygate/internal/sim/alipay"
)

var cst = time.FixedZone("CST", 8*3600)

func start(t *testing.T, c clock.Clock) (*simalipay.Sim, *httptest.Server) {
	t.Helper()
	s, err := simalipay.New(sim.Options{Clock: c, RetryScale: 0.0005})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return s, srv
}

// request is a hand-built gateway call: the common parameters, signed with
// the application key unless sign is set.
func request(t *testing.T, method, biz string, now time.Time, edit func(p map[string]string)) url.Values {
	t.Helper()
	p := map[string]string{
		"app_id": simalipay.AppID, "method": method, "format": "JSON", "charset": "utf-8",
		"sign_type": "RSA2", "timestamp": now.In(cst).Format("2006-01-02 15:04:05"), "version": "1.0",
		"biz_content": biz,
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+p[k])
	}
	sign, err := simalipay.SignAsApp(strings.Join(parts, "&"))
	if err != nil {
		t.Fatal(err)
	}
	p["sign"] = sign
	if edit != nil {
		edit(p)
	}
	v := url.Values{}
	for k, val := range p {
		v.Set(k, val)
	}
	return v
}

// call posts form and returns the answer's member name, its raw text, its
// fields and whether "sign" verifies over the raw text.
func call(t *testing.T, srv *httptest.Server, form url.Values) (name, raw string, fields map[string]any, signed bool) {
	t.Helper()
	res, err := http.PostForm(srv.URL+"/gateway.do", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", res.StatusCode, body)
	}
	m := regexp.MustCompile(`^\{"([a-z_]+)":(\{.*\})(?:,"sign":"([^"]*)")?\}$`).FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("answer is not {\"x_response\":{…},\"sign\":…}: %s", body)
	}
	if err := json.Unmarshal([]byte(m[2]), &fields); err != nil {
		t.Fatal(err)
	}
	return m[1], m[2], fields, m[3] != "" && verifies(t, m[2], m[3])
}

func verifies(t *testing.T, content, sign string) bool {
	block, _ := pem.Decode([]byte(simalipay.PublicKeyPEM()))
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(content))
	return rsa.VerifyPKCS1v15(k.(*rsa.PublicKey), crypto.SHA256, sum[:], sig) == nil
}

func TestGatewayChecksRequests(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	_, srv := start(t, clock.NewFake(now))
	biz := `{"out_trade_no":"ord_1","total_amount":"1.00","subject":"s"}`
	tests := []struct {
		name       string
		method     string
		biz        string
		at         time.Time
		edit       func(p map[string]string)
		member     string
		code, sub  string
		wantSigned bool
	}{
		{"wrong signature", "alipay.trade.precreate", biz, now, func(p map[string]string) {
			p["sign"] = base64.StdEncoding.EncodeToString(make([]byte, 256))
		}, "alipay_trade_precreate_response", "40002", "isv.invalid-signature", true},
		{"changed after signing", "alipay.trade.precreate", biz, now, func(p map[string]string) {
			p["biz_content"] = strings.Replace(p["biz_content"], "1.00", "0.01", 1)
		}, "alipay_trade_precreate_response", "40002", "isv.invalid-signature", true},
		{"stale timestamp", "alipay.trade.precreate", biz, now.Add(-31 * time.Minute), nil,
			"alipay_trade_precreate_response", "40002", "isv.invalid-timestamp", true},
		{"future timestamp", "alipay.trade.precreate", biz, now.Add(31 * time.Minute), nil,
			"alipay_trade_precreate_response", "40002", "isv.invalid-timestamp", true},
		{"RSA sign type", "alipay.trade.precreate", biz, now, func(p map[string]string) { p["sign_type"] = "RSA" },
			"alipay_trade_precreate_response", "40002", "isv.invalid-signature-type", true},
		{"no sign", "alipay.trade.precreate", biz, now, func(p map[string]string) { delete(p, "sign") },
			"alipay_trade_precreate_response", "40001", "isv.missing-signature", true},
		{"unknown app", "alipay.trade.precreate", biz, now, func(p map[string]string) { p["app_id"] = "2021000000000999" },
			"error_response", "40002", "isv.invalid-app-id", false},
		{"unknown method", "alipay.trade.nope", biz, now, nil, "error_response", "40002", "isv.invalid-method", false},
		{"missing subject", "alipay.trade.precreate", `{"out_trade_no":"ord_1","total_amount":"1.00"}`, now, nil,
			"alipay_trade_precreate_response", "40002", "isv.missing-subject", true},
		{"bad amount", "alipay.trade.precreate", `{"out_trade_no":"ord_1","total_amount":"1.001","subject":"s"}`, now, nil,
			"alipay_trade_precreate_response", "40004", "ACQ.INVALID_PARAMETER", true},
		{"unknown trade", "alipay.trade.query", `{"out_trade_no":"ord_nope"}`, now, nil,
			"alipay_trade_query_response", "40004", "ACQ.TRADE_NOT_EXIST", true},
		{"ok", "alipay.trade.precreate", biz, now.Add(29 * time.Minute), nil,
			"alipay_trade_precreate_response", "10000", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, raw, f, signed := call(t, srv, request(t, tc.method, tc.biz, tc.at, tc.edit))
			if name != tc.member || f["code"] != tc.code || (tc.sub != "" && f["sub_code"] != tc.sub) || signed != tc.wantSigned {
				t.Fatalf("answer %s %s (signed %v), want %s code %s sub_code %s (signed %v)", name, raw, signed, tc.member, tc.code, tc.sub, tc.wantSigned)
			}
		})
	}
}

// Answers are signed over their exact text, in which Alipay escapes "/".
func TestAnswersEscapeSlashes(t *testing.T) {
	_, srv := start(t, nil)
	_, raw, f, signed := call(t, srv, request(t, "alipay.trade.precreate", `{"out_trade_no":"ord_2","total_amount":"12.34","subject":"a/b"}`, time.Now(), nil))
	if !signed || !strings.Contains(raw, `:\/\/`) || !strings.HasPrefix(f["qr_code"].(string), srv.URL+"/qr/") {
		t.Fatalf("precreate answer %s (signed %v)", raw, signed)
	}
}

func TestControlAPI(t *testing.T) {
	s, srv := start(t, nil)
	res, err := http.Get(srv.URL + "/_sim/account")
	if err != nil {
		t.Fatal(err)
	}
	var acct channel.Account
	if err := json.NewDecoder(res.Body).Decode(&acct); err != nil || acct.BaseURL != srv.URL+"/gateway.do" || acct.Config["app_id"] != simalipay.AppID || acct.Secrets["private_key"] == "" {
		t.Fatalf("account %+v, %v", acct, err)
	}
	res.Body.Close()

	call(t, srv, request(t, "alipay.trade.precreate", `{"out_trade_no":"ord_3","total_amount":"1.00","subject":"s"}`, time.Now(), nil))
	post := func(path, body string) int {
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("/_sim/trades/ord_3/scan", ""); code != http.StatusNoContent {
		t.Fatalf("scan: %d", code)
	}
	_, _, f, _ := call(t, srv, request(t, "alipay.trade.query", `{"out_trade_no":"ord_3"}`, time.Now(), nil))
	if f["trade_status"] != "WAIT_BUYER_PAY" {
		t.Fatalf("after scan: %v", f)
	}
	if code := post("/_sim/trades/ord_3/pay", ""); code != http.StatusNoContent {
		t.Fatalf("pay: %d", code)
	}
	if code := post("/_sim/trades/ord_3/pay", ""); code != http.StatusConflict {
		t.Fatalf("pay twice: %d, want 409", code)
	}
	if code := post("/_sim/fault", `{"fault":"5xx","count":1}`); code != http.StatusNoContent {
		t.Fatalf("fault: %d", code)
	}
	res, err = http.PostForm(srv.URL+"/gateway.do", request(t, "alipay.trade.query", `{"out_trade_no":"ord_3"}`, time.Now(), nil))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("under fault 5xx: HTTP %d", res.StatusCode)
	}
	_, _, f, _ = call(t, srv, request(t, "alipay.trade.query", `{"out_trade_no":"ord_3"}`, time.Now(), nil))
	if f["trade_status"] != "TRADE_SUCCESS" {
		t.Fatalf("after the one faulty call: %v", f)
	}
	_ = s
}

func TestBillURLExpires(t *testing.T) {
	fake := clock.NewFake(time.Now())
	_, srv := start(t, fake)
	_, _, f, signed := call(t, srv, request(t, "alipay.data.dataservice.bill.downloadurl.query", `{"bill_type":"trade","bill_date":"`+fake.Now().In(cst).Format("2006-01-02")+`"}`, fake.Now(), nil))
	u, _ := f["bill_download_url"].(string)
	if !signed || u == "" {
		t.Fatalf("bill url answer %v", f)
	}
	fake.Advance(31 * time.Second)
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("bill URL after 31 s: HTTP %d, want 404", res.StatusCode)
	}
}
