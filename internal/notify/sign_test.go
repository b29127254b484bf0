package notify

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/paygate/paygate/internal/store"
)

// The worked example of the Standard Webhooks reference library
// (libraries/go/webhook_test.go, TestWebhookSign): this secret, id, timestamp
// and payload sign to this v1 signature.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignatureMatchesSpecExample(t *testing.T) {
	t.Parallel()
	key, err := client.WebhookSecretKey(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := Signature(specMsgID, specTimestamp, []byte(specPayload), [][]byte{key}, nil)
	if got != specSignature {
		t.Fatalf("Signature = %q, want the spec's %q", got, specSignature)
	}
}

func TestSignatureVerifiesWithReferenceLibrary(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(nil)
	current, previous := "whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32)), specSecret
	kc, _ := client.WebhookSecretKey(current)
	kp, _ := client.WebhookSecretKey(previous)
	body := []byte(`{"id":"evt_1","type":"order.succeeded","timestamp":"2024-05-01T10:00:00Z","data":{"object":{}}}`)
	h := http.Header{}
	now := time.Now()
	SetHeaders(h, "evt_1", now, body, [][]byte{kc, kp}, priv)

	sigs := strings.Split(h.Get(HeaderSignature), " ")
	if len(sigs) != 3 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1,") || !strings.HasPrefix(sigs[2], "v1a,") {
		t.Fatalf("webhook-signature = %q, want two v1 and one v1a", h.Get(HeaderSignature))
	}
	for _, secret := range []string{current, previous} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("reference library rejects the signature of %s: %v", secret[:10], err)
		}
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret of 24 b..")))
	if err := other.Verify(body, h); err == nil {
		t.Error("reference library accepted a signature with a secret that was not used")
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sigs[2], "v1a,"))
	if err != nil {
		t.Fatal(err)
	}
	msg := "evt_1." + h.Get(HeaderTimestamp) + "." + string(body)
	if !ed25519.Verify(pub, []byte(msg), sig) {
		t.Error("v1a signature does not verify with the platform key over id.timestamp.body")
	}
}

func TestPayload(t *testing.T) {
	t.Parallel()
	ev := &store.Event{
		ID: "evt_01hwrm3f6y2c8n4v1k7t9d5pha", Type: "order.succeeded",
		Data:      json.RawMessage(`{"object": {"id": "ord_1", "amount": 100}}`),
		CreatedAt: time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.FixedZone("CST", 8*3600)),
	}
	got, err := Payload(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"evt_01hwrm3f6y2c8n4v1k7t9d5pha","type":"order.succeeded","timestamp":"2024-05-01T02:00:00.123456Z","data":{"object":{"id":"ord_1","amount":100}}}`
	if string(got) != want {
		t.Fatalf("Payload =\n%s\nwant\n%s", got, want)
	}
	again, _ := Payload(ev)
	if string(again) != string(got) {
		t.Fatal("Payload is not the same twice")
	}
}
