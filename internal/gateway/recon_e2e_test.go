package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/sim"
	"github.com/paygate/paygate/internal/store"
)

// Reconciliation over the three simulators, through the operator API: a
// day with payments and a partial refund, a refund the channel finished
// while the gateway still has it pending (its callback lost), a payment
// whose callback was lost on an order the gateway then closed (长款,
// repaired and refunded), a bill line whose amount the channel changed
// and a trade only the channel has (discrepancies, then resolved), and
// then the day settled: the ledger verifies, and the settlement, the
// statement and the balance agree to the fen.

func TestReconThreeSimulators(t *testing.T) {
	for _, provider := range []string{"wechatpay", "alipay", "unionpay"} {
		for _, kind := range storeKinds {
			t.Run(provider+"/"+kind, func(t *testing.T) {
				t.Parallel()
				reconDay(t, start(t, kind), provider)
			})
		}
	}
}

func waitRefund(t *testing.T, c *client.Client, id, want string) *client.Refund {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := c.GetRefund(context.Background(), id)
		if err != nil {
			t.Fatalf("get refund: %v", err)
		}
		if r.Status == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund %s is %s, want %s", id, r.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// billHas polls the channel's bill of day until a record satisfies ok.
func (e *env) billHas(t *testing.T, account, day string, ok func(client.ChannelBillRecord) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var bill client.ChannelBill
		if st, b := e.admin("GET", "/admin/v1/channel-accounts/"+account+"/bill?date="+day, nil, &bill); st != 200 {
			t.Fatalf("bill: %d %s", st, b)
		}
		for _, r := range bill.Records {
			if ok(r) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bill of %s never showed the record", day)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func reconDay(t *testing.T, e *env, provider string) {
	ctx := context.Background()
	pm := providerMethods[provider]
	s := e.channelAccount(provider, pm.qr)
	// The simulators charge 0.6 %; the account says so.
	if st, b := e.admin("POST", "/admin/v1/channel-accounts/"+s.account, map[string]any{"fee_bps": 60}, nil); st != 200 {
		t.Fatalf("fee_bps: %d %s", st, b)
	}
	faults := s.sim.(sim.BillFaultSimulator)
	day := time.Now().In(shanghai).Format(time.DateOnly)

	a := e.paidAtSimulator(t, s, pm.qr, "rc-a", 10000)
	r1, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: a.ID, OutRefundNo: "rc-r1", Amount: 3000})
	if err != nil {
		t.Fatal(err)
	}
	waitRefund(t, e.demo, r1.ID, "succeeded")
	b := e.paidAtSimulator(t, s, pm.qr, "rc-b", 5000)

	// A refund the channel finishes later, whose callback is lost (Alipay
	// refunds at once: its answer is the outcome, so there is none).
	var r2 *client.Refund
	if provider != "alipay" {
		s.sim.SetFault(sim.FaultDropNotify, 0)
		if r2, err = e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: a.ID, OutRefundNo: "rc-r2", Amount: 2000}); err != nil {
			t.Fatal(err)
		}
		e.billHas(t, s.account, day, func(r client.ChannelBillRecord) bool { return r.Kind == "refund" && r.Refund == r2.ID })
		// The fault stays until the reconciliation has run: the settled
		// refund's notification may still be on its way, and must be lost.
		if got, _ := e.demo.GetRefund(ctx, r2.ID); got.Status != "pending" {
			t.Fatalf("refund r2 is %s at the gateway, want pending", got.Status)
		}
	}

	// The payer pays; the callback is lost, and the gateway closes the
	// order (as at its expiry, the close crossing the payment).
	d, err := e.demo.CreateOrder(ctx, client.CreateOrderParams{OutTradeNo: "rc-d", Amount: 8000, Currency: "CNY", Subject: "Tea", Method: pm.qr})
	if err != nil {
		t.Fatal(err)
	}
	s.sim.SetFault(sim.FaultDropNotify, 0)
	if err := s.sim.PayerPays(d.ID); err != nil {
		t.Fatal(err)
	}
	e.billHas(t, s.account, day, func(r client.ChannelBillRecord) bool { return r.Kind == "payment" && r.Order == d.ID })
	if _, err := e.g.Store.OrderTransition(ctx, store.OrderTransition{OrderID: d.ID, From: []store.OrderStatus{store.OrderPending, store.OrderProcessing},
		To: store.OrderClosed, At: e.clock.Now()}); err != nil {
		t.Fatalf("close order d: %v", err)
	}

	faults.AlterBillAmount(b.ID, 4900)
	only := id.New(id.Order, time.Now())
	if err := faults.TradeAtChannelOnly(only, 4200); err != nil {
		t.Fatal(err)
	}

	// The next morning, the operator reconciles the day.
	d0, _ := time.ParseInLocation(time.DateOnly, day, shanghai)
	e.clock.Set(d0.AddDate(0, 0, 1).Add(11 * time.Hour))
	if provider == "wechatpay" {
		// An uploaded bill that is not the day's, or not UTF-8, is refused
		// and leaves nothing behind.
		const header = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"
		row := "`2020-01-01 10:00:00,`wx,`1,`,`,`42,`" + a.ID + ",`o,`NATIVE,`SUCCESS,`CFT,`CNY,`100.00,`0.00,`,`,`0.00,`0.00,`,`,`Tea,`,`0.60,`0.60%,`100.00,`0.00,`\r\n"
		summary := "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`1,`100.00,`0.00,`0.00,`0.60,`100.00,`0.00\r\n"
		for what, bill := range map[string][]byte{
			"another day's bill": []byte(header + row + summary),
			"a truncated bill":   []byte(header + row),
		} {
			st, body := e.admin("POST", "/admin/v1/reconciliations", map[string]any{"channel_account": s.account, "date": day,
				"bill": base64.StdEncoding.EncodeToString(bill)}, nil)
			if st != 400 || !strings.Contains(string(body), "bill_invalid") {
				t.Fatalf("%s: %d %s", what, st, body)
			}
		}
		if st, body := e.admin("GET", "/admin/v1/reconciliations?channel_account="+s.account, nil, nil); st != 200 || strings.Contains(string(body), "rcn_") {
			t.Fatalf("a refused bill left a run: %d %s", st, body)
		}
	}
	var run recon.Run
	if st, body := e.admin("POST", "/admin/v1/reconciliations", map[string]any{"channel_account": s.account, "date": day}, &run); st != 200 {
		t.Fatalf("reconcile: %d %s", st, body)
	}
	s.sim.SetFault(sim.FaultNone, 0) // the notifications of r2 and d were lost until now

	repaired, matched := 1, 4 // a, r1, d (repaired), and r2 (repaired) where there is one
	if r2 == nil {
		matched = 3
	} else {
		repaired = 2
	}
	if run.Status != "completed" || run.Classes[recon.Matched].Count != matched || run.Classes[recon.AmountMismatch].Count != 1 ||
		run.Classes[recon.ChannelOnly].Count != 1 || run.Repaired != repaired || run.Classes[recon.GatewayOnly].Count != 0 ||
		run.OpenDiscrepancies == nil || *run.OpenDiscrepancies != 2 {
		t.Fatalf("run: %+v", run)
	}
	var shown recon.Run
	if st, body := e.admin("GET", "/admin/v1/reconciliations/"+run.ID, nil, &shown); st != 200 || shown.Classes[recon.Matched] != run.Classes[recon.Matched] {
		t.Fatalf("show run: %d %s", st, body)
	}
	var runs struct {
		Data []recon.Run `json:"data"`
	}
	if st, body := e.admin("GET", "/admin/v1/reconciliations?date="+day+"&channel_account="+s.account, nil, &runs); st != 200 || len(runs.Data) != 1 || runs.Data[0].ID != run.ID {
		t.Fatalf("list runs: %d %s", st, body)
	}
	if st, body := e.admin("GET", "/admin/v1/reconciliation-discrepancies?class=bogus", nil, nil); st != 400 {
		t.Fatalf("a bad class filter: %d %s", st, body)
	}
	// The lost payment is succeeded and given back; the pending refund succeeded.
	if o := e.storedOrder(d.ID); o.Status != store.OrderSucceeded || o.AmountRefunded != 8000 {
		t.Fatalf("order d is %s with %d refunded", o.Status, o.AmountRefunded)
	}
	if r2 != nil {
		if got, _ := e.g.Store.RefundGet(ctx, r2.ID); got.Status != store.RefundSucceeded {
			t.Fatalf("refund r2 is %s after reconciliation", got.Status)
		}
	}
	if evs, _, _ := e.g.Store.EventList(ctx, store.EventFilter{Type: notify.ReconciliationDiscrepancyFound}); len(evs) != 1 {
		t.Fatalf("%d discrepancy_found events", len(evs))
	}

	// The operator resolves the two discrepancies.
	var list struct {
		Data []recon.Discrepancy `json:"data"`
	}
	if st, body := e.admin("GET", "/admin/v1/reconciliation-discrepancies?status=open&reconciliation="+run.ID, nil, &list); st != 200 || len(list.Data) != 2 {
		t.Fatalf("open discrepancies: %d %s", st, body)
	}
	for _, dsc := range list.Data {
		switch {
		case dsc.Class == recon.AmountMismatch && dsc.RefID == b.ID && dsc.BillAmount == 4900 && dsc.GatewayAmount == 5000:
		case dsc.Class == recon.ChannelOnly && dsc.RefID == "" && dsc.BillAmount == 4200:
		default:
			t.Fatalf("unexpected discrepancy %+v", dsc)
		}
		var res recon.Discrepancy
		if st, body := e.admin("POST", "/admin/v1/reconciliation-discrepancies/"+dsc.ID+"/resolve",
			map[string]any{"action": "write_off", "note": "checked with the channel", "resolved_by": "ops"}, &res); st != 200 || res.Status != "resolved" {
			t.Fatalf("resolve %s: %d %s", dsc.ID, st, body)
		}
	}
	e.verifyLedger()

	// Settlement of the day takes what reconciliation proved.
	e.clock.Set(d0.AddDate(0, 0, 1).Add(13 * time.Hour))
	merchantID := e.g.Demo.App.MerchantID
	var srun client.SettlementRun
	if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": day, "merchant_id": merchantID}, &srun); st != 200 {
		t.Fatalf("settle: %d %s", st, body)
	}
	e.clock.Set(time.Now())
	if len(srun.Settlements) != 1 {
		t.Fatalf("settlements: %+v", srun)
	}
	stl := srun.Settlements[0]
	// d and r2 succeeded when reconciliation repaired them, on the next
	// day: they belong to that day's settlement.
	if stl.Gross != 10000+5000 || stl.Refunds != 3000 || stl.Fees != 90 || stl.Net != 15000-3000-90 ||
		stl.Waiting.Payments.Count != 0 || stl.Waiting.Refunds.Count != 0 {
		t.Fatalf("settlement: %+v", stl)
	}
	bal, err := e.demo.GetBalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var available int64
	for _, a := range bal.Available {
		if a.Currency == "CNY" {
			available = a.Amount
		}
	}
	if available != stl.Net {
		t.Fatalf("available %d, settlement net %d", available, stl.Net)
	}
	// The settlements statement of the day totals the settlement's net.
	var buf bytes.Buffer
	if err := e.demo.DownloadStatement(ctx, day, client.StatementSettlements, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last[0] != "total" || last[4] != stl.ID || last[10] != strconv.FormatInt(stl.Net, 10) {
		t.Fatalf("settlements statement: %v", recs)
	}
	e.verifyLedger()
}
