package alipay

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/paygate/paygate/internal/channel"
)

// BillFormat names the raw bill: the zip Alipay serves, whose
// "…_业务明细.csv" member (GBK) lists the day's payments and refunds.
const BillFormat = "alipay-trade-csv-zip"

// Bill fetches the day's trade bill: alipay.data.dataservice.bill.downloadurl.query
// (bill_type trade) for a short-lived bill_download_url, then a GET of the
// zip. A day without a bill (isp.bill_not_exist) is an empty Bill.
func (c *Connector) Bill(ctx context.Context, r channel.BillRequest) (*channel.Bill, error) {
	date := fmt.Sprintf("%04d-%02d-%02d", r.Date.Year(), r.Date.Month(), r.Date.Day())
	biz := map[string]string{"bill_type": "trade", "bill_date": date}
	raw, resp, err := c.call(ctx, "alipay.data.dataservice.bill.downloadurl.query", biz, "", readOnly)
	if err != nil {
		if resp != nil && strings.EqualFold(resp.SubCode, "isp.bill_not_exist") {
			return &channel.Bill{Format: BillFormat}, nil
		}
		return nil, fmt.Errorf("alipay bill of %s: %w", date, err)
	}
	var out struct {
		URL string `json:"bill_download_url"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.URL == "" {
		return nil, fmt.Errorf("alipay bill of %s: answer without bill_download_url: %w", date, channel.ErrUnavailable)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, out.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("alipay bill of %s: download URL: %w: %w", date, err, channel.ErrUnavailable)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alipay bill of %s: download: %w: %w", date, err, channel.ErrUnavailable)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("alipay bill of %s: download: %w: %w", date, err, channel.ErrUnavailable)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alipay bill of %s: download: HTTP %d: %w", date, res.StatusCode, channel.ErrUnavailable)
	}
	records, err := parseBillZip(body)
	if err != nil {
		return nil, fmt.Errorf("alipay bill of %s: %w", date, err)
	}
	return &channel.Bill{Format: BillFormat, Raw: body, Records: records}, nil
}

// gbkToUTF8 decodes GBK, the encoding of Alipay's bill files and of the
// names inside its zips. Text that starts with a UTF-8 byte-order mark is
// taken as UTF-8.
func gbkToUTF8(b []byte) ([]byte, error) {
	if bom := []byte{0xEF, 0xBB, 0xBF}; bytes.HasPrefix(b, bom) {
		return b[len(bom):], nil
	}
	return simplifiedchinese.GBK.NewDecoder().Bytes(b)
}

// zipName returns a member's name as text: names flagged UTF-8 (or valid
// UTF-8) as they are, others (Alipay's) decoded from GBK.
func zipName(f *zip.File) string {
	const utf8Flag = 0x800
	if f.Flags&utf8Flag != 0 || utf8.ValidString(f.Name) {
		return f.Name
	}
	if b, err := gbkToUTF8([]byte(f.Name)); err == nil {
		return string(b)
	}
	return f.Name
}

// parseBillZip finds the detail CSV (业务明细, not 业务明细(汇总)) and reads its rows.
func parseBillZip(body []byte) ([]channel.BillRecord, error) {
	var records []channel.BillRecord
	err := ScanBill(bytes.NewReader(body), int64(len(body)), func(rec channel.BillRecord) error {
		records = append(records, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// ScanBill reads the bill zip in r (size bytes) as a stream: it finds the
// detail CSV (业务明细, not 业务明细(汇总)), decodes it from GBK (or UTF-8
// after a byte-order mark) as it reads, and calls fn with each record in
// file order. A damaged or truncated zip fails (its checksum is checked
// when the member ends); fn's error stops it and is returned.
func ScanBill(r io.ReaderAt, size int64, fn func(channel.BillRecord) error) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("bill is not a zip: %w", err)
	}
	var detail *zip.File
	for _, f := range zr.File {
		name := zipName(f)
		if strings.HasSuffix(strings.ToLower(name), ".csv") && strings.Contains(name, "业务明细") && !strings.Contains(name, "汇总") {
			detail = f
			break
		}
	}
	if detail == nil {
		return errors.New("bill zip has no 业务明细 csv")
	}
	rc, err := detail.Open()
	if err != nil {
		return fmt.Errorf("open %s: %w", zipName(detail), err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	var text io.Reader = transform.NewReader(br, simplifiedchinese.GBK.NewDecoder())
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
		text = br
	}
	if err := scanBillCSV(text, fn); err != nil {
		return fmt.Errorf("%s: %w", zipName(detail), err)
	}
	return nil
}

// Columns of the 业务明细 file the connector reads.
const (
	colTradeNo    = "支付宝交易号"
	colOutTradeNo = "商户订单号"
	colKind       = "业务类型"
	colFinished   = "完成时间"
	colTotal      = "订单金额（元）"
	colReceived   = "商家实收（元）"
	colRequestNo  = "退款批次号/请求号"
	colFee        = "服务费（元）"
)

// parseBillCSV reads the 业务明细 rows. Lines starting with "#" (the title,
// the list markers, the totals) are skipped; the first other line is the
// header. Values are trimmed of the padding and tabs Alipay adds. 交易 rows
// are payments of 订单金额; 退款 rows refunds of −商家实收 with the refund's
// out_request_no. 服务费 is negative when charged and positive when returned,
// so BillRecord.Fee is its negation.
func parseBillCSV(text []byte) ([]channel.BillRecord, error) {
	var records []channel.BillRecord
	err := scanBillCSV(bytes.NewReader(text), func(rec channel.BillRecord) error {
		records = append(records, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// scanBillCSV is parseBillCSV over a stream of UTF-8 text.
func scanBillCSV(text io.Reader, fn func(channel.BillRecord) error) error {
	cr := csv.NewReader(text)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bill header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[cleanField(h)] = i
	}
	for _, name := range []string{colTradeNo, colOutTradeNo, colKind, colFinished, colTotal, colReceived, colRequestNo, colFee} {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("bill header has no %s column", name)
		}
	}
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bill row %d: %w", line, err)
		}
		get := func(name string) string {
			if i := col[name]; i < len(row) {
				return cleanField(row[i])
			}
			return ""
		}
		rec, ok, err := billRecord(get)
		if err != nil {
			return fmt.Errorf("bill row %d: %w", line, err)
		}
		if ok {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
}

func cleanField(s string) string { return strings.Trim(s, " \t`\r\n") }

// billRecord reads one row; ok is false for rows that are neither payments nor refunds.
func billRecord(get func(string) string) (channel.BillRecord, bool, error) {
	rec := channel.BillRecord{
		OrderID:        get(colOutTradeNo),
		ChannelTradeNo: get(colTradeNo),
		Currency:       "CNY",
	}
	var err error
	if rec.At, err = parseTime(get(colFinished)); err != nil {
		return rec, false, err
	}
	fee := int64(0)
	if s := get(colFee); s != "" {
		if fee, err = parseYuan(s); err != nil {
			return rec, false, err
		}
	}
	rec.Fee = -fee
	switch get(colKind) {
	case "交易":
		rec.Kind = channel.NotifyPayment
		if rec.Amount, err = parseYuan(get(colTotal)); err != nil {
			return rec, false, err
		}
	case "退款":
		rec.Kind = channel.NotifyRefund
		rec.RefundID = get(colRequestNo)
		if rec.Amount, err = parseYuan(get(colReceived)); err != nil {
			return rec, false, err
		}
		if rec.Amount < 0 {
			rec.Amount = -rec.Amount
		}
	default:
		return rec, false, nil
	}
	return rec, true, nil
}
