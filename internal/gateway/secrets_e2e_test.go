package gateway_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// idemCall sends body with an Idempotency-Key as the operator (token "")
// or as an app (its secret key), twice, and checks that the second answer
// replays the first byte for byte. It returns the first answer.
func (e *env) idemCall(t *testing.T, token, method, path, key string, body any) []byte {
	t.Helper()
	raw, _ := json.Marshal(body)
	send := func() (int, []byte, http.Header) {
		req, _ := http.NewRequest(method, e.url+path, bytes.NewReader(raw))
		if token == "" {
			token = adminToken
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b, res.Header
	}
	st, first, _ := send()
	if st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, st, first)
	}
	st2, again, h := send()
	if st2 != st || !bytes.Equal(again, first) || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("%s %s repeated with its Idempotency-Key: %d %s (replayed %q), want the first answer %d %s",
			method, path, st2, again, h.Get("Idempotent-Replayed"), st, first)
	}
	return first
}

// TestIdempotencyKeepsNoSecretInClear creates every secret the API shows
// once — an app's secret key, HMAC signing secret and webhook secret, an
// HMAC key's secret, another secret key, a webhook endpoint's secret and
// its rotated one — each with an Idempotency-Key, so that each answer is
// kept for replay, and a card order. Then it reads the database as stored —
// every file in the SQLite database's directory (the database, -wal and
// -shm) as bytes; every row of every PostgreSQL table as text — and finds
// none of the secrets and no card number: a stored answer is sealed with
// the master key.
func TestIdempotencyKeepsNoSecretInClear(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var search func(needles map[string]string)
			var e *env
			switch kind {
			case "sqlite":
				dir := t.TempDir()
				st, err := sqlite.Open(filepath.Join(dir, "paygate.db"))
				if err != nil {
					t.Fatal(err)
				}
				e = startOn(t, st, nil)
				search = func(needles map[string]string) {
					files, err := os.ReadDir(dir)
					if err != nil {
						t.Fatal(err)
					}
					for _, f := range files {
						b, err := os.ReadFile(filepath.Join(dir, f.Name()))
						if err != nil {
							t.Fatal(err)
						}
						for what, s := range needles {
							if bytes.Contains(b, []byte(s)) {
								t.Errorf("%s is in clear in %s", what, f.Name())
							}
						}
					}
					if len(files) < 2 {
						t.Errorf("the database directory holds %d files, want the database and its WAL", len(files))
					}
				}
			case "postgres":
				st, cfg := postgrestest.OpenConfig(t, postgrestest.URL(t))
				e = startOn(t, st, nil)
				search = func(needles map[string]string) {
					db := stdlib.OpenDB(*cfg)
					defer db.Close()
					ctx := context.Background()
					rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
					if err != nil {
						t.Fatal(err)
					}
					var tables []string
					for rows.Next() {
						var name string
						rows.Scan(&name)
						tables = append(tables, name)
					}
					rows.Close()
					if len(tables) < 10 {
						t.Fatalf("found only the tables %v", tables)
					}
					for _, table := range tables {
						rows, err := db.QueryContext(ctx, `SELECT t::text FROM `+table+` AS t`)
						if err != nil {
							t.Fatal(err)
						}
						for rows.Next() {
							var text string
							rows.Scan(&text)
							for what, s := range needles {
								// bytea columns show as hex.
								if strings.Contains(text, s) || strings.Contains(text, hex.EncodeToString([]byte(s))) {
									t.Errorf("%s is in clear in table %s", what, table)
								}
							}
						}
						rows.Close()
					}
					var bodies int
					db.QueryRowContext(ctx, `SELECT count(*) FROM idempotency_keys WHERE body IS NOT NULL`).Scan(&bodies)
					if bodies < 7 {
						t.Errorf("%d stored answers, want the 7 made", bodies)
					}
				}
			}

			needles := map[string]string{}
			var m client.Merchant
			json.Unmarshal(e.idemCall(t, "", "POST", "/admin/v1/merchants", "merchant-1", map[string]any{"name": "Secret Shop"}), &m)
			var app client.AppCreated
			json.Unmarshal(e.idemCall(t, "", "POST", "/admin/v1/merchants/"+m.ID+"/apps", "app-1", map[string]any{"name": "web", "mode": "test"}), &app)
			needles["the app's secret key"] = app.SecretKey
			needles["the app's HMAC signing secret"] = app.SigningKey.Secret
			needles["the app's webhook secret"] = app.WebhookSecret
			var hmacKey, secretKey client.Key
			json.Unmarshal(e.idemCall(t, "", "POST", "/admin/v1/apps/"+app.App.ID+"/keys", "key-1", map[string]any{"alg": "HMAC-SHA256"}), &hmacKey)
			needles["an HMAC key's secret"] = hmacKey.Secret
			json.Unmarshal(e.idemCall(t, "", "POST", "/admin/v1/apps/"+app.App.ID+"/keys", "key-2", map[string]any{"alg": "secret"}), &secretKey)
			needles["another secret key"] = secretKey.Secret
			var ep, rotated client.WebhookEndpoint
			json.Unmarshal(e.idemCall(t, app.SecretKey, "POST", "/v1/webhook-endpoints", "whe-1", map[string]any{"url": "http://127.0.0.1:9/hook", "enabled_events": []string{"*"}}), &ep)
			needles["a webhook endpoint's secret"] = ep.Secret
			json.Unmarshal(e.idemCall(t, app.SecretKey, "POST", "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", "rot-1", map[string]any{}), &rotated)
			needles["a rotated endpoint secret"] = rotated.Secret
			e.idemCall(t, app.SecretKey, "POST", "/v1/orders", "ord-1", map[string]any{"out_trade_no": "card-1", "amount": 100, "currency": "CNY",
				"subject": "Card", "method": "card", "card": map[string]any{"number": "4000056655665556", "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvc": "737"}})
			needles["the card number"] = "4000056655665556"
			for what, s := range needles {
				if len(s) < 16 {
					t.Fatalf("%s is %q: the create did not return it", what, s)
				}
				// The secret's random part alone, without its prefix.
				_, rest, _ := strings.Cut(s, "_")
				if rest != "" && len(rest) >= 16 {
					needles[what+" (without its prefix)"] = rest
				}
			}
			search(needles)
		})
	}
}
