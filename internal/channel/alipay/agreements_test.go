package alipay_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/alipay"
	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/id"
)

// agreementSetup adds a receiver for the agreement callbacks.
type agreementSetup struct {
	*setup
	agr *channeltest.Receiver
	ag  channel.Agreements
}

func newAgreementSetup(t *testing.T) *agreementSetup {
	t.Helper()
	st := newSetup(t)
	if !st.conn.Capabilities().Supports(alipay.MethodWithholding, "CNY") {
		t.Fatalf("the simulator's account does not serve %s", alipay.MethodWithholding)
	}
	return &agreementSetup{setup: st, agr: channeltest.NewReceiver(t, st.conn.NotifyReply(nil)), ag: st.conn.(channel.Agreements)}
}

func (st *agreementSetup) nextAgreement(t *testing.T) *channel.AgreementNotification {
	t.Helper()
	select {
	case req := <-st.agr.C:
		n, err := st.ag.AgreementNotify(ctx(t), req)
		if err != nil {
			t.Fatalf("genuine agreement callback refused: %v\n%s", err, req.Body)
		}
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no agreement callback")
		return nil
	}
}

// signed has the payer open the signing page and sign at the simulator.
func (st *agreementSetup) signed(t *testing.T, limit int64) (agreementID, agreementNo string) {
	t.Helper()
	agreementID = id.New(id.Agreement, time.Now())
	resp, err := st.ag.SignAgreement(ctx(t), channel.SignAgreementRequest{AgreementID: agreementID, CreatedAt: time.Now(), Method: alipay.MethodWithholding,
		Description: "Monthly plan", MaxAmountPerCharge: limit, Currency: "CNY", Period: "month", NotifyURL: st.agr.URL, ReturnURL: "https://shop.example/back"})
	if err != nil || resp.NextAction == nil || !strings.Contains(resp.NextAction.URL, "method=alipay.user.agreement.page.sign") {
		t.Fatalf("sign: %+v, %v", resp, err)
	}
	page, err := http.Get(resp.NextAction.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	ext := strings.Replace(agreementID, "_", "", 1)
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "/_sim/agreements/"+ext+"/sign") {
		t.Fatalf("signing page: %d %s", page.StatusCode, body)
	}
	if err := st.sim.SignAgreement(ext); err != nil {
		t.Fatal(err)
	}
	n := st.nextAgreement(t)
	if n.Agreement.AgreementID != agreementID || n.Agreement.Status != channel.AgreementActive || n.Agreement.ChannelAgreementNo == "" {
		t.Fatalf("dut_user_sign: %+v", n.Agreement)
	}
	return agreementID, n.Agreement.ChannelAgreementNo
}

func (st *agreementSetup) withhold(t *testing.T, agreementNo, orderID string, amount int64) (*channel.PayResponse, error) {
	return st.conn.Pay(ctx(t), channel.PayRequest{OrderID: orderID, Method: alipay.MethodWithholding, Amount: amount, Currency: "CNY",
		Subject: "Monthly plan", AgreementNo: agreementNo})
}

func TestWithholdingLifecycle(t *testing.T) {
	t.Parallel()
	st := newAgreementSetup(t)
	agr, no := st.signed(t, 5000)
	ext := strings.Replace(agr, "_", "", 1)
	q, err := st.ag.QueryAgreement(ctx(t), channel.AgreementRequest{AgreementID: agr})
	if err != nil || q.Status != channel.AgreementActive || q.ChannelAgreementNo != no {
		t.Fatalf("query: %+v, %v", q, err)
	}
	oid := newOrderID()
	resp, err := st.withhold(t, no, oid, 4900)
	if err != nil || resp.Status != channel.TradeSuccess || resp.ChannelTradeNo == "" {
		t.Fatalf("withhold: %+v, %v", resp, err)
	}
	st.wantStatus(t, oid, channel.TradeSuccess)
	again, err := st.withhold(t, no, oid, 4900)
	if err != nil || again.Status != channel.TradeSuccess || again.ChannelTradeNo != resp.ChannelTradeNo {
		t.Fatalf("repeated withholding: %+v, %v", again, err)
	}
	if n := st.sim.AgreementCharges(ext); n != 1 {
		t.Fatalf("%d charges on the agreement, want 1", n)
	}
	var d *channel.DeclineError
	if _, err := st.withhold(t, no, newOrderID(), 5001); !errors.As(err, &d) || d.Code != channel.DeclineAmountAboveLimit {
		t.Fatalf("above single_amount: %v", err)
	}
	if err := st.sim.SetBalance(ext, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := st.withhold(t, no, newOrderID(), 200); !errors.As(err, &d) || d.Code != channel.DeclineInsufficientFunds {
		t.Fatalf("balance short: %v", err)
	}
	if err := st.sim.TerminateAgreement(ext); err != nil {
		t.Fatal(err)
	}
	n := st.nextAgreement(t)
	if n.Agreement.Status != channel.AgreementTerminated || n.Agreement.TerminatedBy != channel.TerminatedByPayer {
		t.Fatalf("dut_user_unsign: %+v", n.Agreement)
	}
	if _, err := st.withhold(t, no, newOrderID(), 100); !errors.As(err, &d) || d.Code != channel.DeclineAgreementTerminated {
		t.Fatalf("withholding on a terminated agreement: %v", err)
	}
}

func TestWithholdingMerchantUnsigns(t *testing.T) {
	t.Parallel()
	st := newAgreementSetup(t)
	agr, no := st.signed(t, 5000)
	if err := st.ag.TerminateAgreement(ctx(t), channel.AgreementRequest{AgreementID: agr, ChannelAgreementNo: no}); err != nil {
		t.Fatal(err)
	}
	if n := st.nextAgreement(t); n.Agreement.Status != channel.AgreementTerminated {
		t.Fatalf("unsign callback: %+v", n.Agreement)
	}
	q, err := st.ag.QueryAgreement(ctx(t), channel.AgreementRequest{AgreementID: agr, ChannelAgreementNo: no})
	if err != nil || q.Status != channel.AgreementTerminated {
		t.Fatalf("query after unsign: %+v, %v", q, err)
	}
	if _, err := st.ag.QueryAgreement(ctx(t), channel.AgreementRequest{AgreementID: id.New(id.Agreement, time.Now())}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of an unknown agreement: %v", err)
	}
}

func TestAgreementCallbackTampered(t *testing.T) {
	t.Parallel()
	st := newAgreementSetup(t)
	agr, _ := st.signed(t, 5000)
	if err := st.sim.TerminateAgreement(strings.Replace(agr, "_", "", 1)); err != nil {
		t.Fatal(err)
	}
	req := <-st.agr.C
	req.Body = []byte(strings.Replace(string(req.Body), "UNSIGN", "NORMAL", 1))
	if _, err := st.ag.AgreementNotify(ctx(t), req); !errors.Is(err, channel.ErrBadSignature) {
		t.Fatalf("tampered callback: %v", err)
	}
}
