package unionpay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// FuzzBill: UnionPay's bill (a zip holding the fixed-width ZM file) parses
// any bytes without a panic, amounts positive as channel.BillRecord
// promises.
func FuzzBill(f *testing.F) {
	line := make([]string, len(zmWidths))
	for i, w := range zmWidths {
		line[i] = strings.Repeat("0", w)
	}
	f.Add([]byte(strings.Join(line, " ") + "\n"))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte(""))
	day := time.Date(2024, 5, 1, 0, 0, 0, 0, cst)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, _ := parseBillZip(b, day)
		z, _ := parseZM(bytes.NewReader(b), day)
		for _, r := range append(a, z...) {
			if r.Amount < 0 {
				t.Fatalf("negative amount %d in %q", r.Amount, b)
			}
		}
	})
}

// FuzzVerify: a UnionPay form whose fields were changed after signing never
// verifies; none panics.
func FuzzVerify(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	fields := map[string]string{"merId": "777290058110048", "orderId": "A1", "txnAmt": "1234", "txnType": "01", "respCode": "00",
		"txnTime": "20240501120000", "queryId": "q1", "signMethod": "01", "version": "5.1.0"}
	if err := Sign(fields, key); err != nil {
		f.Fatal(err)
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	genuine := SigningString(fields)
	f.Add(form.Encode())
	f.Add("signature=AAAA&txnAmt=1")
	f.Fuzz(func(t *testing.T, body string) {
		q, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		got := map[string]string{}
		for k, v := range q {
			if v[0] != "" {
				got[k] = v[0]
			}
		}
		if VerifyWithKey(got, &key.PublicKey) == nil && SigningString(got) != genuine {
			t.Fatalf("a changed form verifies: %q", body)
		}
	})
}

// FuzzNotify feeds UnionPay backUrl notifications to Notify: as sent (only
// a form whose signed content is one the test key signed is accepted; the
// same form without its signature never is) and re-signed with the test
// signing certificate's key after the fuzzer changed it (the reading behind
// the signature check is fuzzed: no panic, and what is accepted is a
// payment or refund with an amount that is not negative).
func FuzzNotify(f *testing.F) {
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CFCA TEST CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		f.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "041@Z12@" + UnionPayTestOwner + "@00000062"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	if err != nil {
		f.Fatal(err)
	}
	leafPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}))
	roots := x509.NewCertPool()
	roots.AddCert(root)
	c := &Connector{merID: "777290058110048", verifier: &verifier{roots: roots, now: time.Now}}

	genuine := map[string]bool{} // the signing strings the key signed for the seeds
	sign := func(fields map[string]string) string {
		fields["signMethod"], fields["signPubKeyCert"] = "01", leafPEM
		delete(fields, "signature")
		if err := Sign(fields, leafKey); err != nil {
			f.Fatal(err)
		}
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, v)
		}
		return form.Encode()
	}
	paid := map[string]string{"merId": c.merID, "orderId": "A1", "txnAmt": "1234", "txnType": "01", "respCode": "00",
		"txnTime": "20240501120000", "traceTime": "0501120001", "queryId": "q1", "version": "5.1.0", "accessType": "0", "currencyCode": "156"}
	refund := map[string]string{"merId": c.merID, "orderId": "R1", "txnAmt": "100", "txnType": "04", "respCode": "00",
		"txnTime": "20240501130000", "queryId": "q2", "origQryId": "q1", "reqReserved": "A1", "version": "5.1.0"}
	for _, seed := range []map[string]string{paid, refund} {
		body := sign(seed)
		genuine[SigningString(seed)] = true
		f.Add(body)
	}
	f.Add("signature=AAAA&txnAmt=1")
	f.Add("txnAmt=-1&txnType=04&txnTime=20240501130000")
	f.Add("txnAmt=1e9&txnType=31&txnTime=2024")
	f.Add("%zz")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := c.Notify(ctx, channel.NotifyRequest{Body: []byte(body)}); err == nil {
			form, _ := url.ParseQuery(body)
			fields := map[string]string{}
			for k, v := range form {
				if v[0] != "" {
					fields[k] = v[0]
				}
			}
			if !genuine[SigningString(fields)] {
				t.Fatalf("accepted a form the key never signed: %q", body)
			}
			delete(fields, "signature")
			unsigned := url.Values{}
			for k, v := range fields {
				unsigned.Set(k, v)
			}
			if _, err := c.Notify(ctx, channel.NotifyRequest{Body: []byte(unsigned.Encode())}); !errors.Is(err, channel.ErrBadSignature) {
				t.Fatalf("accepted the form without its signature: %v", err)
			}
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		fields := map[string]string{}
		for k, v := range form {
			if v[len(v)-1] != "" { // UnionPay signs only fields with a value
				fields[k] = v[len(v)-1]
			}
		}
		fields["merId"] = c.merID
		n, err := c.Notify(ctx, channel.NotifyRequest{Body: []byte(sign(fields))})
		if err != nil {
			if errors.Is(err, channel.ErrBadSignature) {
				t.Fatalf("a re-signed form refused as badly signed: %v (%v)", err, fields)
			}
			return
		}
		if n.Kind != channel.NotifyPayment && n.Kind != channel.NotifyRefund {
			t.Fatalf("accepted %v as %+v", fields, n)
		}
		if n.Amount < 0 || n.RefundAmount < 0 {
			t.Fatalf("negative amount read from %v: %+v", fields, n)
		}
	})
}
