package api

import (
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/errs"
)

// streamServer serves one public streamed route, handler, on loopback,
// signing with a fresh key.
func streamServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request) error) (url string, pub ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Log: slog.New(slog.DiscardHandler), Signer: &auth.ResponseSigner{KeyID: "pk_test", Key: priv}}
	srv := httptest.NewServer(s.serve(route{Method: "GET", Pattern: "/v1/stream", Access: public, Handler: handler, Stream: true}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/stream", pub
}

func TestStreamedResponseIsSignedByItsTrailer(t *testing.T) {
	body := strings.Repeat("type,amount\nrow,100\n", 5000) // several chunks
	for _, enc := range []string{"", "gzip", "gzip;q=0"} {
		t.Run("accept-encoding="+enc, func(t *testing.T) {
			url, pub := streamServer(t, func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/csv")
				for i := 0; i < len(body); i += 1000 {
					if _, err := io.WriteString(w, body[i:min(i+1000, len(body))]); err != nil {
						return err
					}
				}
				return nil
			})
			req, _ := http.NewRequest("GET", url, nil)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var rd io.Reader = res.Body
			wantGzip := enc == "gzip"
			if got := res.Header.Get("Content-Encoding") == "gzip"; got != wantGzip {
				t.Fatalf("Content-Encoding = %q with Accept-Encoding %q", res.Header.Get("Content-Encoding"), enc)
			}
			if wantGzip {
				if rd, err = gzip.NewReader(res.Body); err != nil {
					t.Fatal(err)
				}
			}
			got, err := io.ReadAll(rd)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			if string(got) != body {
				t.Fatalf("body of %d bytes, want the %d written", len(got), len(body))
			}
			sum := sha256.Sum256(got)
			if res.Trailer.Get(client.HeaderContentSHA256) != hex.EncodeToString(sum[:]) {
				t.Fatalf("Paygate-Content-Sha256 trailer = %q", res.Trailer.Get(client.HeaderContentSHA256))
			}
			sig, _ := base64.StdEncoding.DecodeString(res.Trailer.Get(client.HeaderSignature))
			msg := client.ResponseMessage(res.Header.Get(client.HeaderTimestamp), res.Header.Get(client.HeaderNonce), client.StreamedBody(sum[:]))
			if res.Header.Get(client.HeaderKeyID) != "pk_test" || !ed25519.Verify(pub, msg, sig) {
				t.Fatal("the signature trailer does not verify")
			}
			if res.Header.Get("Content-Length") != "" || res.Header.Get(client.HeaderSignature) != "" {
				t.Fatalf("a streamed response with Content-Length %q and a signature header %q", res.Header.Get("Content-Length"), res.Header.Get(client.HeaderSignature))
			}
		})
	}
}

// TestStreamedResponseErrors: an error before the first byte is answered
// in the error shape, signed; one after it aborts the connection, so the
// client cannot take a cut body for a whole one.
func TestStreamedResponseErrors(t *testing.T) {
	url, _ := streamServer(t, func(w http.ResponseWriter, r *http.Request) error {
		return errs.InvalidParam("date", "The date must be a day written YYYY-MM-DD.")
	})
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), `"code":"date_invalid"`) || res.Header.Get(client.HeaderSignature) == "" {
		t.Fatalf("error before the first byte: %d %s (signature %q)", res.StatusCode, b, res.Header.Get(client.HeaderSignature))
	}

	url, _ = streamServer(t, func(w http.ResponseWriter, r *http.Request) error {
		io.WriteString(w, strings.Repeat("row\n", 10000))
		return errors.New("the database went away")
	})
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "identity") // uncompressed: the header and rows go out before the error
	res, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, err = io.ReadAll(res.Body)
	if res.StatusCode != 200 || err == nil {
		t.Fatalf("error after the first byte: status %d, read error %v; want the body cut with an error", res.StatusCode, err)
	}
	if res.Trailer.Get(client.HeaderSignature) != "" {
		t.Fatal("a cut stream carries a signature")
	}
	// Compressed, the rows may not have left the gzip writer when the error
	// comes: the client then sees no answer at all, never a complete one.
	if res, err := http.Get(url); err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			t.Fatal("a gzip stream cut by an error read as whole")
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0.0": false,
		"*": true, "br": false, "identity": false, "x-gzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
