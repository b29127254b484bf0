package gateway_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
)

// TestAppKeyOverlap: an app's keys rotate without downtime: a new key works
// beside the old one, the old one then stops (revoked, or at its expiry).
func TestAppKeyOverlap(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.newMerchant("test", false)
		old := m.c
		var k2 client.Key
		if st, b := e.admin("POST", "/admin/v1/apps/"+m.app.App.ID+"/keys", map[string]any{"alg": "secret"}, &k2); st != 201 || !strings.HasPrefix(k2.Secret, "sk_test_") {
			t.Fatalf("new secret key: %d %s", st, b)
		}
		expiry := e.clock.Now().Add(time.Hour).Truncate(time.Second)
		var k3 client.Key
		if st, b := e.admin("POST", "/admin/v1/apps/"+m.app.App.ID+"/keys", map[string]any{"alg": "secret", "expires_at": expiry.Format(time.RFC3339)}, &k3); st != 201 {
			t.Fatalf("expiring key: %d %s", st, b)
		}
		c2, c3 := e.newClient(client.WithSecretKey(k2.Secret)), e.newClient(client.WithSecretKey(k3.Secret))
		for name, c := range map[string]*client.Client{"old": old, "new": c2, "expiring": c3} {
			if _, err := c.GetBalance(ctx); err != nil {
				t.Fatalf("%s key during the overlap: %v", name, err)
			}
		}
		// The old key goes (revoked); the new ones still work.
		var keys struct{ Data []client.Key }
		e.admin("GET", "/admin/v1/apps/"+m.app.App.ID+"/keys", nil, &keys)
		for _, k := range keys.Data {
			if k.Kind == "secret" && k.ID != k2.ID && k.ID != k3.ID {
				if st, b := e.admin("DELETE", "/admin/v1/keys/"+k.ID, nil, nil); st != 200 {
					t.Fatalf("revoke the old key: %d %s", st, b)
				}
			}
		}
		_, err := old.GetBalance(ctx)
		apiErr(t, err, 401, "api_key_revoked")
		if _, err := c2.GetBalance(ctx); err != nil {
			t.Fatalf("the new key after the old one went: %v", err)
		}
		// The expiring key stops at its expiry, by itself.
		e.clock.Set(expiry)
		_, err = c3.GetBalance(ctx)
		apiErr(t, err, 401, "api_key_expired")
		if _, err := c2.GetBalance(ctx); err != nil {
			t.Fatalf("the key without expiry: %v", err)
		}
	})
}

// TestPlatformKeyRotation: the next key is published before it signs; once
// promoted, the serving gateway signs with it, without a restart, and a
// client that fetched the keys during the "next" phase verifies.
func TestPlatformKeyRotation(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		keys := func() map[string]string {
			var l struct{ Data []client.PlatformKey }
			res, b := rawCall(t, "GET", e.url+"/v1/platform-keys", "", "")
			if res.StatusCode != 200 {
				t.Fatalf("platform keys: %d %s", res.StatusCode, b)
			}
			if err := jsonUnmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			out := map[string]string{}
			for _, k := range l.Data {
				out[k.ID] = k.Status
			}
			return out
		}
		signedBy := func() string {
			res, _ := rawCall(t, "GET", e.url+"/v1/balance", e.g.Demo.SecretKey, "")
			return res.Header.Get("Paygate-Key-Id")
		}
		before := keys()
		if len(before) != 1 {
			t.Fatalf("keys before: %v", before)
		}
		k0 := signedBy()
		if before[k0] != "current" {
			t.Fatalf("signed by %s, keys %v", k0, before)
		}
		msg, err := gateway.RotatePlatformKey(ctx, e.g.Store, e.g.Box, e.clock.Now())
		if err != nil || !strings.Contains(msg, "next") {
			t.Fatalf("step 1: %q %v", msg, err)
		}
		if err := e.g.RefreshPlatformKeys(ctx); err != nil {
			t.Fatal(err)
		}
		during := keys()
		var k1 string
		for id, st := range during {
			if st == "next" {
				k1 = id
			}
		}
		if len(during) != 2 || during[k0] != "current" || k1 == "" {
			t.Fatalf("keys during: %v", during)
		}
		if got := signedBy(); got != k0 {
			t.Fatalf("the next key signs before it is current: %s", got)
		}
		verifying := e.newClient(client.WithSecretKey(e.g.Demo.SecretKey), client.WithVerifyResponses())
		if _, err := verifying.GetBalance(ctx); err != nil { // fetches the keys: current and next
			t.Fatal(err)
		}
		if _, err := gateway.RotatePlatformKey(ctx, e.g.Store, e.g.Box, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := e.g.RefreshPlatformKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if got := signedBy(); got != k1 {
			t.Fatalf("after the promotion signed by %s, want %s", got, k1)
		}
		if after := keys(); after[k0] != "retired" || after[k1] != "current" {
			t.Fatalf("keys after: %v", after)
		}
		if _, err := verifying.GetBalance(ctx); err != nil {
			t.Fatalf("a client that fetched the keys during the next phase: %v", err)
		}

	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
