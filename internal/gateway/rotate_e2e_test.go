package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/postgres"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
	"github.com/paygate/paygate/internal/store/sqlite"
)

const (
	// oldMasterKey is the key every test gateway starts with (startOn).
	oldMasterKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	newMasterKey = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
)

// reopener opens stores on one test database, one per gateway (a gateway
// closes its store when it stops; the test closes the others).
func reopener(t *testing.T, kind string) func() store.Store {
	t.Helper()
	if kind == "postgres" {
		first, cfg := postgrestest.OpenConfig(t, postgrestest.URL(t))
		used := false
		return func() store.Store {
			if !used {
				used = true
				return first
			}
			st, err := postgres.OpenConfig(context.Background(), cfg)
			if err != nil {
				t.Fatalf("reopen postgres: %v", err)
			}
			return st
		}
	}
	path := filepath.Join(t.TempDir(), "paygate.db")
	return func() store.Store {
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		return st
	}
}

// serveKeys runs a gateway on st with the master key and old keys given,
// logging into logs; stop shuts it down (also at the test's end). demoKey is
// the demo app's secret key when the demo was made by an earlier start.
func serveKeys(t *testing.T, st store.Store, master, old, demoKey string, fake *clock.Fake, logs io.Writer) (*env, func()) {
	t.Helper()
	g, err := gateway.OpenWith(context.Background(), gateway.Config{
		Addr: "127.0.0.1:0", AdminToken: adminToken, MasterKey: master, OldMasterKeys: old, Clock: fake,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), WorkerInterval: time.Hour,
		MaxInFlight: 256, MaxQueueTime: time.Second, ShedLatencyTarget: -1, // as the harness: not a test of shedding
	}, st, io.Discard)
	if err != nil {
		t.Fatalf("open gateway: %v", err)
	}
	if err := g.Listen(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && err != http.ErrServerClosed {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	if g.Demo != nil {
		demoKey = g.Demo.SecretKey
	}
	e := &env{t: t, g: g, url: g.URL(), clock: fake}
	e.demo = e.newClient(client.WithSecretKey(demoKey))
	return e, stop
}

// payAndRefund is one round of traffic: an order paid by the payer at the
// simulator, its callback, a partial refund through the channel, and an
// idempotent create repeated. It returns the first thing that went wrong.
func payAndRefund(ctx context.Context, e *env, s *simulated, demoKey string, n int) error {
	o, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: fmt.Sprintf("rot-%d", n), Amount: 2000, Currency: "CNY", Subject: "Tea", Method: "wechat.native"})
	if err != nil {
		return fmt.Errorf("round %d: create: %w", n, err)
	}
	if err := s.sim.PayerPays(o.ID); err != nil {
		return fmt.Errorf("round %d: payer pays: %w", n, err)
	}
	if err := pollUntil(func() (bool, error) {
		got, err := e.demo.GetOrder(ctx, o.ID)
		return err == nil && got.Status == "succeeded", err
	}); err != nil {
		return fmt.Errorf("round %d: order %s not paid: %w", n, o.ID, err)
	}
	r, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("rot-r%d", n), Amount: 500})
	if err != nil {
		return fmt.Errorf("round %d: refund: %w", n, err)
	}
	if err := pollUntil(func() (bool, error) {
		got, err := e.demo.GetRefund(ctx, r.ID)
		if err == nil && got.Status != "succeeded" {
			// A refund still processing at the channel is finished by its
			// callback or by the worker's query.
			e.clock.Advance(10 * time.Second)
			e.g.Worker.RunOnce(ctx)
		}
		return err == nil && got.Status == "succeeded", err
	}); err != nil {
		return fmt.Errorf("round %d: refund %s not done: %w", n, r.ID, err)
	}
	body := map[string]any{"out_trade_no": fmt.Sprintf("rot-idem-%d", n), "amount": 100, "currency": "CNY", "subject": "Bun", "method": "sandbox"}
	st1, first, _, err := idemPostAs(e, demoKey, fmt.Sprintf("rot-key-%d", n), body)
	if err != nil || st1 != http.StatusCreated {
		return fmt.Errorf("round %d: idempotent create: %d %s %v", n, st1, first, err)
	}
	st2, again, replayed, err := idemPostAs(e, demoKey, fmt.Sprintf("rot-key-%d", n), body)
	if err != nil || st2 != st1 || !bytes.Equal(again, first) || !replayed {
		return fmt.Errorf("round %d: idempotent repeat: %d %s (replayed %v) %v", n, st2, again, replayed, err)
	}
	return nil
}

// pollUntil calls done until it reports true, an error, or 15 s pass.
func pollUntil(done func() (bool, error)) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still not done after 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idemPostAs posts body as the app of secretKey under an Idempotency-Key.
func idemPostAs(e *env, secretKey, key string, body any) (int, []byte, bool, error) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.url+"/v1/orders", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+secretKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, false, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header.Get("Idempotent-Replayed") == "true", err
}

// TestMasterKeyRotationWhileServing rotates the master key of a database
// while a gateway holding both keys pays and refunds through a WeChat Pay
// simulator channel: every request succeeds and nothing fails to open
// (no cryptobox error is logged), the rotation reseals every column and
// leaves nothing under the old key, the old key alone no longer opens the
// database, and a gateway with the new key alone serves everything: the
// channel, and the replay of an idempotent request made before the
// rotation, whose fingerprint (derived from the root, not the master key)
// still matches.
func TestMasterKeyRotationWhileServing(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			open := reopener(t, kind)
			logs := &lockedBuffer{}
			fake := clock.NewFake(time.Now())

			// Before: the old key alone. Secrets and kept answers sealed under it.
			before, stopBefore := serveKeys(t, open(), oldMasterKey, "", "", fake, logs)
			demoKey := before.g.Demo.SecretKey
			sim := before.channelAccount("wechatpay", "wechat.native")
			if err := payAndRefund(ctx, before, sim, demoKey, 0); err != nil {
				t.Fatal(err)
			}
			earlyBody := map[string]any{"out_trade_no": "before-rotation", "amount": 700, "currency": "CNY", "subject": "Cake", "method": "sandbox"}
			st, early, _, err := idemPostAs(before, demoKey, "made-before-rotation", earlyBody)
			if err != nil || st != http.StatusCreated {
				t.Fatalf("idempotent create before the rotation: %d %s %v", st, early, err)
			}
			for i := range 12 { // answers under the old key, for the rotation to walk in batches
				body := map[string]any{"out_trade_no": fmt.Sprintf("old-%d", i), "amount": 100 + i, "currency": "CNY", "subject": "Bun", "method": "sandbox"}
				if st, b, _, err := idemPostAs(before, demoKey, fmt.Sprintf("old-key-%d", i), body); err != nil || st != http.StatusCreated {
					t.Fatalf("idempotent create %d: %d %s %v", i, st, b, err)
				}
			}
			stopBefore()

			// During: a gateway with the new key sealing and the old one
			// opening, serving rounds of traffic while the rotation runs;
			// between two batches of the rotation at least one round completes.
			during, stopDuring := serveKeys(t, open(), newMasterKey, oldMasterKey, demoKey, fake, logs)
			sim = &simulated{sim: sim.sim, url: sim.url, account: sim.account}
			rounds := make(chan int, 1000)
			failed := make(chan error, 1)
			stopTraffic := make(chan struct{})
			trafficDone := make(chan struct{})
			go func() {
				defer close(trafficDone)
				for n := 1; ; n++ {
					select {
					case <-stopTraffic:
						return
					default:
					}
					if err := payAndRefund(ctx, during, sim, demoKey, n); err != nil {
						failed <- err
						return
					}
					rounds <- n
				}
			}()
			cli := open() // the command's own connection
			defer cli.Close()
			box, err := gateway.OpenBox(ctx, gateway.Config{MasterKey: newMasterKey, OldMasterKeys: oldMasterKey}, cli)
			if err != nil {
				t.Fatal(err)
			}
			batches := 0
			rep, err := gateway.RotateMasterKey(ctx, cli, box, gateway.RotateMasterOptions{BatchSize: 2,
				Progress: func(string, int) {
					batches++
					select {
					case <-rounds:
					case err := <-failed:
						failed <- err
					}
				}})
			close(stopTraffic)
			<-trafficDone
			select {
			case err := <-failed:
				t.Fatalf("traffic during the rotation: %v", err)
			default:
			}
			if err != nil {
				t.Fatalf("rotate: %v", err)
			}
			if batches < 8 {
				t.Fatalf("the rotation ran %d batches, want several interleaved with traffic", batches)
			}
			got := map[string]gateway.RotateMasterColumn{}
			for _, c := range rep.Columns {
				got[c.Column] = c
				if c.Failed != 0 || c.Left != 0 {
					t.Errorf("%s: %d values failed to reseal (%s), %d left", c.Column, c.Failed, c.FirstError, c.Left)
				}
			}
			for col, least := range map[string]int{"settings.value": 1, "platform_keys.private_sealed": 1, "apps.webhook_secret_sealed": 1,
				"channel_accounts.sealed_secrets": 2, "idempotency_keys.body": 13} {
				if got[col].Resealed < least {
					t.Errorf("%s: resealed %d values, want at least %d", col, got[col].Resealed, least)
				}
			}
			if again, err := gateway.RotateMasterKey(ctx, cli, box, gateway.RotateMasterOptions{}); err != nil || again.Resealed() != 0 {
				t.Fatalf("running the rotation again: resealed %d, %v; want nothing to do", again.Resealed(), err)
			}
			stopDuring()

			// The old key alone no longer opens the database.
			oldOnly := open()
			if g, err := gateway.OpenWith(ctx, gateway.Config{Addr: "127.0.0.1:0", AdminToken: adminToken, MasterKey: oldMasterKey,
				Clock: fake, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerInterval: time.Hour}, oldOnly, io.Discard); err == nil {
				g.Shutdown(ctx)
				t.Fatal("a gateway with only the old master key started after the rotation")
			}
			oldOnly.Close()

			// After: the new key alone serves everything.
			after, _ := serveKeys(t, open(), newMasterKey, "", demoKey, fake, logs)
			st, replay, replayed, err := idemPostAs(after, demoKey, "made-before-rotation", earlyBody)
			if err != nil || st != http.StatusCreated || !replayed || !bytes.Equal(replay, early) {
				t.Fatalf("repeat after the rotation of a request made before it: %d %s (replayed %v) %v; want the first answer %s",
					st, replay, replayed, err, early)
			}
			if err := payAndRefund(ctx, after, sim, demoKey, 9999); err != nil {
				t.Fatalf("after the rotation, with the new key only: %v", err)
			}
			after.verifyLedger()
			if l := logs.String(); strings.Contains(l, "cryptobox") {
				t.Fatalf("a sealed value failed to open:\n%s", l)
			}
		})
	}
}
