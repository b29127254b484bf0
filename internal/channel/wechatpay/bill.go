package wechatpay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/money"

	"github.com/paygate/paygate/internal/channel"
)

// BillFormat names the raw file of a WeChat Pay bill.
const BillFormat = "wechatpay-tradebill-csv"

// maxBill bounds a downloaded bill.
const maxBill = 64 << 20

// Bill downloads the ALL trade bill of r.Date (China Standard Time):
// GET /v3/bill/tradebill for its download_url, a signed GET of that URL,
// a check of the file's SHA1 against hash_value, then the rows parsed. A
// day WeChat has no statement for (NO_STATEMENT_EXIST) is an empty bill.
// Rows of trades reversed after payment (REVOKED) net to zero and are left
// out of Records (they stay in Raw).
func (c *Connector) Bill(ctx context.Context, r channel.BillRequest) (*channel.Bill, error) {
	if err := c.notGlobal("bill"); err != nil {
		return nil, err
	}
	var resp struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	uri := "/v3/bill/tradebill?bill_date=" + r.Date.Format(time.DateOnly) + "&bill_type=ALL"
	err := c.v3(ctx, "bill", http.MethodGet, uri, nil, false, &resp)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "NO_STATEMENT_EXIST" {
		return &channel.Bill{Format: BillFormat}, nil
	}
	if err != nil {
		return nil, err
	}
	raw, err := c.download(ctx, resp.DownloadURL)
	if err != nil {
		return nil, err
	}
	if resp.HashType != "SHA1" {
		return nil, fmt.Errorf("wechatpay bill: hash_type %q: %w", resp.HashType, channel.ErrBadSignature)
	}
	sum := sha1.Sum(raw)
	if !strings.EqualFold(hex.EncodeToString(sum[:]), resp.HashValue) {
		return nil, fmt.Errorf("wechatpay bill %s: file does not match its SHA1: %w", r.Date.Format(time.DateOnly), channel.ErrBadSignature)
	}
	records, err := ParseTradeBill(raw)
	if err != nil {
		return nil, fmt.Errorf("wechatpay bill %s: %w", r.Date.Format(time.DateOnly), err)
	}
	return &channel.Bill{Format: BillFormat, Raw: raw, Records: records}, nil
}

// download fetches a bill file with a signed GET. WeChat does not sign the
// file (its SHA1 came in the signed answer), and the URL must be on the
// API host, so our Authorization goes nowhere else.
func (c *Connector) download(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	base, _ := url.Parse(c.baseURL)
	if err != nil || base == nil || u.Scheme != base.Scheme || u.Host != base.Host {
		return nil, fmt.Errorf("wechatpay bill: download_url %q is not on %s: %w", rawURL, c.baseURL, channel.ErrBadSignature)
	}
	resp, data, err := c.sendLimited(ctx, http.MethodGet, rawURL, u.RequestURI(), nil, maxBill)
	if err != nil {
		return nil, sortError("bill download", false, err)
	}
	if resp.StatusCode != http.StatusOK {
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || ae.Code == "" {
			ae.Code = "HTTP_" + strconv.Itoa(resp.StatusCode)
		}
		return nil, sortError("bill download", false, ae)
	}
	return data, nil
}

// Columns of the trade bill that ParseTradeBill reads, by their header names.
const (
	colTime          = "交易时间"
	colTransaction   = "微信订单号"
	colOutTradeNo    = "商户订单号"
	colState         = "交易状态"
	colCurrency      = "货币种类"
	colSettlement    = "应结订单金额"
	colRefundID      = "微信退款单号"
	colOutRefundNo   = "商户退款单号"
	colRefundAmount  = "退款金额"
	colFee           = "手续费"
	colOrderAmount   = "订单金额"
	summaryFirstName = "总交易单数"
)

// ParseTradeBill reads a WeChat Pay trade bill: a header line, rows whose
// fields each start with a back-quote, then a summary header (总交易单数,…)
// and its line. Columns are found by header name. Amounts are yuan with two
// decimals; times are China Standard Time.
func ParseTradeBill(raw []byte) ([]channel.BillRecord, error) {
	var records []channel.BillRecord
	err := ScanTradeBill(bytes.NewReader(raw), func(rec channel.BillRecord) error {
		records = append(records, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// ScanTradeBill is ParseTradeBill over a stream: it calls fn with each
// record in file order, holding one row at a time, and fails (after fn has
// seen the rows before) on a malformed row or a bill that ends without its
// summary (a truncated file). fn's error stops it and is returned.
func ScanTradeBill(r io.Reader, fn func(channel.BillRecord) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\uFEFF")) {
		br.Discard(3)
	}
	rd := csv.NewReader(br)
	rd.FieldsPerRecord = -1
	rd.LazyQuotes = true
	rd.ReuseRecord = true
	header, err := rd.Read()
	if err != nil {
		return fmt.Errorf("bill header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, name := range []string{colTime, colTransaction, colOutTradeNo, colState, colCurrency, colSettlement, colRefundID, colOutRefundNo, colRefundAmount, colFee} {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("bill header has no column %s", name)
		}
	}
	for line := 2; ; line++ {
		row, err := rd.Read()
		if err == io.EOF {
			return errors.New("bill ends without its summary")
		}
		if err != nil {
			return fmt.Errorf("bill line %d: %w", line, err)
		}
		if len(row) > 0 && strings.TrimSpace(row[0]) == summaryFirstName {
			return nil
		}
		rec, keep, err := billRecord(row, col)
		if err != nil {
			return fmt.Errorf("bill line %d: %w", line, err)
		}
		if keep {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
}

// billRecord maps one bill row; keep is false for rows left out (REVOKED).
func billRecord(row []string, col map[string]int) (rec channel.BillRecord, keep bool, err error) {
	field := func(name string) string {
		i, ok := col[name]
		if !ok || i >= len(row) {
			return ""
		}
		return strings.TrimPrefix(strings.TrimSpace(row[i]), "`")
	}
	money := func(name string) int64 {
		if err != nil {
			return 0
		}
		var v int64
		if v, err = parseYuan(field(name)); err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return v
	}
	at, err := time.ParseInLocation(time.DateTime, field(colTime), cst)
	if err != nil {
		return rec, false, fmt.Errorf("%s: %w", colTime, err)
	}
	rec = channel.BillRecord{
		OrderID: field(colOutTradeNo), ChannelTradeNo: field(colTransaction), Currency: field(colCurrency), At: at,
	}
	switch state := field(colState); state {
	case "SUCCESS":
		rec.Kind = channel.NotifyPayment
		if _, ok := col[colOrderAmount]; ok {
			rec.Amount = money(colOrderAmount)
		} else {
			rec.Amount = money(colSettlement)
		}
	case "REFUND":
		rec.Kind = channel.NotifyRefund
		rec.RefundID, rec.ChannelRefundNo = field(colOutRefundNo), field(colRefundID)
		rec.Amount = money(colRefundAmount)
	case "REVOKED":
		return rec, false, nil
	default:
		return rec, false, fmt.Errorf("unknown %s %q", colState, state)
	}
	rec.Fee = money(colFee)
	if rec.Currency == "" || rec.Currency == "CNY" || rec.Currency == "人民币" {
		rec.Currency = "CNY"
	}
	return rec, err == nil, err
}

// parseYuan reads a yuan amount ("12.34", "-0.01", "5", "0.5", and "5." as
// it always has) as fen, with integer arithmetic only; at most 15 integer
// digits.
func parseYuan(s string) (int64, error) {
	t := s
	if w, ok := strings.CutSuffix(s, "."); ok && !strings.Contains(w, ".") {
		t = w
	}
	if whole, _, _ := strings.Cut(strings.TrimPrefix(t, "-"), "."); len(whole) > 15 {
		return 0, fmt.Errorf("amount %q is not yuan", s)
	}
	v, err := money.ParseMinor(t, 2)
	if err != nil {
		return 0, fmt.Errorf("amount %q is not yuan: %w", s, err)
	}
	return v, nil
}
