package gateway_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// Settlement over HTTP: the merchant's settlements, lines, statements and
// balance, and the operator's run and payout. Reconciliation's rows are
// written by hand until internal/recon writes them.

type rawExec interface {
	ExecRaw(ctx context.Context, query string, args ...any) (int64, error)
}

// reconcile writes the row reconciliation writes for a matched transaction.
func (e *env) reconcile(refID, kind, channelAccount string, channelFee int64) {
	e.t.Helper()
	if _, err := e.g.Store.(rawExec).ExecRaw(context.Background(), `INSERT INTO reconciled
		(ref_id, ref_kind, channel_account_id, bill_date, channel_fee, currency, how, run_id, reconciled_at)
		VALUES (?, ?, ?, '2026-01-01', ?, 'CNY', 'matched', 'rcn_e2e', ?)`, refID, kind, channelAccount, channelFee, time.Now().UnixMicro()); err != nil {
		e.t.Fatalf("reconcile %s: %v", refID, err)
	}
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// dayIn is the merchant day of t in Shanghai.
func dayIn(t time.Time) string { return t.In(shanghai).Format(time.DateOnly) }

func TestSettlementOverTheAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		merchantID := e.g.Demo.App.MerchantID
		rcv := e.receiver(e.g.Demo.WebhookSecret)
		ep, err := e.demo.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: rcv.URL("/settlements"), EnabledEvents: []string{"settlement.paid"}})
		if err != nil {
			t.Fatal(err)
		}
		rcv.Verify("/settlements", ep.Secret)

		o1 := paidOrder(t, e.demo, "stl-1", 10000) // fee 60
		o2 := paidOrder(t, e.demo, "stl-2", 5000)  // fee 30
		o3 := paidOrder(t, e.demo, "stl-3", 2000)  // fee 12; not reconciled
		r1, err := e.demo.CreateRefund(ctx, client.CreateRefundParams{OrderID: o1.ID, OutRefundNo: "stl-r1", Amount: 3000})
		if err != nil || r1.Status != "succeeded" {
			t.Fatalf("refund: %v %+v", err, r1)
		}
		e.reconcile(o1.ID, "payment", o1.ChannelAccount, 30)
		e.reconcile(o2.ID, "payment", o2.ChannelAccount, 15)
		e.reconcile(r1.ID, "refund", o1.ChannelAccount, -9)
		day := dayIn(*o3.PaidAt)

		// The day has not ended: a run for it is refused.
		if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": day, "merchant_id": merchantID}, nil); st != 400 {
			t.Fatalf("run before the day ended: %d %s", st, body)
		}
		d, _ := time.ParseInLocation(time.DateOnly, day, shanghai)
		e.clock.Set(d.AddDate(0, 0, 1).Add(13 * time.Hour))
		var run client.SettlementRun
		if st, body := e.admin("POST", "/admin/v1/settlements/run", map[string]any{"date": day, "merchant_id": merchantID}, &run); st != 200 {
			t.Fatalf("run: %d %s", st, body)
		}
		// Back to the wall clock, which signed responses are checked against.
		e.clock.Set(time.Now())

		list, err := e.demo.ListSettlements(ctx, client.ListParams{})
		if err != nil || len(list.Data) != 1 {
			t.Fatalf("settlements: %v %+v", err, list)
		}
		s := list.Data[0]
		if s.Status != "pending" || s.Date != day || s.Gross != 15000 || s.Refunds != 3000 || s.Fees != 90 || s.Net != 11910 ||
			s.Waiting.Reason != "not_reconciled" || s.Waiting.Payments != (client.Tally{Count: 1, Amount: 2000}) || s.Margin != nil || s.MerchantID != "" {
			t.Fatalf("the merchant's settlement = %+v", s)
		}
		got, err := e.demo.GetSettlement(ctx, s.ID, true)
		if err != nil || got.Lines == nil || len(got.Lines.Data) != 3 || got.Lines.HasMore || got.Lines.URL != "/v1/settlements/"+s.ID+"/lines" {
			t.Fatalf("settlement with its lines: %v %+v", err, got)
		}
		page, err := e.demo.ListSettlementLines(ctx, s.ID, client.ListParams{Limit: 2})
		if err != nil || len(page.Data) != 2 || !page.HasMore {
			t.Fatalf("first page of lines: %v %+v", err, page)
		}
		rest, err := e.demo.ListSettlementLines(ctx, s.ID, client.ListParams{Limit: 2, StartingAfter: page.Data[1].RefID})
		if err != nil || len(rest.Data) != 1 || rest.HasMore || rest.Data[0].Kind != "refund" || rest.Data[0].Net != -3000 {
			t.Fatalf("second page of lines: %v %+v", err, rest)
		}
		var op client.Settlement
		if st, body := e.admin("GET", "/admin/v1/settlements/"+s.ID, nil, &op); st != 200 || op.Margin == nil || *op.Margin != 54 ||
			*op.ChannelFees != 36 || op.MerchantID != merchantID {
			t.Fatalf("the operator's settlement: %d %s", st, body)
		}
		other := e.newMerchant("test", false)
		if _, err := other.c.GetSettlement(ctx, s.ID, false); err == nil {
			t.Fatal("another merchant sees the settlement")
		} else {
			apiErr(t, err, 404, "settlement_not_found")
		}

		bal, err := e.demo.GetBalance(ctx)
		if err != nil || len(bal.Pending) != 1 || bal.Pending[0].Amount != 1988 || len(bal.Available) != 1 || bal.Available[0].Amount != 11910 {
			t.Fatalf("balance: %v %+v", err, bal)
		}

		// The statements, signed and checked by the client; their totals
		// are the settlement's.
		keys, err := e.demo.PlatformKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		verifying := e.newClient(client.WithSecretKey(e.g.Demo.SecretKey), client.WithPlatformKeys(keys))
		rows := func(typ string) [][]string {
			t.Helper()
			var buf bytes.Buffer
			if err := verifying.DownloadStatement(ctx, day, typ, &buf); err != nil {
				t.Fatalf("download %s: %v", typ, err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			return recs
		}
		trades := rows(client.StatementTrades)
		if len(trades) != 5 || trades[4][0] != "total" || trades[4][2] != "3" || trades[4][8] != "17000" || trades[4][10] != strconv.Itoa(17000-102) {
			t.Fatalf("trades statement: %v", trades)
		}
		lines := rows(client.StatementSettlements)
		if last := lines[len(lines)-1]; len(lines) != 5 || last[0] != "total" || last[4] != s.ID || last[10] != strconv.FormatInt(s.Net, 10) {
			t.Fatalf("settlements statement: %v", lines)
		}
		if refunds := rows(client.StatementRefunds); len(refunds) != 3 || refunds[1][2] != r1.ID {
			t.Fatalf("refunds statement: %v", refunds)
		}

		// Gzip when asked: the same bytes, the trailers over them.
		plain, _ := statementHTTP(t, e, day, "")
		zipped, res := statementHTTP(t, e, day, "gzip")
		if res.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(plain, zipped) {
			t.Fatalf("gzip statement: encoding %q, same body %v", res.Header.Get("Content-Encoding"), bytes.Equal(plain, zipped))
		}
		sum := sha256.Sum256(zipped)
		if res.Trailer.Get("Paygate-Content-Sha256") != hex.EncodeToString(sum[:]) {
			t.Fatalf("Paygate-Content-Sha256 = %q", res.Trailer.Get("Paygate-Content-Sha256"))
		}
		sig, _ := base64.StdEncoding.DecodeString(res.Trailer.Get("Paygate-Signature"))
		msg := client.ResponseMessage(res.Header.Get("Paygate-Timestamp"), res.Header.Get("Paygate-Nonce"), client.StreamedBody(sum[:]))
		if !ed25519.Verify(platformPublicKey(t, keys, res.Header.Get("Paygate-Key-Id")), msg, sig) {
			t.Fatal("the statement's signature trailer does not verify")
		}
		if _, err := e.demo.Do(ctx, "GET", "/v1/statements/2026-13-01", nil, nil); err == nil {
			t.Fatal("a statement of no such day")
		} else {
			apiErr(t, err, 400, "date_invalid")
		}

		// Payout, confirmed with the bank's reference: the event reaches
		// the merchant's endpoint.
		var paid client.Settlement
		if st, body := e.admin("POST", "/admin/v1/settlements/"+s.ID+"/pay", map[string]any{"bank_reference": "CMB-0001"}, &paid); st != 200 || paid.Status != "paid" {
			t.Fatalf("pay: %d %s", st, body)
		}
		if st, body := e.admin("POST", "/admin/v1/settlements/"+s.ID+"/pay", map[string]any{"bank_reference": "CMB-0002"}, nil); st != 409 {
			t.Fatalf("pay again with another reference: %d %s", st, body)
		}
		reqs := waitRequests(t, rcv, 1)
		var payload struct {
			Type string `json:"type"`
			Data struct {
				Object client.Settlement `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(reqs[0].Body, &payload); err != nil || payload.Type != "settlement.paid" ||
			payload.Data.Object.ID != s.ID || payload.Data.Object.Status != "paid" || payload.Data.Object.Margin != nil {
			t.Fatalf("settlement.paid notification: %v %s", err, reqs[0].Body)
		}
		bal, err = e.demo.GetBalance(ctx)
		if err != nil || bal.Available[0].Amount != 0 || len(bal.InTransit) != 1 || bal.InTransit[0].Amount != 0 {
			t.Fatalf("balance once paid: %v %+v", err, bal)
		}
		e.verifyLedger()
	})
}

// statementHTTP gets the trades statement of day with Accept-Encoding
// acceptEncoding, inflating a gzip body itself, and reads it to the end
// (trailers included).
func statementHTTP(t *testing.T, e *env, day, acceptEncoding string) ([]byte, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/v1/statements/"+day+"?type=trades", nil)
	req.Header.Set("Authorization", "Bearer "+e.g.Demo.SecretKey)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body) // to the end, where the trailers are
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("statement: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	return b, res
}

func platformPublicKey(t *testing.T, keys []client.PlatformKey, id string) ed25519.PublicKey {
	t.Helper()
	for _, k := range keys {
		if k.ID == id {
			block, _ := pem.Decode([]byte(k.PublicKey))
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return pub.(ed25519.PublicKey)
		}
	}
	t.Fatalf("no platform key %s", id)
	return nil
}
