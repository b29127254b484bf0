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
	waiting map[string]chan struct{} // order id → closed on arrival
	arrived map[string]bool          // arrived before anyone waited
	bad     int
}

func newCycle(secret string) (*cycle, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &cycle{secret: secret, url: "http://" + l.Addr().String() + "/hook", waiting: map[string]chan struct{}{}, arrived: map[string]bool{}}
	c.srv = &http.Server{Handler: http.HandlerFunc(c.receive), ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(l)
	return c, nil
}

func (c *cycle) close() { c.srv.Close() }

func (c *cycle) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := client.VerifyWebhook(r.Header, body, c.secret, 5*time.Minute); err != nil {
		c.mu.Lock()
		c.bad++
		c.mu.Unlock()
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	json.Unmarshal(body, &ev)
	w.WriteHeader(http.StatusNoContent)
	if ev.Type != "order.succeeded" {
		return
	}
	c.mu.Lock()
	if ch, ok := c.waiting[ev.Data.Object.ID]; ok {
		close(ch)
		delete(c.waiting, ev.Data.Object.ID)
	} else {
		c.arrived[ev.Data.Object.ID] = true
	}
	c.mu.Unlock()
}

// wait blocks until orderID's notification has arrived or ctx ends.
func (c *cycle) wait(ctx context.Context, orderID string) bool {
	c.mu.Lock()
	if c.arrived[orderID] {
		delete(c.arrived, orderID)
		c.mu.Unlock()
		return true
	}
	ch := make(chan struct{})
	c.waiting[orderID] = ch
	c.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, orderID)
		c.mu.Unlock()
		return false
	}
}

// fullCycle is create → pay → ledger postings → webhook delivered and verified.
func (w *worker) fullCycle(ctx context.Context) string {
	code, body := w.call(ctx, "POST", "/v1/orders", w.orderBody(w.r.cycle.url))
	if code != "" {
		return "create_" + code
	}
	var o struct {
		ID string `json:"id"`
	}
	json.Unmarshal(body, &o)
	if code, _ := w.call(ctx, "POST", "/v1/test/orders/"+o.ID+"/pay", []byte(`{"outcome":"succeeded"}`)); code != "" {
		return "pay_" + code
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !w.r.cycle.wait(wctx, o.ID) {
		return "webhook_timeout"
	}
	return ""
}
