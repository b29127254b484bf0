package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/paygate/paygate/client"
)

// cycle runs the webhook receiver of the cycle scenario: create an order
// with notify_url pointing here, pay it through the test helper, and wait
// until its order.succeeded notification arrives with a valid signature.
type cycle struct {
	secret  string
	srv     *http.Server
	url     string
	mu      sync.Mutex
	waiting map[string]chan arrival // order id → gets the arrival
	arrived map[string]arrival      // arrived before anyone waited
}

// arrival is what became of an order's webhook.
type arrival int

const (
	timedOut arrival = iota
	arrived
	badSignature
)

func newCycle(secret string) (*cycle, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &cycle{secret: secret, url: "http://" + l.Addr().String() + "/hook", waiting: map[string]chan arrival{}, arrived: map[string]arrival{}}
	c.srv = &http.Server{Handler: http.HandlerFunc(c.receive), ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(l)
	return c, nil
}

func (c *cycle) close() { c.srv.Close() }

func (c *cycle) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	json.Unmarshal(body, &ev)
	a := arrived
	if err := client.VerifyWebhook(r.Header, body, c.secret, 5*time.Minute); err != nil {
		a = badSignature
		http.Error(w, "bad signature", http.StatusBadRequest)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	if ev.Type != "order.succeeded" || ev.Data.Object.ID == "" {
		return
	}
	c.mu.Lock()
	if ch, ok := c.waiting[ev.Data.Object.ID]; ok {
		ch <- a
		delete(c.waiting, ev.Data.Object.ID)
	} else {
		c.arrived[ev.Data.Object.ID] = a
	}
	c.mu.Unlock()
}

// wait blocks until orderID's notification has arrived or ctx ends.
func (c *cycle) wait(ctx context.Context, orderID string) arrival {
	c.mu.Lock()
	if a, ok := c.arrived[orderID]; ok {
		delete(c.arrived, orderID)
		c.mu.Unlock()
		return a
	}
	ch := make(chan arrival, 1)
	c.waiting[orderID] = ch
	c.mu.Unlock()
	select {
	case a := <-ch:
		return a
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, orderID)
		c.mu.Unlock()
		return timedOut
	}
}

// fullCycle is create → pay → ledger postings → webhook delivered and verified.
func (w *worker) fullCycle(ctx context.Context) (string, string) {
	t0 := time.Now()
	code, msg, body := w.call(ctx, "POST", "/v1/orders", w.orderBody(w.r.cycle.url))
	if code != "" {
		return "create_" + code, msg
	}
	var o struct {
		ID string `json:"id"`
	}
	json.Unmarshal(body, &o)
	t1 := time.Now()
	if code, msg, _ := w.call(ctx, "POST", "/v1/test/orders/"+o.ID+"/pay", []byte(`{"outcome":"succeeded"}`)); code != "" {
		return "pay_" + code, msg
	}
	t2 := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch w.r.cycle.wait(wctx, o.ID) {
	case arrived:
		if w.phases != nil {
			w.phases[0].Record(t1.Sub(t0))
			w.phases[1].Record(t2.Sub(t1))
			w.phases[2].Record(time.Since(t2))
		}
		return "", ""
	case badSignature:
		return "webhook_signature_invalid", "the webhook's signature did not verify with --webhook-secret (is it this app's whsec_ secret?)"
	}
	return "webhook_timeout", "no webhook arrived within 30s"
}
