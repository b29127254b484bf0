package client_test

import (
	"encoding/base64"
	"testing"

	"github.com/paygate/paygate/client"
)

func TestWebhookSecretKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		secret string
		ok     bool
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true}, // the Standard Webhooks example, 24 bytes
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},       // without the prefix, as the libraries take it
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)), true},
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), false},
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), false},
		{"whsec_not base64!", false},
	} {
		if _, err := client.WebhookSecretKey(c.secret); (err == nil) != c.ok {
			t.Errorf("WebhookSecretKey(%q): err = %v, want ok %v", c.secret, err, c.ok)
		}
	}
}
