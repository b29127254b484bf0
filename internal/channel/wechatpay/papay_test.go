package wechatpay_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/channeltest"
	"github.com/paygate/paygate/internal/channel/wechatpay"
	"github.com/paygate/paygate/internal/id"
	simwx "github.com/paygate/paygate/internal/sim/wechatpay"
)

// papaySetup is setup with a receiver for the agreement path's v2
// notifications (contract changes, deduction results).
type papaySetup struct {
	*setup
	agr   *channeltest.Receiver
	conn  channel.Agreements
	payer channel.Connector
}

func newPapaySetup(t *testing.T) *papaySetup {
	t.Helper()
	s := newSetup(t)
	probe, _ := wechatpay.New(s.acct)
	rec := channeltest.NewReceiver(t, probe.(channel.Agreements).AgreementNotifyReply(nil))
	a := s.acct
	a.AgreementNotifyURL = rec.URL
	conn, err := wechatpay.New(a)
	if err != nil {
		t.Fatal(err)
	}
	if !conn.Capabilities().Supports(wechatpay.MethodPapay, "CNY") {
		t.Fatalf("the simulator's account does not serve %s: %v", wechatpay.MethodPapay, conn.Capabilities().Methods)
	}
	return &papaySetup{setup: s, agr: rec, conn: conn.(channel.Agreements), payer: conn}
}

// nextAgreementNotification parses the next callback on the agreement path.
func (s *papaySetup) nextAgreementNotification(t *testing.T) *channel.AgreementNotification {
	t.Helper()
	select {
	case req := <-s.agr.C:
		n, err := s.conn.AgreementNotify(ctx(t), req)
		if err != nil {
			t.Fatalf("genuine agreement notification refused: %v", err)
		}
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no agreement notification")
		return nil
	}
}

// signed signs an agreement at the simulator: the signing page is opened,
// the payer signs, and the contract notification is read.
func (s *papaySetup) signed(t *testing.T) (agreementID, contractID string) {
	t.Helper()
	agreementID = id.New(id.Agreement, time.Now())
	resp, err := s.conn.SignAgreement(ctx(t), channel.SignAgreementRequest{AgreementID: agreementID, CreatedAt: time.Now(), Method: wechatpay.MethodPapay,
		Description: "Monthly plan", MaxAmountPerCharge: 9900, Currency: "CNY", Period: "month", NotifyURL: s.agr.URL})
	if err != nil || resp.Status != channel.AgreementSigning || resp.NextAction == nil || !strings.Contains(resp.NextAction.URL, "/papay/entrustweb?") {
		t.Fatalf("sign: %+v, %v", resp, err)
	}
	page, err := http.Get(resp.NextAction.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "/_sim/contracts/"+agreementID+"/sign") {
		t.Fatalf("signing page: %d %s", page.StatusCode, body)
	}
	if _, err := s.conn.QueryAgreement(ctx(t), channel.AgreementRequest{AgreementID: agreementID}); err != nil {
		t.Fatalf("query while signing: %v", err)
	}
	if err := s.sim.SignContract(agreementID); err != nil {
		t.Fatal(err)
	}
	n := s.nextAgreementNotification(t)
	if n.Kind != channel.NotifyAgreement || n.Agreement.AgreementID != agreementID || n.Agreement.Status != channel.AgreementActive || n.Agreement.ChannelAgreementNo == "" {
		t.Fatalf("contract notification %+v", n.Agreement)
	}
	return agreementID, n.Agreement.ChannelAgreementNo
}

func (s *papaySetup) deduct(t *testing.T, agreementID, contractID, orderID string, amount int64) (*channel.PayResponse, error) {
	return s.payer.Pay(ctx(t), channel.PayRequest{OrderID: orderID, Method: wechatpay.MethodPapay, Amount: amount, Currency: "CNY",
		Subject: "Monthly plan", AgreementID: agreementID, AgreementNo: contractID})
}

func TestPapaySignDeductTerminate(t *testing.T) {
	t.Parallel()
	s := newPapaySetup(t)
	agr, contract := s.signed(t)
	st, err := s.conn.QueryAgreement(ctx(t), channel.AgreementRequest{AgreementID: agr})
	if err != nil || st.Status != channel.AgreementActive || st.ChannelAgreementNo != contract || st.ChannelPayerID == "" {
		t.Fatalf("query signed: %+v, %v", st, err)
	}

	// A deduction is accepted, then settles and is notified.
	oid := newOrderID()
	resp, err := s.deduct(t, agr, contract, oid, 2900)
	if err != nil || resp.Status != channel.TradeUserPaying {
		t.Fatalf("deduct: %+v, %v", resp, err)
	}
	if q, err := s.payer.Query(ctx(t), channel.QueryRequest{OrderID: oid, Method: wechatpay.MethodPapay}); err != nil || (q.Status != channel.TradeUserPaying && q.Status != channel.TradeSuccess) {
		t.Fatalf("query an accepted deduction: %+v, %v", q, err)
	}
	n := s.nextAgreementNotification(t)
	if n.Kind != channel.NotifyPayment || n.Payment.OrderID != oid || n.Payment.Status != channel.TradeSuccess || n.Payment.Amount != 2900 || n.Payment.ChannelTradeNo == "" {
		t.Fatalf("deduction notification %+v", n.Payment)
	}
	// The same out_trade_no again deducts nothing more: the trade is paid.
	resp, err = s.deduct(t, agr, contract, oid, 2900)
	if err != nil || resp.Status != channel.TradeSuccess {
		t.Fatalf("repeated deduction: %+v, %v", resp, err)
	}
	if got := s.sim.ContractDeductions(agr); got != 1 {
		t.Fatalf("%d deductions on the contract, want 1", got)
	}

	// Above the template's per-deduction limit: refused at once.
	_, err = s.deduct(t, agr, contract, newOrderID(), simwx.PlanMaxAmount+1)
	var d *channel.DeclineError
	if !errors.As(err, &d) || d.Code != channel.DeclineAmountAboveLimit {
		t.Fatalf("deduction above the limit: %v", err)
	}

	// The payer's balance is short: accepted, then failed.
	if err := s.sim.SetBalance(agr, 100); err != nil {
		t.Fatal(err)
	}
	short := newOrderID()
	if _, err := s.deduct(t, agr, contract, short, 2900); err != nil {
		t.Fatal(err)
	}
	n = s.nextAgreementNotification(t)
	if n.Payment.OrderID != short || n.Payment.Status != channel.TradePayError || n.Payment.FailureCode != channel.DeclineInsufficientFunds {
		t.Fatalf("insufficient balance: %+v", n.Payment)
	}

	// The payer terminates it in WeChat: DELETE, then deductions are refused.
	if err := s.sim.TerminateContract(agr); err != nil {
		t.Fatal(err)
	}
	n = s.nextAgreementNotification(t)
	if n.Agreement.Status != channel.AgreementTerminated || n.Agreement.TerminatedBy != channel.TerminatedByPayer {
		t.Fatalf("termination notification %+v", n.Agreement)
	}
	_, err = s.deduct(t, agr, contract, newOrderID(), 100)
	if !errors.As(err, &d) || d.Code != channel.DeclineAgreementTerminated {
		t.Fatalf("deduction on a terminated contract: %v", err)
	}
	st, err = s.conn.QueryAgreement(ctx(t), channel.AgreementRequest{AgreementID: agr, ChannelAgreementNo: contract})
	if err != nil || st.Status != channel.AgreementTerminated || st.TerminatedBy != channel.TerminatedByPayer {
		t.Fatalf("query terminated: %+v, %v", st, err)
	}
}

func TestPapayMerchantTerminates(t *testing.T) {
	t.Parallel()
	s := newPapaySetup(t)
	agr, contract := s.signed(t)
	if err := s.conn.TerminateAgreement(ctx(t), channel.AgreementRequest{AgreementID: agr, ChannelAgreementNo: contract, Reason: "plan ended"}); err != nil {
		t.Fatal(err)
	}
	n := s.nextAgreementNotification(t)
	if n.Agreement.Status != channel.AgreementTerminated || n.Agreement.TerminatedBy != channel.TerminatedByMerchant {
		t.Fatalf("termination notification %+v", n.Agreement)
	}
	// A refused signing is no contract at all.
	refused := id.New(id.Agreement, time.Now())
	resp, err := s.conn.SignAgreement(ctx(t), channel.SignAgreementRequest{AgreementID: refused, Method: wechatpay.MethodPapay, Description: "x",
		MaxAmountPerCharge: 100, Currency: "CNY", Period: "month", NotifyURL: s.agr.URL})
	if err != nil {
		t.Fatal(err)
	}
	if page, err := http.Get(resp.NextAction.URL); err != nil {
		t.Fatal(err)
	} else {
		page.Body.Close()
	}
	if err := s.sim.RefuseContract(refused); err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.QueryAgreement(ctx(t), channel.AgreementRequest{AgreementID: refused}); !errors.Is(err, channel.ErrTradeNotFound) {
		t.Fatalf("query of a refused contract: %v", err)
	}
}

func TestPapayNotificationForged(t *testing.T) {
	t.Parallel()
	s := newPapaySetup(t)
	agr, _ := s.signed(t)
	if err := s.sim.TerminateContract(agr); err != nil {
		t.Fatal(err)
	}
	req := <-s.agr.C
	req.Body = []byte(strings.Replace(string(req.Body), "DELETE", "ADD", 1))
	if _, err := s.conn.AgreementNotify(ctx(t), req); !errors.Is(err, channel.ErrBadSignature) {
		t.Fatalf("a tampered notification: %v", err)
	}
	if r := s.conn.AgreementNotifyReply(channel.ErrBadSignature); !strings.Contains(string(r.Body), "FAIL") {
		t.Fatalf("reply to a refused notification: %s", r.Body)
	}
}
