package unionpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/channel"
)

// publishedResponse is a genuine answer of UnionPay's test environment to a
// B2C gateway purchase (merchant 777290058167151, 2022-09-08), published
// with its signature in the yansongda/pay SDK's test suite. It is the raw
// body as UnionPay sends it: fields sorted, values not URL-encoded, the
// signing certificate with CR LF line ends. UnionPay publishes no worked
// example of its own; this one checks the signing string, the double
// SHA-256 and SHA256withRSA byte for byte against UnionPay's real key.
var publishedCert = strings.Join([]string{
	"-----BEGIN CERTIFICATE-----",
	"MIIEYzCCA0ugAwIBAgIFEDkwhTQwDQYJKoZIhvcNAQEFBQAwWDELMAkGA1UEBhMC",
	"Q04xMDAuBgNVBAoTJ0NoaW5hIEZpbmFuY2lhbCBDZXJ0aWZpY2F0aW9uIEF1dGhv",
	"cml0eTEXMBUGA1UEAxMOQ0ZDQSBURVNUIE9DQTEwHhcNMjAwNzMxMDExOTE2WhcN",
	"MjUwNzMxMDExOTE2WjCBljELMAkGA1UEBhMCY24xEjAQBgNVBAoTCUNGQ0EgT0NB",
	"MTEWMBQGA1UECxMNTG9jYWwgUkEgT0NBMTEUMBIGA1UECxMLRW50ZXJwcmlzZXMx",
	"RTBDBgNVBAMMPDA0MUA4MzEwMDAwMDAwMDgzMDQwQOS4reWbvemTtuiBlOiCoeS7",
	"veaciemZkOWFrOWPuEAwMDAxNjQ5NTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC",
	"AQoCggEBAMHNa81t44KBfUWUgZhb1YTx3nO9DeagzBO5ZEE9UZkdK5+2IpuYi48w",
	"eYisCaLpLuhrwTced19w2UR5hVrc29aa2TxMvQH9s74bsAy7mqUJX+mPd6KThmCr",
	"t5LriSQ7rDlD0MALq3yimLvkEdwYJnvyzA6CpHntP728HIGTXZH6zOL0OAvTnP8u",
	"RCHZ8sXJPFUkZcbG3oVpdXQTJVlISZUUUhsfSsNdvRDrcKYY+bDWTMEcG8ZuMZzL",
	"g0N+/spSwB8eWz+4P87nGFVlBMviBmJJX8u05oOXPyIcZu+CWybFQVcS2sMWDVZy",
	"sPeT3tPuBDbFWmKQYuu+gT83PM3G6zMCAwEAAaOB9DCB8TAfBgNVHSMEGDAWgBTP",
	"cJ1h6518Lrj3ywJA9wmd/jN0gDBIBgNVHSAEQTA/MD0GCGCBHIbvKgEBMDEwLwYI",
	"KwYBBQUHAgEWI2h0dHA6Ly93d3cuY2ZjYS5jb20uY24vdXMvdXMtMTQuaHRtMDkG",
	"A1UdHwQyMDAwLqAsoCqGKGh0dHA6Ly91Y3JsLmNmY2EuY29tLmNuL1JTQS9jcmw3",
	"NTAwMy5jcmwwCwYDVR0PBAQDAgPoMB0GA1UdDgQWBBTmzk7XEM/J/sd+wPrMils3",
	"9rJ2/DAdBgNVHSUEFjAUBggrBgEFBQcDAgYIKwYBBQUHAwQwDQYJKoZIhvcNAQEF",
	"BQADggEBAJLbXxbJaFngROADdNmNUyVxPtbAvK32Ia0EjgDh/vjn1hpRNgvL4flH",
	"NsGNttCy8afLJcH8UnFJyGLas8v/P3UKXTJtgrOj1mtothv7CQa4LUYhzrVw3UhL",
	"4L1CTtmE6D1Kf3+c2Fj6TneK+MoK9AuckySjK5at6a2GQi18Y27gVF88Nk8bp1lJ",
	"vzOwPKd8R7iGFotuF4/8GGhBKR4k46EYnKCodyIhNpPdQfpaN5AKeS7xeLSbFvPJ",
	"HYrtBsI48jUK/WKtWBJWhFH+Gty+GWX0e5n2QHXHW6qH62M0lDo7OYeyBvG1mh9u",
	"Q0C300Eo+XOoO4M1WvsRBAF13g9RPSw=",
	"-----END CERTIFICATE-----",
}, "\r\n")

var publishedResponse = "accNo=ORRSXWY1kMr8UJNxGx9xKPuO0Uhm8JT8aQV3sWswJfIsj/grkjauH4soyAtiqB9XwQotZOwmUAs/pkMupUkfiX9npdFGGEUEc5gqq+lcEwyD7tLmd2WBzRvcEvvjAKMKwTCFDxmQbIrP48ocIVhPoZ87ZQtQM5MIyJYedrzPRlt6BzRddUPGU1gJwDA8APDx3iyNl8EAfenJw7DUDZimmhbE1VSRmQm/iqgJurI7juq/6ztDHZHv4ys1eN9JYkwhcKxCjsWpwXTSy0PGvDXhsAZsDuNXHsjI8JLhHXvTDaU2+gc289LZPiwpr4Ah/reIuPWrIHubchYm2XTqQlUAaw==" +
	"&accessType=0&bizType=000201&currencyCode=156&encoding=utf-8&exchangeRate=0&merId=777290058167151" +
	"&orderId=yansongda20220908132206&queryId=782209081322060674028&respCode=00&respMsg=success" +
	"&settleAmt=1&settleCurrencyCode=156&settleDate=0908&signMethod=01&signPubKeyCert=" + publishedCert +
	"&signature=JeA4S2+6TbGo9yjXDUvV5A2E3oJbunoCcZ66exN6xR3OH/5PNDK1VSV1Mq7XhVdxzkTeREUveiOYHalqoagRkh71nsHVvruwGbk6azygXSaawuO5tF67UIqNd4Mbufwh1KhbVpEkKbOETUvRhFcdon0fulE97I83eMSk52INHt8E1xk8NdbhyUadSlp+Uv30AKx70PpQbTGmVS3PJfd+Whj0b7LnvZKeC+BS1kUOtIKlcZO+gBoTigvCIJqj51kBrcBCs+x+VaeGm7EYBBhGSERpfQhQ4n+eJBwLdBeZ0/dNbo3iELjvVMx0n9KoW4klvUJhaH5LALA8pV02SbZv4Q==" +
	"&traceNo=067402&traceTime=0908132206&txnAmt=1&txnSubType=01&txnTime=20220908132206&txnType=01&version=5.1.0"

func publishedKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(publishedCert))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if certOwner(cert.Subject.CommonName) != UnionPayOrgName {
		t.Fatalf("UnionPay's real signing certificate CN %q: owner field %q, want %q", cert.Subject.CommonName, certOwner(cert.Subject.CommonName), UnionPayOrgName)
	}
	return cert.PublicKey.(*rsa.PublicKey)
}

func TestPublishedResponseVerifies(t *testing.T) {
	fields, err := ParseResponse(publishedResponse)
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 24 || fields["signPubKeyCert"] != publishedCert || fields["respMsg"] != "success" {
		t.Fatalf("parsed %d fields (cert intact: %v)", len(fields), fields["signPubKeyCert"] == publishedCert)
	}
	if err := VerifyWithKey(fields, publishedKey(t)); err != nil {
		t.Fatalf("UnionPay's own response does not verify: %v", err)
	}
	// The signing string starts and ends as ACP says: sorted, raw, no signature.
	s := SigningString(fields)
	if !strings.HasPrefix(s, "accNo=ORRS") || !strings.HasSuffix(s, "&txnType=01&version=5.1.0") || strings.Contains(s, "signature=") {
		t.Fatalf("signing string %q…%q", s[:20], s[len(s)-30:])
	}
}

func TestPublishedResponseTampered(t *testing.T) {
	key := publishedKey(t)
	for _, change := range []struct{ field, value string }{
		{"txnAmt", "2"},
		{"orderId", "yansongda20220908132207"},
		{"respMsg", ""},
		{"extra", "x"},
	} {
		fields, _ := ParseResponse(publishedResponse)
		fields[change.field] = change.value
		if err := VerifyWithKey(fields, key); !errors.Is(err, channel.ErrBadSignature) {
			t.Errorf("%s=%q: %v, want ErrBadSignature", change.field, change.value, err)
		}
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		body string
		want map[string]string
	}{
		{"a=1&b=x+y/z==&c=", map[string]string{"a": "1", "b": "x+y/z==", "c": ""}},
		{"respMsg=成功[0000000]&x={k=v&l=w}&y=1", map[string]string{"respMsg": "成功[0000000]", "x": "{k=v&l=w}", "y": "1"}},
		{"cert=-----BEGIN\r\nA=B\r\n-----END&z=9", map[string]string{"cert": "-----BEGIN\r\nA=B\r\n-----END", "z": "9"}},
	}
	for _, tc := range tests {
		got, err := ParseResponse(tc.body)
		if err != nil {
			t.Fatalf("%q: %v", tc.body, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%q: %v, want %v", tc.body, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s=%q, want %q", tc.body, k, got[k], v)
			}
		}
	}
	for _, bad := range []string{"", "=1", "noequals"} {
		if _, err := ParseResponse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestOrderIDMapping(t *testing.T) {
	tests := []struct{ id, channel string }{
		{"ord_01jb3q5zk8x7w2m4n6p8r0t2v4", "ord01jb3q5zk8x7w2m4n6p8r0t2v4"},
		{"ord_01JB3Q5ZK8X7W2M4N6P8R0T2V4", "ord01JB3Q5ZK8X7W2M4N6P8R0T2V4"},
		{"rfd_01jb3q5zk8x7w2m4n6p8r0t2v4", "rfd01jb3q5zk8x7w2m4n6p8r0t2v4"},
	}
	for _, tc := range tests {
		got, err := ChannelOrderID(tc.id)
		if err != nil || got != tc.channel {
			t.Errorf("ChannelOrderID(%q) = %q, %v; want %q", tc.id, got, err, tc.channel)
		}
		if back := OrderIDFromChannel(got); back != tc.id {
			t.Errorf("OrderIDFromChannel(%q) = %q, want %q", got, back, tc.id)
		}
	}
	for _, bad := range []string{"ord_1", "ord-01jb3q5zk8", "ord_01jb_3q5zk8", strings.Repeat("x", 41)} {
		if got, err := ChannelOrderID(bad); err == nil {
			t.Errorf("ChannelOrderID(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSplitFixed(t *testing.T) {
	f := splitFixed("S22 ab   1234", []int{3, 4, 4})
	if f[1] != "S22" || f[2] != "ab" || f[3] != "1234" {
		t.Fatalf("%q", f)
	}
	for in, want := range map[string]int64{"D000000000010": 10, "C000000000006": -6, "": 0} {
		if got, err := parseSignedAmount(in); err != nil || got != want {
			t.Errorf("parseSignedAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseSignedAmount("X000000000001"); err == nil {
		t.Error("X sign accepted")
	}
}
