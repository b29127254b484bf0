package unionpay

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/sim"
)

type fixture struct {
	s   *Sim
	url string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := New(sim.Options{RetryScale: 0.0005, Hang: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return &fixture{s: s, url: srv.URL}
}

// request is a signed request with the common fields.
func (f *fixture) request(fields map[string]string) map[string]string {
	base := map[string]string{
		"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "accessType": "0",
		"merId": MerID, "certId": f.s.pki.merchantCertID, "bizType": "000000", "channelType": "08",
	}
	for k, v := range fields {
		base[k] = v
	}
	sign(base, f.s.pki.merchantKey)
	return base
}

// post sends fields as they are and returns the parsed, verified answer.
func (f *fixture) post(t *testing.T, path string, fields map[string]string) map[string]string {
	t.Helper()
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	res, err := http.PostForm(f.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", res.StatusCode, body)
	}
	answer := map[string]string{}
	for _, pair := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(pair, "=")
		answer[k] = v
	}
	if !verify(answer, &f.s.pki.upKey.PublicKey) {
		t.Fatalf("answer does not verify with UnionPay's key: %s", body)
	}
	if answer["signPubKeyCert"] != f.s.pki.upCertPEM {
		t.Fatal("answer lacks the signing certificate")
	}
	return answer
}

var txnTime = time.Now().In(cst).Format("20060102150405")

func qrRequest(orderID, amount string) map[string]string {
	return map[string]string{"txnType": "01", "txnSubType": "07", "orderId": orderID, "txnTime": txnTime,
		"txnAmt": amount, "currencyCode": "156", "backUrl": "http://127.0.0.1:1/notify"}
}

func TestRequestChecks(t *testing.T) {
	f := newFixture(t)
	good := f.request(qrRequest("ordTEST00000001", "100"))

	tampered := map[string]string{}
	for k, v := range good {
		tampered[k] = v
	}
	tampered["txnAmt"] = "1"
	wrongCert := f.request(qrRequest("ordTEST00000002", "100"))
	wrongCert["certId"] = "12345678901"

	stranger := f.request(qrRequest("ordTEST00000003", "100"))
	sign(stranger, f.s.pki.wrongKey)

	missing := f.request(map[string]string{"txnType": "01", "txnSubType": "07", "orderId": "ordTEST00000004", "txnTime": txnTime, "currencyCode": "156", "backUrl": "http://x/"})
	badOrder := f.request(qrRequest("ord_TEST0001", "100"))
	badAmount := f.request(qrRequest("ordTEST00000005", "1.00"))
	dollars := qrRequest("ordTEST00000006", "100")
	dollars["currencyCode"] = "840"
	oldVersion := f.request(qrRequest("ordTEST00000007", "100"))
	oldVersion["version"] = "5.0.0"
	sign(oldVersion, f.s.pki.merchantKey)

	tests := []struct {
		name   string
		fields map[string]string
		code   string
		msg    string
	}{
		{"good", good, "00", msgOK},
		{"repeated as it was", good, "00", msgOK},
		{"amount changed after signing", tampered, "11", msgSignature},
		{"unknown certId", wrongCert, "11", msgSignature},
		{"signed by a stranger", stranger, "11", msgSignature},
		{"txnAmt missing", missing, "13", msgMissing + "[txnAmt]"},
		{"orderId with _", badOrder, "10", msgFormat + "[orderId]"},
		{"amount in yuan", badAmount, "10", msgFormat + "[txnAmt]"},
		{"dollars", f.request(dollars), "10", msgFormat + "[currencyCode]"},
		{"version 5.0.0", oldVersion, "10", msgFormat + "[version/signMethod]"},
		{"same orderId, other amount", f.request(qrRequest("ordTEST00000001", "200")), "12", msgDuplicate},
		{"consumption cancel is not served", f.request(map[string]string{"txnType": "31", "txnSubType": "00"}), "32", msgNoPerm},
	}
	for _, tc := range tests {
		a := f.post(t, pathBackTrans, tc.fields)
		if a["respCode"] != tc.code || a["respMsg"] != tc.msg {
			t.Errorf("%s: %s %s, want %s %s", tc.name, a["respCode"], a["respMsg"], tc.code, tc.msg)
		}
	}
}

func TestQueryRefundAndReverseCodes(t *testing.T) {
	f := newFixture(t)
	query := func(orderID string) map[string]string {
		return f.post(t, pathQuery, f.request(map[string]string{"txnType": "00", "txnSubType": "00", "orderId": orderID, "txnTime": txnTime}))
	}
	if a := query("ordNOSUCHTRADE1"); a["respCode"] != "34" || a["respMsg"] != msgNotFound {
		t.Fatalf("unknown trade: %v", a)
	}
	f.post(t, pathBackTrans, f.request(qrRequest("ordTEST00000010", "1000")))
	if a := query("ordTEST00000010"); a["respCode"] != "00" || a["origRespCode"] != "05" || a["queryId"] != "" {
		t.Fatalf("unpaid: %v", a)
	}
	if err := f.s.PayerPays("ordTEST00000010"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.PayerPays("ordTEST00000010"); err == nil {
		t.Fatal("paid twice")
	}
	a := query("ordTEST00000010")
	if a["origRespCode"] != "00" || len(a["queryId"]) != 21 || len(a["traceTime"]) != 10 || a["txnAmt"] != "1000" {
		t.Fatalf("paid: %v", a)
	}
	queryID := a["queryId"]
	refund := func(orderID, amount, orig string) map[string]string {
		return f.post(t, pathBackTrans, f.request(map[string]string{"txnType": "04", "txnSubType": "00", "orderId": orderID,
			"txnTime": txnTime, "txnAmt": amount, "origQryId": orig, "backUrl": "http://127.0.0.1:1/notify", "currencyCode": "156"}))
	}
	if a := refund("rfdTEST00000001", "600", queryID); a["respCode"] != "00" || a["queryId"] == "" {
		t.Fatalf("refund: %v", a)
	}
	if a := refund("rfdTEST00000002", "401", queryID); a["respCode"] != "36" {
		t.Fatalf("refund over what is left: %v", a)
	}
	if a := refund("rfdTEST00000003", "1", "000000000000000000000"); a["respCode"] != "35" {
		t.Fatalf("refund of nothing: %v", a)
	}
	if a := refund("rfdTEST00000001", "500", queryID); a["respCode"] != "12" {
		t.Fatalf("refund orderId reused: %v", a)
	}
	deadline := time.Now().Add(5 * time.Second)
	for query("rfdTEST00000001")["origRespCode"] != "00" {
		if time.Now().After(deadline) {
			t.Fatal("refund never settled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	reverse := func(orderID string) map[string]string {
		return f.post(t, pathBackTrans, f.request(map[string]string{"txnType": "99", "txnSubType": "01", "orderId": orderID, "txnTime": txnTime}))
	}
	if a := reverse("ordTEST00000010"); a["respCode"] != "00" {
		t.Fatalf("reverse: %v", a)
	}
	if a := query("ordTEST00000010"); a["origRespCode"] != "45" {
		t.Fatalf("after reversing a paid trade: %v", a)
	}
	if a := reverse("ordNOSUCHTRADE1"); a["respCode"] != "34" {
		t.Fatalf("reverse of nothing: %v", a)
	}
}

func TestFileTransfer(t *testing.T) {
	f := newFixture(t)
	file := func(day time.Time) map[string]string {
		return f.post(t, pathFile, f.request(map[string]string{"txnType": "76", "txnSubType": "01", "fileType": "00",
			"settleDate": day.In(cst).Format("0102"), "txnTime": txnTime}))
	}
	if a := file(time.Now()); a["respCode"] != "98" || a["respMsg"] != msgNoFile {
		t.Fatalf("no trades: %v", a)
	}
	f.post(t, pathBackTrans, f.request(qrRequest("ordTEST00000020", "1500")))
	if err := f.s.PayerPays("ordTEST00000020"); err != nil {
		t.Fatal(err)
	}
	a := file(time.Now())
	if a["respCode"] != "00" || a["fileContent"] == "" || !strings.HasSuffix(a["fileName"], ".zip") {
		t.Fatalf("statement: %v", a)
	}
	day := time.Now().In(cst)
	lines := f.s.statementLocked(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, cst))
	if len(lines) != 1 {
		t.Fatalf("lines %q", lines)
	}
	want := 40 // separators
	for _, w := range zmWidths {
		want += w
	}
	if len(lines[0]) != want || !strings.HasPrefix(lines[0], "S22 ") || !strings.Contains(lines[0], " 000000001500 ") {
		t.Fatalf("line %d bytes (want %d): %q", len(lines[0]), want, lines[0])
	}
}

func TestNotificationFaults(t *testing.T) {
	f := newFixture(t)
	got := make(chan url.Values, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got <- r.PostForm
	}))
	t.Cleanup(rcv.Close)
	pay := func(orderID string) string {
		req := qrRequest(orderID, "1000")
		req["backUrl"] = rcv.URL
		f.post(t, pathBackTrans, f.request(req))
		if err := f.s.PayerPays(orderID); err != nil {
			t.Fatal(err)
		}
		f.s.mu.Lock()
		defer f.s.mu.Unlock()
		return f.s.trades[orderID].queryID
	}
	next := func() url.Values {
		select {
		case v := <-got:
			return v
		case <-time.After(5 * time.Second):
			t.Fatal("no notification")
			return nil
		}
	}
	quiet := func() {
		select {
		case v := <-got:
			t.Fatalf("unexpected notification %v", v)
		case <-time.After(100 * time.Millisecond):
		}
	}

	f.s.SetFault(sim.FaultDropNotify, 1)
	pay("ordTEST00000030")
	quiet()

	f.s.SetFault(sim.FaultDuplicateNotify, 1)
	pay("ordTEST00000031")
	if a, b := next(), next(); a.Encode() != b.Encode() || a.Get("orderId") != "ordTEST00000031" {
		t.Fatalf("duplicates differ: %v %v", a, b)
	}

	f.s.SetFault(sim.FaultOutOfOrderNotify, 1)
	queryID := pay("ordTEST00000032")
	quiet() // held back
	f.post(t, pathBackTrans, f.request(map[string]string{"txnType": "04", "txnSubType": "00", "orderId": "rfdTEST00000032",
		"txnTime": txnTime, "txnAmt": "100", "origQryId": queryID, "backUrl": rcv.URL, "reqReserved": "ordTEST00000032"}))
	first, second := next(), next()
	if first.Get("txnType") != "04" || first.Get("reqReserved") != "ordTEST00000032" || second.Get("txnType") != "01" {
		t.Fatalf("out of order: %s then %s", first.Get("txnType"), second.Get("txnType"))
	}
	if v, ok := second["reserved"]; !ok || len(v) != 1 || v[0] != "" {
		t.Fatalf("notification's reserved = %q, want one empty value", v)
	}
	// As UnionPay's demo does: empty fields dropped, the rest verified.
	fields := map[string]string{}
	for k := range second {
		if v := second.Get(k); v != "" {
			fields[k] = v
		}
	}
	if !verify(fields, &f.s.pki.upKey.PublicKey) {
		t.Fatal("notification without its empty fields does not verify")
	}
	fields["reserved"] = ""
	if verify(fields, &f.s.pki.upKey.PublicKey) {
		t.Fatal("the signature covers the empty reserved field")
	}
}

func TestTestEnvironment(t *testing.T) {
	f := newFixture(t)
	owner := func(certPEM string) string {
		block, _ := pem.Decode([]byte(certPEM))
		if block == nil {
			t.Fatal("signPubKeyCert is not PEM")
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(c.Subject.CommonName, "@")[2]
	}
	if a := f.s.Account(f.url); a.Config["validate_cert_cn"] != "" || owner(f.s.pki.upCertPEM) != "中国银联股份有限公司" {
		t.Fatalf("production: validate_cert_cn %q, owner %q", a.Config["validate_cert_cn"], owner(f.s.pki.upCertPEM))
	}

	f.s.SetTestEnvironment(true)
	if a := f.s.Account(f.url); a.Config["validate_cert_cn"] != "false" {
		t.Fatalf("test environment: validate_cert_cn %q, want false", a.Config["validate_cert_cn"])
	}
	form := url.Values{}
	for k, v := range f.request(qrRequest("ordTEST00000040", "100")) {
		form.Set(k, v)
	}
	res, err := http.PostForm(f.url+pathBackTrans, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	answer := map[string]string{}
	for _, pair := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(pair, "=")
		answer[k] = v
	}
	if answer["respCode"] != "00" || !verify(answer, &f.s.pki.upKey.PublicKey) {
		t.Fatalf("answer in the test environment: %s", body)
	}
	if got := owner(answer["signPubKeyCert"]); got != "00040000:SIGN" {
		t.Fatalf("test environment's certificate owner %q, want 00040000:SIGN", got)
	}
	f.s.SetTestEnvironment(false)
	if a := f.s.Account(f.url); a.Config["validate_cert_cn"] != "" {
		t.Fatalf("back in production: validate_cert_cn %q", a.Config["validate_cert_cn"])
	}
}

func TestControlAPIAndFrontPage(t *testing.T) {
	f := newFixture(t)
	res, err := http.Get(f.url + "/_sim/account")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), f.s.pki.merchantCertID) || !strings.Contains(string(body), "fileTransfer.do") {
		t.Fatalf("account: %s", body)
	}
	block, _ := pem.Decode([]byte(f.s.Account(f.url).Secrets["private_key"]))
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil || !k.PublicKey.Equal(&f.s.pki.merchantKey.PublicKey) {
		t.Fatalf("account key: %v", err)
	}
	req := f.request(map[string]string{"txnType": "01", "txnSubType": "01", "bizType": "000201", "channelType": "07",
		"orderId": "ordTEST00000040", "txnTime": txnTime, "txnAmt": "5", "currencyCode": "156", "backUrl": "http://127.0.0.1:1/n"})
	q := url.Values{}
	for k, v := range req {
		q.Set(k, v)
	}
	res, err = http.Get(f.url + pathFrontTrans + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "0.05") {
		t.Fatalf("front page %d: %s", res.StatusCode, body)
	}
	res, err = http.Post(f.url+"/_sim/trades/ordTEST00000040/pay", "", nil)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("pay via control API: %v %v", res, err)
	}
	res, _ = http.Post(f.url+"/_sim/trades/ordTEST00000040/pay", "", nil)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("paying twice: %d", res.StatusCode)
	}
	res, _ = http.Post(f.url+"/_sim/fault", "application/json", strings.NewReader(`{"fault":"5xx","count":1}`))
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("set fault: %d", res.StatusCode)
	}
	res, _ = http.PostForm(f.url+pathQuery, url.Values{})
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("5xx fault: %d", res.StatusCode)
	}
	a := f.post(t, pathQuery, f.request(map[string]string{"txnType": "00", "txnSubType": "00", "orderId": "ordTEST00000040", "txnTime": txnTime}))
	if a["origRespCode"] != "00" {
		t.Fatalf("after the fault: %v", a)
	}
}
