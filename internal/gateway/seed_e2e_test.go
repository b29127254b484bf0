package gateway_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/benchseed"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/id"
)

// Seeded history (paygate bench seed) is history the gateway can live with:
// its ledger verifies, the API reads it, lists walk it in creation order
// behind the orders made since, the balance is the seeded payments less
// fees and refunds, a busy day's statement lists that day's payments, and a
// seeded order can be refunded through the API.
func TestSeededHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const orders, merchants, days, feeBps = 4000, 7, 20, 60
		end := time.Now().UTC().Truncate(24 * time.Hour)
		x, ok := e.g.Store.(benchseed.Execer)
		if !ok {
			t.Fatalf("store %T runs no raw statements", e.g.Store)
		}
		demo := e.g.Demo.App
		var chunks []int
		h := benchseed.History{
			Orders: orders, Merchants: merchants, Days: days, End: end, FeeBps: feeBps, Chunk: 1500,
			DemoMerchant: demo.MerchantID, DemoApp: demo.ID, DemoLive: demo.Livemode,
			ChannelAccount: channelaccount.SandboxAccountID,
		}
		st, err := benchseed.Seed(ctx, x, h, func(done, total int) { chunks = append(chunks, done) })
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{1500, 3000, 4000}; len(chunks) != 3 || chunks[2] != orders {
			t.Errorf("progress %v, want %v", chunks, want)
		}
		e.verifyLedger()

		// Reads: the i-th order is the demo's when i%10 == 0; its status by Kind.
		status := func(i int64) string {
			switch k := benchseed.Kind(i); {
			case k < 17:
				return "succeeded"
			case k < 19:
				return "closed"
			}
			return "failed"
		}
		seen := map[string]bool{}
		for i := int64(0); i < 400; i += 10 {
			o, err := e.demo.GetOrder(ctx, h.OrderID(i))
			if err != nil {
				t.Fatalf("order %d: %v", i, err)
			}
			if o.Status != status(i) {
				t.Errorf("order %d is %s, want %s", i, o.Status, status(i))
			}
			seen[o.Status] = true
		}
		if len(seen) != 3 {
			t.Errorf("the demo's first 40 orders are %v, want every final status", seen)
		}
		if _, err := e.demo.GetOrder(ctx, h.OrderID(1)); err == nil {
			t.Error("the demo app reads another merchant's seeded order")
		}
		if o, err := e.demo.GetOrderByOutTradeNo(ctx, "H3990"); err != nil || o.ID != h.OrderID(3990) {
			t.Errorf("by out_trade_no: %v, %v", o, err)
		}

		// A new order lists before the history; the history follows, newest first.
		fresh, err := e.demo.CreateOrder(ctx, orderParams("after-history", 100))
		if err != nil {
			t.Fatal(err)
		}
		page, err := e.demo.ListOrders(ctx, client.ListParams{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got := orderIDs(page.Data); len(got) != 3 || got[0] != fresh.ID || got[1] != h.OrderID(3990) || got[2] != h.OrderID(3980) {
			t.Errorf("first page %v, want %s then the newest seeded", got, fresh.ID)
		}
		// Seeded ids are ids of the gateway's shape whose time is the object's.
		for _, i := range []int64{0, 1, 1999, 3999} {
			oid := h.OrderID(i)
			u, err := ulid.ParseStrict(strings.ToUpper(oid[4:]))
			if !id.Valid(id.Order, oid) || err != nil || u.Time() != uint64(h.CreatedAt(i).UnixMilli()) {
				t.Errorf("seeded id %s of order %d: valid %v, %v, time %d, want %d", oid, i, id.Valid(id.Order, oid), err, u.Time(), h.CreatedAt(i).UnixMilli())
			}
		}
		if st.DemoOrders != orders/10 {
			t.Errorf("stats: %d demo orders, want %d", st.DemoOrders, orders/10)
		}

		// The balance: every demo payment less its fee, less the refunds.
		var pending int64
		for i := int64(0); i < orders; i += 10 {
			amt := 100 + (i*7919)%99900
			if benchseed.Kind(i) < 17 {
				pending += amt - (amt*feeBps+5000)/10000
			}
			if benchseed.Kind(i) == 3 {
				pending -= amt / 2
			}
		}
		bal, err := e.demo.GetBalance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(bal.Pending) != 1 || bal.Pending[0].Amount != pending {
			t.Errorf("pending %+v, want %d CNY", bal.Pending, pending)
		}

		// The busiest day's statement lists that day's demo payments.
		shanghai, _ := time.LoadLocation("Asia/Shanghai") // the demo merchant's
		day, _ := time.ParseInLocation(time.DateOnly, st.BusiestDemoDay, shanghai)
		var want int
		for i := int64(0); i < orders; i += 10 {
			paid := h.CreatedAt(i).Add(5 * time.Second)
			if benchseed.Kind(i) < 17 && !paid.Before(day) && paid.Before(day.AddDate(0, 0, 1)) {
				want++
			}
		}
		req, _ := http.NewRequest("GET", e.url+"/v1/statements/"+st.BusiestDemoDay+"?type=trades", nil)
		req.Header.Set("Authorization", "Bearer "+e.g.Demo.SecretKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rows := len(regexp.MustCompile(`,ord_[0-9a-z]{26},H\d+,`).FindAllIndex(body, -1))
		if resp.StatusCode != 200 || want == 0 || rows != want {
			t.Errorf("statement of %s: status %d, %d seeded trades, want %d", st.BusiestDemoDay, resp.StatusCode, rows, want)
		}

		// A seeded payment refunds like any other.
		rf, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: h.OrderID(10), OutRefundNo: "seeded-refund", Amount: 50})
		if err != nil {
			t.Fatalf("refund a seeded order: %v", err)
		}
		if rf.Status != "succeeded" && rf.Status != "pending" {
			t.Errorf("refund of a seeded order is %s", rf.Status)
		}
		e.verifyLedger()
	})
}

func orderIDs(os []client.Order) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}
