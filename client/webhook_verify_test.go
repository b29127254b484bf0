package client_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/paygate/paygate/client"
)

// The worked example of the Standard Webhooks reference library.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(client.HeaderWebhookID, specMsgID)
	h.Set(client.HeaderWebhookTimestamp, strconv.Itoa(specTimestamp))
	h.Set(client.HeaderWebhookSignature, sig)
	return h
}

func TestVerifyWebhookSpecExample(t *testing.T) {
	t.Parallel()
	at := time.Unix(specTimestamp, 0)
	body := []byte(specPayload)
	if err := client.VerifyWebhookAt(specHeader(specSignature), body, specSecret, 0, at); err != nil {
		t.Fatalf("the spec's example does not verify: %v", err)
	}
	// Several signatures (a rotation): any v1 that matches is enough; other versions are skipped.
	multi := "v1a,AAAA v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + specSignature
	if err := client.VerifyWebhookAt(specHeader(multi), body, specSecret, 0, at); err != nil {
		t.Fatalf("a matching signature among others does not verify: %v", err)
	}
	for name, c := range map[string]struct {
		h    http.Header
		body string
		at   time.Time
	}{
		"tampered body":    {specHeader(specSignature), `{"test": 2432232315}`, at},
		"wrong signature":  {specHeader("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), specPayload, at},
		"v1a only":         {specHeader("v1a," + strings.TrimPrefix(specSignature, "v1,")), specPayload, at},
		"stale timestamp":  {specHeader(specSignature), specPayload, at.Add(5*time.Minute + time.Second)},
		"future timestamp": {specHeader(specSignature), specPayload, at.Add(-5*time.Minute - time.Second)},
		"no id":            {func() http.Header { h := specHeader(specSignature); h.Del(client.HeaderWebhookID); return h }(), specPayload, at},
		"other id": {func() http.Header {
			h := specHeader(specSignature)
			h.Set(client.HeaderWebhookID, "msg_other")
			return h
		}(), specPayload, at},
	} {
		if err := client.VerifyWebhookAt(c.h, []byte(c.body), specSecret, 0, c.at); !errors.Is(err, client.ErrWebhookSignature) {
			t.Errorf("%s: err = %v, want ErrWebhookSignature", name, err)
		}
	}
	if err := client.VerifyWebhookAt(specHeader(specSignature), body, specSecret, time.Hour, at.Add(59*time.Minute)); err != nil {
		t.Errorf("a wider tolerance is not honoured: %v", err)
	}
}

// TestVerifyWebhookAgreesWithReferenceLibrary signs with the Standard
// Webhooks Go library and verifies with the SDK.
func TestVerifyWebhookAgreesWithReferenceLibrary(t *testing.T) {
	t.Parallel()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"id":"evt_1","type":"order.succeeded","timestamp":"2024-05-01T10:00:00Z","data":{"object":{"id":"ord_1"}}}`)
	sig, err := wh.Sign("evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	if err := client.VerifyWebhook(h, body, secret, 0); err != nil {
		t.Fatalf("SDK rejects the reference library's signature: %v", err)
	}
	ev, err := client.ParseWebhook(body)
	if err != nil || ev.ID != "evt_1" || ev.Type != client.EventOrderSucceeded || string(ev.Data.Object) != `{"id":"ord_1"}` {
		t.Fatalf("ParseWebhook = %+v, %v", ev, err)
	}
}

func TestVerifyWebhookPlatformKeys(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(nil)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	keys := []client.PlatformKey{{ID: "pk_1", Alg: client.AlgEd25519, Status: "current", PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}}
	now := time.Unix(1700000000, 0)
	body := []byte(`{"id":"evt_1"}`)
	sig := ed25519.Sign(priv, []byte("evt_1.1700000000."+string(body)))
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", "1700000000")
	h.Set("webhook-signature", specSignature+" v1a,"+base64.StdEncoding.EncodeToString(sig))
	if err := client.VerifyWebhookPlatformKeys(h, body, keys, 0, now); err != nil {
		t.Fatalf("v1a does not verify: %v", err)
	}
	if err := client.VerifyWebhookPlatformKeys(h, []byte(`{"id":"evt_2"}`), keys, 0, now); !errors.Is(err, client.ErrWebhookSignature) {
		t.Fatalf("tampered body: err = %v, want ErrWebhookSignature", err)
	}
}

// ExampleVerifyWebhook shows a merchant's notification handler: verify the
// raw body with the whsec_ secret, then act on the event once per id.
func ExampleVerifyWebhook() {
	const secret = specSecret // the app's webhook_secret, or the endpoint's secret
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		if err := client.VerifyWebhook(r.Header, body, secret, 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		ev, err := client.ParseWebhook(body)
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		// Delivery is at least once: skip ev.ID if it was handled before.
		fmt.Println("received", ev.Type, "for", string(ev.Data.Object))
		w.WriteHeader(http.StatusNoContent) // any 2xx within 10 s acknowledges
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// What the gateway sends (signed here by hand so the example runs).
	body := `{"id":"evt_1","type":"order.succeeded","timestamp":"2024-05-01T10:00:00Z","data":{"object":{"id":"ord_1"}}}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	wh, _ := standardwebhooks.NewWebhook(secret)
	sig, _ := wh.Sign("evt_1", time.Unix(mustAtoi(ts), 0), []byte(body))
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	req.Header.Set("webhook-id", "evt_1")
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", sig)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output:
	// received order.succeeded for {"id":"ord_1"}
	// 204
}

func mustAtoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}
