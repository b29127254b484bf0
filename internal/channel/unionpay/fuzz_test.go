package unionpay

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"net/url"
	"strings"
	"testing"
	"time"
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
