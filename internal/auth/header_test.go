package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
)

const goodParams = `app_id="app_main",key_id="key_hmac",timestamp="1772366400",nonce="abcdefghijklmnop",signature="c2ln"`

func TestParseAuthorizationMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, header string }{
		{"basic scheme", "Basic dXNlcjpwYXNz"},
		{"bearer without token", "Bearer"},
		{"bearer blank token", "Bearer    "},
		{"bearer two tokens", "Bearer sk_test_a sk_test_b"},
		{"bearer quoted", `Bearer "sk_test_a"`},
		{"token without scheme", "sk_test_abc"},
		{"paygate without alg", "PAYGATE- " + goodParams},
		{"paygate prefix only", "PAYGATE"},
		{"unsupported alg", "PAYGATE-HMAC-SHA1 " + goodParams},
		{"alg glued to params", "PAYGATE-HMAC-SHA256" + goodParams},
		{"no params", "PAYGATE-HMAC-SHA256"},
		{"no params trailing space", "PAYGATE-HMAC-SHA256   "},
		{"missing signature", `PAYGATE-HMAC-SHA256 app_id="a",key_id="k",timestamp="1",nonce="n"`},
		{"missing app_id", `PAYGATE-ED25519 key_id="k",timestamp="1",nonce="n",signature="s"`},
		{"duplicate param", "PAYGATE-HMAC-SHA256 " + goodParams + `,nonce="abcdefghijklmnop"`},
		{"duplicate replacing", `PAYGATE-HMAC-SHA256 app_id="a",app_id="b",key_id="k",timestamp="1",nonce="n",signature="s"`},
		{"unknown param", "PAYGATE-HMAC-SHA256 " + goodParams + `,extra="1"`},
		{"param name upper case", strings.Replace("PAYGATE-HMAC-SHA256 "+goodParams, "app_id", "APP_ID", 1)},
		{"unquoted value", `PAYGATE-HMAC-SHA256 app_id=app_main,key_id="k",timestamp="1",nonce="n",signature="s"`},
		{"single quotes", `PAYGATE-HMAC-SHA256 app_id='a',key_id="k",timestamp="1",nonce="n",signature="s"`},
		{"unterminated quote", `PAYGATE-HMAC-SHA256 app_id="a,key_id="k",timestamp="1",nonce="n",signature="s`},
		{"empty value", `PAYGATE-HMAC-SHA256 app_id="",key_id="k",timestamp="1",nonce="n",signature="s"`},
		{"backslash escape", `PAYGATE-HMAC-SHA256 app_id="a\",key_id="k",timestamp="1",nonce="n",signature="s"`},
		{"missing equals", `PAYGATE-HMAC-SHA256 app_id "a",key_id="k",timestamp="1",nonce="n",signature="s"`},
		{"semicolon separator", `PAYGATE-HMAC-SHA256 app_id="a";key_id="k";timestamp="1";nonce="n";signature="s"`},
		{"space separator", `PAYGATE-HMAC-SHA256 app_id="a" key_id="k" timestamp="1" nonce="n" signature="s"`},
		{"trailing comma", "PAYGATE-HMAC-SHA256 " + goodParams + ","},
		{"leading comma", "PAYGATE-HMAC-SHA256 ," + goodParams},
		{"double comma", strings.Replace("PAYGATE-HMAC-SHA256 "+goodParams, ",", ",,", 1)},
		{"non-ascii", "PAYGATE-HMAC-SHA256 " + strings.Replace(goodParams, "app_main", "app_mäin", 1)},
		{"unicode fold in alg", "PAYGATE-HMAC-ſHA256 " + goodParams},
		{"control char", "PAYGATE-HMAC-SHA256 " + strings.Replace(goodParams, "app_main", "app\x00main", 1)},
		{"too long", "PAYGATE-HMAC-SHA256 " + strings.Replace(goodParams, "c2ln", strings.Repeat("A", 5000), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseAuthorization(tt.header)
			wantCode(t, err, "authorization_invalid")
			if len(tt.header) < 200 && strings.Contains(err.Error(), "c2ln") {
				t.Fatalf("message echoes the signature: %v", err)
			}
		})
	}
}

func TestParseAuthorizationTolerant(t *testing.T) {
	t.Parallel()
	want := authorization{Alg: client.AlgHMACSHA256, AppID: "app_main", KeyID: "key_hmac", Timestamp: "1772366400", Nonce: "abcdefghijklmnop", Signature: "c2ln"}
	for _, h := range []string{
		"PAYGATE-HMAC-SHA256 " + goodParams,
		"paygate-hmac-sha256 " + goodParams,
		"  PAYGATE-HMAC-SHA256\t " + strings.ReplaceAll(strings.ReplaceAll(goodParams, ",", " ,\t"), "=", " = ") + "  ",
		`PAYGATE-HMAC-SHA256 signature="c2ln", nonce="abcdefghijklmnop", timestamp="1772366400", key_id="key_hmac", app_id="app_main"`,
	} {
		got, err := parseAuthorization(h)
		if err != nil {
			t.Errorf("parseAuthorization(%q): %v", h, err)
			continue
		}
		if *got != want {
			t.Errorf("parseAuthorization(%q) = %+v, want %+v", h, *got, want)
		}
	}
	got, err := parseAuthorization("bearer\tsk_test_abc")
	if err != nil || got.Bearer != "sk_test_abc" {
		t.Errorf("bearer with tab = %+v, %v", got, err)
	}
}

func TestAuthenticateHeaderPresence(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name    string
		headers []string
		want    string
	}{
		{"no header", nil, "authentication_required"},
		{"empty header", []string{""}, "authentication_required"},
		{"blank header", []string{"   "}, "authentication_required"},
		{"two headers", []string{"Bearer " + f.secretKey, "Bearer " + f.secretKey}, "authorization_invalid"},
		{"garbage", []string{"Digest x"}, "authorization_invalid"},
		{"well-formed, wrong signature", []string{"PAYGATE-HMAC-SHA256 " + goodParams}, "signature_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.auth.Authenticate(context.Background(), request("GET", "/v1/balance", nil, tt.headers...), nil)
			wantCode(t, err, tt.want)
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"", "Bearer sk_test_abc", "Bearer", "PAYGATE-ED25519 " + goodParams,
		"PAYGATE-HMAC-SHA256 " + goodParams + ",", `PAYGATE-RSA-SHA256 app_id="`, `PAYGATE-X a="b"`,
		"PAYGATE-HMAC-SHA256 app_id = \"a\" ,", "\t\tBearer\t\t", "PAYGATE-",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			wantCode(t, err, "authorization_invalid")
			return
		}
		if a.Bearer != "" {
			return
		}
		switch a.Alg {
		case client.AlgHMACSHA256, client.AlgRSASHA256, client.AlgEd25519:
		default:
			t.Fatalf("accepted alg %q", a.Alg)
		}
		for _, v := range []string{a.AppID, a.KeyID, a.Timestamp, a.Nonce, a.Signature} {
			if v == "" || strings.ContainsAny(v, "\"\\") {
				t.Fatalf("accepted %q with parameter value %q", h, v)
			}
		}
	})
}
