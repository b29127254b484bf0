package channel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

func pemText(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestParseRSAKeys(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	pkixDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	ecPKIX, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	certDER := selfSigned(t, key)

	privs := []struct {
		name string
		in   string
		ok   bool
	}{
		{"PKCS#1", pemText("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), true},
		{"PKCS#8", pemText("PRIVATE KEY", pkcs8), true},
		{"PKCS#8 under another type", pemText("RSA PRIVATE KEY", pkcs8), true},
		{"EC PKCS#8", pemText("PRIVATE KEY", ecPKCS8), false},
		{"public key", pemText("PUBLIC KEY", pkixDER), false},
		{"not PEM", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", false},
		{"empty", "", false},
		{"garbage in PEM", pemText("PRIVATE KEY", []byte("garbage")), false},
	}
	for _, tt := range privs {
		k, err := ParseRSAPrivateKey(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseRSAPrivateKey(%s): %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if tt.ok && !k.Equal(key) {
			t.Errorf("ParseRSAPrivateKey(%s): another key", tt.name)
		}
	}

	pubs := []struct {
		name string
		in   string
		ok   bool
	}{
		{"PKIX", pemText("PUBLIC KEY", pkixDER), true},
		{"PKCS#1", pemText("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), true},
		{"certificate", pemText("CERTIFICATE", certDER), true},
		{"PKCS#1 typed as PKIX", pemText("PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), false},
		{"EC PKIX", pemText("PUBLIC KEY", ecPKIX), false},
		{"private key", pemText("PRIVATE KEY", pkcs8), false},
		{"garbage certificate", pemText("CERTIFICATE", []byte("garbage")), false},
		{"not PEM", "hello", false},
		{"empty", "", false},
	}
	for _, tt := range pubs {
		k, err := ParseRSAPublicKey(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseRSAPublicKey(%s): %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if tt.ok && !k.Equal(&key.PublicKey) {
			t.Errorf("ParseRSAPublicKey(%s): another key", tt.name)
		}
	}

	ders := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"PKIX", pkixDER, true},
		{"PKCS#1", x509.MarshalPKCS1PublicKey(&key.PublicKey), true},
		{"EC PKIX", ecPKIX, false},
		{"certificate", certDER, false},
		{"garbage", []byte("garbage"), false},
		{"empty", nil, false},
	}
	for _, tt := range ders {
		k, err := ParseRSAPublicKeyDER(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseRSAPublicKeyDER(%s): %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if tt.ok && !k.Equal(&key.PublicKey) {
			t.Errorf("ParseRSAPublicKeyDER(%s): another key", tt.name)
		}
	}
	if k, err := ParseRSAPrivateKeyDER(x509.MarshalPKCS1PrivateKey(key)); err != nil || !k.Equal(key) {
		t.Errorf("ParseRSAPrivateKeyDER(PKCS#1) = %v", err)
	}
}

func selfSigned(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSortedPairs(t *testing.T) {
	fields := map[string]string{"b": "2", "a": "1", "sign": "x", "empty": "", "A": "raw &=?"}
	all := SortedPairs(fields, func(string, string) bool { return true })
	if want := "A=raw &=?&a=1&b=2&empty=&sign=x"; all != want {
		t.Errorf("all = %q, want %q", all, want)
	}
	some := SortedPairs(fields, func(k, v string) bool { return v != "" && k != "sign" })
	if want := "A=raw &=?&a=1&b=2"; some != want {
		t.Errorf("some = %q, want %q", some, want)
	}
	if got := SortedPairs(nil, func(string, string) bool { return true }); got != "" {
		t.Errorf("none = %q", got)
	}
}
