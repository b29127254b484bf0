package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// statementServer streams body as a statement, with trailers computed here
// from the documented message; tamper changes what is sent after signing.
func statementServer(t *testing.T, k platformKey, body string, tamper func(sent *string, digest *string)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/statements/2026-03-14" || r.URL.Query().Get("type") != "refunds" {
			w.WriteHeader(404)
			return
		}
		sum := sha256.Sum256([]byte(body))
		digest, sent := hex.EncodeToString(sum[:]), body
		ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "0123456789abcdef0123456789abcdef"
		sig := ed25519.Sign(k.ed, []byte(ts+"\n"+nonce+"\npaygate-stream-sha256="+digest+"\n"))
		if tamper != nil {
			tamper(&sent, &digest)
		}
		w.Header().Set("Trailer", "Paygate-Content-Sha256, Paygate-Signature")
		w.Header().Set("Paygate-Timestamp", ts)
		w.Header().Set("Paygate-Nonce", nonce)
		w.Header().Set("Paygate-Key-Id", k.id)
		w.WriteHeader(200)
		io.WriteString(w, sent)
		w.Header().Set("Paygate-Content-Sha256", digest)
		w.Header().Set("Paygate-Signature", base64.StdEncoding.EncodeToString(sig))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDownloadStatement(t *testing.T) {
	t.Parallel()
	key := newPlatformKey(t, "pk_1")
	const body = "type,time,refund_id\nrefund,2026-03-14T10:00:00+08:00,rfd_1\ntotal,,1\n"
	for _, c := range []struct {
		name    string
		tamper  func(sent, digest *string)
		wantSig bool
		wantErr bool
	}{
		{name: "whole and signed"},
		{name: "a row changed, digest recomputed", tamper: func(sent, digest *string) {
			*sent = body[:len(body)-2] + "2\n"
			s := sha256.Sum256([]byte(*sent))
			*digest = hex.EncodeToString(s[:])
		}, wantSig: true},
		{name: "cut short", tamper: func(sent, _ *string) { *sent = body[:20] }, wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := statementServer(t, key, body, c.tamper)
			cl, err := client.New(url, client.WithSecretKey("sk_test_x"), client.WithPlatformKeys([]client.PlatformKey{key.public(t)}))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			err = cl.DownloadStatement(context.Background(), "2026-03-14", client.StatementRefunds, &buf)
			switch {
			case c.wantSig:
				if !errors.Is(err, client.ErrResponseSignature) {
					t.Fatalf("err = %v, want ErrResponseSignature", err)
				}
			case c.wantErr:
				if err == nil || errors.Is(err, client.ErrResponseSignature) {
					t.Fatalf("err = %v, want a digest mismatch", err)
				}
			default:
				if err != nil || buf.String() != body {
					t.Fatalf("download: %v\n%s", err, buf.String())
				}
			}
		})
	}
}
