package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

func TestHashSecret(t *testing.T) {
	t.Parallel()
	// SHA-256("abc") from FIPS 180-2.
	if got, want := HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashSecret(abc) = %s, want %s", got, want)
	}
}

func TestNewSecrets(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	check := func(name, s string, re *regexp.Regexp) {
		t.Helper()
		if !re.MatchString(s) {
			t.Errorf("%s = %q, want %v", name, s, re)
		}
		if seen[s] {
			t.Errorf("%s repeated %q", name, s)
		}
		seen[s] = true
	}
	for i := 0; i < 50; i++ {
		check("NewSecretKey(false)", NewSecretKey(false), regexp.MustCompile(`^sk_test_[0-9A-Za-z]{43}$`))
		check("NewSecretKey(true)", NewSecretKey(true), regexp.MustCompile(`^sk_live_[0-9A-Za-z]{43}$`))
		check("NewHMACSecret", NewHMACSecret(), regexp.MustCompile(`^[0-9A-Za-z_-]{43}$`))
		ws := NewWebhookSecret()
		check("NewWebhookSecret", ws, regexp.MustCompile(`^whsec_[0-9A-Za-z+/]{43}=$`))
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ws, "whsec_")); err != nil || len(raw) != 32 {
			t.Errorf("webhook secret %q decodes to %d bytes, %v; want 32", ws, len(raw), err)
		}
	}
}

func TestRandomBase62Uniform(t *testing.T) {
	t.Parallel()
	counts := map[byte]int{}
	s := randomBase62(62 * 500)
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters, want 62", len(counts))
	}
	for c, n := range counts { // mean 500, sd ≈ 22: 350 is ~7 sd off
		if n < 350 || n > 650 {
			t.Errorf("character %q appears %d times of a mean 500", c, n)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	small := mustRSA(1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaPEM := publicPEM(t, &testRSA().PublicKey)
	edPEM := publicPEM(t, edPub)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&testRSA().PublicKey)}))
	privDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	private := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))

	tests := []struct {
		name, alg, pem string
		wantCode       string
	}{
		{"rsa 2048", store.AlgRSA, rsaPEM, ""},
		{"ed25519", store.AlgEd25519, edPEM, ""},
		{"ed25519 with surrounding whitespace", store.AlgEd25519, "\n  " + edPEM + "\n\n", ""},
		{"rsa 1024", store.AlgRSA, publicPEM(t, &small.PublicKey), "public_key_invalid"},
		{"rsa key for ed25519", store.AlgEd25519, rsaPEM, "public_key_invalid"},
		{"ed25519 key for rsa", store.AlgRSA, edPEM, "public_key_invalid"},
		{"ecdsa", store.AlgRSA, publicPEM(t, &ec.PublicKey), "public_key_invalid"},
		{"pkcs1 block", store.AlgRSA, pkcs1, "public_key_invalid"},
		{"private key", store.AlgEd25519, private, "public_key_invalid"},
		{"two blocks", store.AlgEd25519, edPEM + edPEM, "public_key_invalid"},
		{"not pem", store.AlgEd25519, "hello", "public_key_invalid"},
		{"empty", store.AlgRSA, "", "public_key_invalid"},
		{"corrupt der", store.AlgEd25519, strings.Replace(edPEM, "MCow", "MCoA", 1), "public_key_invalid"},
		{"hmac alg", store.AlgHMAC, edPEM, "alg_invalid"},
		{"unknown alg", "ES256", edPEM, "alg_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pub, err := ParsePublicKey(tt.alg, tt.pem)
			if tt.wantCode == "" {
				if err != nil || pub == nil {
					t.Fatalf("ParsePublicKey = %v, %v; want a key", pub, err)
				}
				return
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode || e.Kind != errs.KindInvalid || e.Param != strings.TrimSuffix(tt.wantCode, "_invalid") {
				t.Fatalf("ParsePublicKey error = %#v, want invalid %s", err, tt.wantCode)
			}
		})
	}
	if _, ok := mustParse(t, store.AlgRSA, rsaPEM).(*rsa.PublicKey); !ok {
		t.Error("RSA key not returned as *rsa.PublicKey")
	}
	if _, ok := mustParse(t, store.AlgEd25519, edPEM).(ed25519.PublicKey); !ok {
		t.Error("Ed25519 key not returned as ed25519.PublicKey")
	}
}

func mustParse(t *testing.T, alg, p string) any {
	t.Helper()
	k, err := ParsePublicKey(alg, p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
