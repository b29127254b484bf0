package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// cardOrder posts a card order for out_trade_no with cvc, with the
// Idempotency-Key key when it is not "", and returns the status, the answer
// and whether it was a replay.
func (e *env) cardOrder(t *testing.T, secretKey, key, cvc string) (int, []byte, bool) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"out_trade_no": "card-cvc", "amount": 700, "currency": "CNY", "subject": "Card",
		"method": "card", "card": map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvc": cvc}})
	req, _ := http.NewRequest("POST", e.url+"/v1/orders", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secretKey)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header.Get("Idempotent-Replayed") == "true"
}

// storedRequestHashes returns the request_hash kept on the order and on
// its Idempotency-Key record.
func (e *env) storedRequestHashes(t *testing.T, appID string, answer []byte) (order, idem string) {
	t.Helper()
	var o client.Order
	if err := json.Unmarshal(answer, &o); err != nil || o.ID == "" {
		t.Fatalf("order answer %s", answer)
	}
	now := time.Now()
	// Beginning a finished key again changes nothing and returns the record.
	rec, err := e.g.Store.IdempotencyBegin(context.Background(), &store.IdempotencyRecord{AppID: appID, Key: "k", RequestHash: "probe", CreatedAt: now, LockedAt: now}, time.Time{})
	if !errors.Is(err, store.ErrConflict) || rec.Status == 0 {
		t.Fatalf("idempotency record: %+v, %v", rec, err)
	}
	return e.storedOrder(o.ID).RequestHash, rec.RequestHash
}

// TestCardDataKeptOnlyKeyed: no CVC influences anything stored once the
// card is authorised, and the card number enters what is stored only
// through a hash keyed by the master key. The same card order made by two
// apps with different CVCs leaves the same fingerprints on the order and
// on its Idempotency-Key record; a repeat with another CVC is the same
// request (the first answer, not 409); and a gateway with another master
// key leaves other fingerprints for the same parameters, so a row does
// not let the card number be brute-forced without the key.
func TestCardDataKeptOnlyKeyed(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		other := e.newMerchant("test", false)
		st1, first, _ := e.cardOrder(t, e.g.Demo.SecretKey, "k", "123")
		st2, second, _ := e.cardOrder(t, other.app.SecretKey, "k", "987")
		if st1 != 201 || st2 != 201 {
			t.Fatalf("card orders: %d %s, %d %s", st1, first, st2, second)
		}
		order1, idem1 := e.storedRequestHashes(t, e.g.Demo.App.ID, first)
		order2, idem2 := e.storedRequestHashes(t, other.app.App.ID, second)
		if order1 != order2 {
			t.Errorf("order request_hash depends on the CVC: %s with 123, %s with 987", order1, order2)
		}
		if idem1 != idem2 {
			t.Errorf("Idempotency-Key request hash depends on the CVC: %s with 123, %s with 987", idem1, idem2)
		}

		// A repeat with another CVC: the same request.
		st, again, replayed := e.cardOrder(t, e.g.Demo.SecretKey, "k", "555")
		if st != 201 || !replayed || !bytes.Equal(again, first) {
			t.Errorf("repeat under the Idempotency-Key with another CVC: %d replayed=%v %s, want the first answer", st, replayed, again)
		}
		st, again, _ = e.cardOrder(t, e.g.Demo.SecretKey, "", "555")
		var o1, o2 client.Order
		json.Unmarshal(first, &o1)
		json.Unmarshal(again, &o2)
		if st != 200 || o2.ID != o1.ID {
			t.Errorf("repeat of out_trade_no with another CVC: %d %s, want 200 and order %s", st, again, o1.ID)
		}

		// Another master key, the same parameters: other fingerprints.
		keyed := startWith(t, "sqlite", func(c *gateway.Config) {
			c.MasterKey = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff"
		})
		st3, third, _ := keyed.cardOrder(t, keyed.g.Demo.SecretKey, "k", "123")
		if st3 != 201 {
			t.Fatalf("card order on the second gateway: %d %s", st3, third)
		}
		order3, idem3 := keyed.storedRequestHashes(t, keyed.g.Demo.App.ID, third)
		if order3 == order1 || idem3 == idem1 {
			t.Errorf("fingerprints do not depend on the master key (order %s, idempotency %s): anyone with the row can test card numbers against them", order3, idem3)
		}
	})
}

// TestFingerprintsOfEarlierVersionsStillMatch: an order, and an
// Idempotency-Key record with its answer, written as a version before keyed
// fingerprints and sealed answers wrote them (bare SHA-256 request hashes,
// the answer in clear) — by a node of that version still running during a
// rolling upgrade, after migration 6 cleaned what was there — still answer
// a repeat as they did: the same request is the same, another is refused.
func TestFingerprintsOfEarlierVersionsStillMatch(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		raw, ok := e.g.Store.(interface {
			ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
		})
		if !ok {
			t.Fatalf("store %T cannot run raw SQL", e.g.Store)
		}
		sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
		body := []byte(`{"out_trade_no":"legacy-1","amount":300,"currency":"CNY","subject":"Tea","method":"sandbox"}`)
		post := func(key string, body []byte) (int, []byte, bool) {
			req, _ := http.NewRequest("POST", e.url+"/v1/orders", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.g.Demo.SecretKey)
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, b, res.Header.Get("Idempotent-Replayed") == "true"
		}
		st, first, _ := post("legacy-key", body)
		if st != 201 {
			t.Fatalf("create: %d %s", st, first)
		}
		var o client.Order
		json.Unmarshal(first, &o)
		// What the earlier version kept: hashes of the parameters and of the request, the answer in clear.
		params, _ := json.Marshal(payment.CreateOrderParams{OutTradeNo: "legacy-1", Amount: 300, Currency: "CNY", Subject: "Tea", Method: "sandbox", ExpiresIn: payment.DefaultExpiresIn})
		if _, err := raw.ExecRaw(ctx, `UPDATE orders SET request_hash = ? WHERE id = ?`, sum(params), o.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecRaw(ctx, `UPDATE idempotency_keys SET request_hash = ?, body = ? WHERE idem_key = ?`,
			sum(append([]byte("POST /v1/orders\n"), body...)), first, "legacy-key"); err != nil {
			t.Fatal(err)
		}

		if st, again, replayed := post("legacy-key", body); st != 201 || !replayed || !bytes.Equal(again, first) {
			t.Errorf("repeat under a key kept by the earlier version: %d replayed=%v %s", st, replayed, again)
		}
		if st, again, _ := post("legacy-key", bytes.Replace(body, []byte("300"), []byte("301"), 1)); st != 409 || !bytes.Contains(again, []byte("idempotency_key_reused")) {
			t.Errorf("another request under a key kept by the earlier version: %d %s", st, again)
		}
		var got client.Order
		if st, again, _ := post("", body); st != 200 || json.Unmarshal(again, &got) != nil || got.ID != o.ID {
			t.Errorf("repeat of an order fingerprinted by the earlier version: %d %s", st, again)
		}
		if st, again, _ := post("", bytes.Replace(body, []byte("Tea"), []byte("Tee"), 1)); st != 409 || !bytes.Contains(again, []byte("duplicate_out_trade_no")) {
			t.Errorf("other parameters for an order fingerprinted by the earlier version: %d %s", st, again)
		}
	})
}
