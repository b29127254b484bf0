package unionpay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/unionpay"
)

// The subject CNs UnionPay's signing certificates have: production names
// the company in the third "@" field; the test environment's certificate
// (acp_test_verify_sign.cer of UnionPay's demo) has "00040000:SIGN" there.
const (
	cnProduction = "041@8310000000083040@中国银联股份有限公司@00016495"
	cnTestForm   = "041@Z12@00040000:SIGN@00000062"
)

// Hosts of UnionPay's two environments.
const (
	productionURL = "https://gateway.95516.com"
	testURL       = "https://gateway.test.95516.com"
)

// ownPKI is a root CA and one key that every leaf certificate carries, so
// a test can issue a signing certificate with any subject CN that chains
// to the root an account trusts.
type ownPKI struct {
	root    *x509.Certificate
	rootKey *rsa.PrivateKey
	rootPEM string
	key     *rsa.PrivateKey // the leaves' key; also the merchant's key
	keyPEM  string
}

var (
	ownPKIOnce sync.Once
	ownPKIVal  *ownPKI
	ownPKIErr  error
)

func testPKI(t *testing.T) *ownPKI {
	t.Helper()
	ownPKIOnce.Do(func() {
		p := &ownPKI{}
		if p.rootKey, ownPKIErr = rsa.GenerateKey(rand.Reader, 2048); ownPKIErr != nil {
			return
		}
		if p.key, ownPKIErr = rsa.GenerateKey(rand.Reader, 2048); ownPKIErr != nil {
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CFCA TEST CA"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.rootKey.PublicKey, p.rootKey)
		if err != nil {
			ownPKIErr = err
			return
		}
		p.root, _ = x509.ParseCertificate(der)
		p.rootPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		p.keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.key)}))
		ownPKIVal = p
	})
	if ownPKIErr != nil {
		t.Fatal(ownPKIErr)
	}
	return ownPKIVal
}

// leaf issues a signing certificate with subject CN cn, as PEM with CR LF
// line ends (as UnionPay sends signPubKeyCert).
func (p *ownPKI) leaf(t *testing.T, cn string) string {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, p.root, &p.key.PublicKey, p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))), "\n", "\r\n")
}

// connector is an account of merchant 777290058110048 that trusts p's root,
// at baseURL, with config validate_cert_cn when it is not "".
func (p *ownPKI) connector(t *testing.T, baseURL, validateCN string) channel.Connector {
	t.Helper()
	cfg := map[string]string{"mer_id": "777290058110048", "cert_id": "69629715588", "root_cert": p.rootPEM}
	if validateCN != "" {
		cfg["validate_cert_cn"] = validateCN
	}
	c, err := unionpay.New(channel.Account{Provider: unionpay.Name, BaseURL: baseURL, Config: cfg,
		Secrets: map[string]string{"private_key": p.keyPEM}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// paymentNotification is the fields of a backUrl notification of a paid
// purchase of 12.34 CNY, not yet signed.
func paymentNotification(cert string) map[string]string {
	return map[string]string{
		"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "accessType": "0",
		"merId": "777290058110048", "bizType": "000000", "txnType": "01", "txnSubType": "07",
		"channelType": "08", "orderId": "ord01jb3q5zk8x7w2m4n6p8r0t2v4", "txnTime": "20250102030405",
		"txnAmt": "1234", "currencyCode": "156", "queryId": "782501020304050674028", "traceNo": "067402",
		"traceTime": "0102030406", "settleDate": "0102", "settleAmt": "1234", "settleCurrencyCode": "156",
		"respCode": "00", "respMsg": "success", "signPubKeyCert": cert,
	}
}

// form encodes fields as the body UnionPay posts, with blank fields added
// after signing (UnionPay leaves them out of what it signs).
func form(fields map[string]string, blanks ...string) []byte {
	v := url.Values{}
	for k, s := range fields {
		v.Set(k, s)
	}
	for _, k := range blanks {
		v.Set(k, "")
	}
	return []byte(v.Encode())
}

func notify(c channel.Connector, body []byte) (*channel.Notification, error) {
	return c.Notify(context.Background(), channel.NotifyRequest{Body: body})
}

// TestSigningCertCNPerEnvironment holds UnionPay's SDK rule for the
// signing certificate's subject CN: its third "@" field must be exactly
// 中国银联股份有限公司, and where CN validation is off (by default the test
// environment) it may instead be the test form's 00040000:SIGN.
func TestSigningCertCNPerEnvironment(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	envs := []struct {
		name, baseURL, validateCN string
		testForm                  bool // whether the test form is accepted
	}{
		{"production", productionURL, "", false},
		{"test environment", testURL, "", true},
		{"test environment, host in capitals", "https://GATEWAY.TEST.95516.COM/", "", true},
		{"production with validate_cert_cn=false", productionURL, "false", true},
		{"test environment with validate_cert_cn=true", testURL, "true", false},
		{"another host (a simulator)", "http://127.0.0.1:8080", "", false},
	}
	certs := []struct {
		name, cn string
		ok       func(testForm bool) bool
	}{
		{"UnionPay's production form", cnProduction, func(bool) bool { return true }},
		{"the test environment's form", cnTestForm, func(testForm bool) bool { return testForm }},
		{"the company in the wrong field", "041@中国银联股份有限公司@8310000000083040@00016495", func(bool) bool { return false }},
		{"more than the company in its field", "041@8310000000083040@中国银联股份有限公司上海分公司@00016495", func(bool) bool { return false }},
		{"the company alone, no fields", "中国银联股份有限公司", func(bool) bool { return false }},
		{"the company as the last field", "041@8310000000083040@00016495@中国银联股份有限公司", func(bool) bool { return false }},
		{"near the test form", "041@Z12@00040000:SIGNX@00000062", func(bool) bool { return false }},
		{"someone else", "041@Z12@某某科技有限公司@00000001", func(bool) bool { return false }},
	}
	for _, env := range envs {
		c := p.connector(t, env.baseURL, env.validateCN)
		for _, cert := range certs {
			fields := paymentNotification(p.leaf(t, cert.cn))
			if err := unionpay.Sign(fields, p.key); err != nil {
				t.Fatal(err)
			}
			n, err := notify(c, form(fields))
			want := cert.ok(env.testForm)
			switch {
			case want && err != nil:
				t.Errorf("%s, %s (%q): refused: %v", env.name, cert.name, cert.cn, err)
			case want && (n.Amount != 1234 || n.Status != channel.TradeSuccess):
				t.Errorf("%s, %s: read %+v", env.name, cert.name, n)
			case !want && !errors.Is(err, channel.ErrBadSignature):
				t.Errorf("%s, %s (%q): %v, want ErrBadSignature", env.name, cert.name, cert.cn, err)
			}
		}
	}
}

func TestValidateCertCNConfigMustBeABoolean(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	for _, v := range []string{"maybe", "yes", "0x1"} {
		_, err := unionpay.New(channel.Account{Provider: unionpay.Name, BaseURL: testURL,
			Config:  map[string]string{"mer_id": "777290058110048", "cert_id": "1", "root_cert": p.rootPEM, "validate_cert_cn": v},
			Secrets: map[string]string{"private_key": p.keyPEM}})
		if err == nil || !strings.Contains(err.Error(), "validate_cert_cn") {
			t.Errorf("validate_cert_cn=%q: %v, want an error naming it", v, err)
		}
	}
	if !strings.Contains(strings.Join(unionpay.Provider.OptionalConfig, " "), "validate_cert_cn") {
		t.Errorf("Provider.OptionalConfig %v lacks validate_cert_cn", unionpay.Provider.OptionalConfig)
	}
}

// TestNotificationBlankFields holds UnionPay's rule for notifications: a
// field with an empty value is dropped before the signature is checked, as
// UnionPay's demo does, while every field with a value stays signed.
func TestNotificationBlankFields(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	c := p.connector(t, productionURL, "")
	signed := paymentNotification(p.leaf(t, cnProduction))
	if err := unionpay.Sign(signed, p.key); err != nil {
		t.Fatal(err)
	}

	n, err := notify(c, form(signed, "reserved", "reqReserved", "accNo"))
	if err != nil {
		t.Fatalf("genuine notification with blank reserved, reqReserved, accNo refused: %v", err)
	}
	if n.OrderID != "ord_01jb3q5zk8x7w2m4n6p8r0t2v4" || n.Amount != 1234 || n.Status != channel.TradeSuccess || n.ChannelTradeNo != "782501020304050674028" {
		t.Fatalf("read %+v", n)
	}

	changed := func(k, v string) map[string]string {
		f := map[string]string{}
		for k, v := range signed {
			f[k] = v
		}
		f[k] = v
		return f
	}
	for _, bad := range []struct {
		name string
		body []byte
	}{
		{"txnAmt altered", form(changed("txnAmt", "1"), "reserved")},
		{"respCode altered", form(changed("respCode", "01"), "reserved")},
		{"orderId altered", form(changed("orderId", "ord01jb3q5zk8x7w2m4n6p8r0t2v5"), "reserved")},
		{"a blank field given a value", form(changed("reserved", "{cardNumber=6216261000000000018}"))},
		{"a signed field made blank", form(changed("traceNo", ""), "reserved")},
		{"the signature made blank", form(changed("signature", ""), "reserved")},
		{"a blank field repeated", []byte(string(form(signed, "reserved")) + "&reserved=")},
	} {
		if _, err := notify(c, bad.body); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", bad.name, err)
		}
	}
}

// urlRecorder records the URL of each request and sends nothing.
type urlRecorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *urlRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls = append(r.urls, req.URL.String())
	return nil, errors.New("not sent")
}

// TestDefaultFileURLPerEnvironment: without file_url, statements come from
// where UnionPay's SDK configures fileTransUrl for each environment.
func TestDefaultFileURLPerEnvironment(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	for baseURL, want := range map[string]string{
		productionURL:           "https://filedownload.95516.com/",
		testURL:                 "https://filedownload.test.95516.com/",
		"http://127.0.0.1:8080": "http://127.0.0.1:8080/gateway/api/fileTransfer.do",
	} {
		rec := &urlRecorder{}
		c, err := unionpay.New(channel.Account{Provider: unionpay.Name, BaseURL: baseURL,
			Config:     map[string]string{"mer_id": "777290058110048", "cert_id": "1", "root_cert": p.rootPEM},
			Secrets:    map[string]string{"private_key": p.keyPEM},
			HTTPClient: &http.Client{Transport: rec}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Bill(context.Background(), channel.BillRequest{Date: time.Now()}); err == nil {
			t.Fatalf("%s: a bill from nowhere", baseURL)
		}
		if len(rec.urls) != 1 || rec.urls[0] != want {
			t.Errorf("%s: file transfer sent to %q, want %q", baseURL, rec.urls, want)
		}
	}
}
