package unionpay

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// BillFormat names the statements Bill returns: the zip of ACP files as
// fileTransfer served it.
const BillFormat = "unionpay-acp-zm-zip"

// zmWidths are the widths of the fields of a line of the general
// transaction file (全渠道商户一般交易明细流水文件, "INN…ZM_<merId>"); each field
// is followed by one separator byte. Field numbers below are 1-based, as
// in the file specification.
var zmWidths = []int{3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 131}

// ZM field numbers the connector reads.
const (
	zmTxnTime     = 5  // transmission time, MMDDhhmmss
	zmAmount      = 7  // n12, fen
	zmQueryID     = 10 // the transaction's queryId
	zmOrderID     = 12 // the merchant's orderId
	zmFee         = 16 // merchant fee, X+n12: D (charged) or C (returned)
	zmTxnType     = 20 // 01 purchase, 04 refund, 31 cancellation
	zmOrigQueryID = 27 // a refund's original queryId
	zmReserved    = 35 // 商户自定义域: the reqReserved of the request
)

// Bill downloads the settlement day's files (fileTransfer, txnType 76,
// fileType 00) and reads the general transaction file. A day without a
// file (respCode 98) is an empty bill.
func (c *Connector) Bill(ctx context.Context, r channel.BillRequest) (*channel.Bill, error) {
	day := time.Date(r.Date.Year(), r.Date.Month(), r.Date.Day(), 0, 0, 0, 0, cst)
	fields := map[string]string{
		"txnType":    "76",
		"txnSubType": "01",
		"bizType":    "000000",
		"fileType":   "00",
		"settleDate": day.Format("0102"),
		"txnTime":    txnTime(c.clock.Now()),
	}
	answer, err := c.call(ctx, "file transfer", c.fileURL, safeCall, fields)
	if answer != nil && answer["respCode"] == "98" { // 文件不存在
		return &channel.Bill{Format: BillFormat}, nil
	}
	if err != nil {
		return nil, err
	}
	raw, err := decodeFileContent(answer["fileContent"])
	if err != nil {
		return nil, fmt.Errorf("unionpay bill: %w", err)
	}
	records, err := parseBillZip(raw, day)
	if err != nil {
		return nil, fmt.Errorf("unionpay bill %s: %w", day.Format(time.DateOnly), err)
	}
	return &channel.Bill{Format: BillFormat, Raw: raw, Records: records}, nil
}

// decodeFileContent undoes fileContent's Base64 and zlib (deflate) layers.
func decodeFileContent(s string) ([]byte, error) {
	packed, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("fileContent is not base64: %w", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(packed))
	if err != nil {
		return nil, fmt.Errorf("fileContent is not zlib: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("inflate fileContent: %w", err)
	}
	return out, nil
}

// isZMFile reports whether a file in the zip is a general transaction file:
// "INN" + yyMMdd + two characters + "ZM_" + merId.
func isZMFile(name string) bool {
	base := path.Base(name)
	return len(base) > 14 && base[:3] == "INN" && base[11:14] == "ZM_"
}

// parseBillZip reads the records of every ZM file in the zip.
func parseBillZip(raw []byte, day time.Time) ([]channel.BillRecord, error) {
	var records []channel.BillRecord
	err := ScanBill(bytes.NewReader(raw), int64(len(raw)), day, func(rec channel.BillRecord) error {
		records = append(records, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// ScanBill reads the zip of a settlement day's files in r (size bytes) as
// a stream and calls fn with the record of each purchase and refund line
// of every ZM file, in file order. day is the settlement day (the lines
// carry no year). A damaged or truncated zip fails; fn's error stops it
// and is returned.
func ScanBill(r io.ReaderAt, size int64, day time.Time, fn func(channel.BillRecord) error) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("open zip: %w", err)
	}
	found := false
	for _, f := range zr.File {
		if !isZMFile(f.Name) {
			continue
		}
		found = true
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("open %s: %w", f.Name, err)
		}
		err = scanZM(rc, day, fn)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	if !found && len(zr.File) > 0 {
		return fmt.Errorf("zip has no general transaction (ZM) file")
	}
	return nil
}

// parseZM reads the lines of a ZM file. Purchases and refunds become
// records; other transaction types (cancellations, pre-authorisations) are
// skipped.
func parseZM(r io.Reader, day time.Time) ([]channel.BillRecord, error) {
	var out []channel.BillRecord
	err := scanZM(r, day, func(rec channel.BillRecord) error {
		out = append(out, rec)
		return nil
	})
	return out, err
}

// zmLineLen is the length of a ZM line: every field and its separator.
var zmLineLen = func() int {
	n := 0
	for _, w := range zmWidths {
		n += w + 1
	}
	return n
}()

func scanZM(r io.Reader, day time.Time, fn func(channel.BillRecord) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		// A line cut short (a truncated file) would read its last fields
		// as blank: refuse it rather than guess.
		if len(line) < zmLineLen-zmWidths[len(zmWidths)-1]-1 {
			return fmt.Errorf("line %d: %d bytes, want %d: the line is cut short", n, len(line), zmLineLen)
		}
		f := splitFixed(line, zmWidths)
		amount, err := strconv.ParseInt(f[zmAmount], 10, 64)
		if err != nil {
			return fmt.Errorf("line %d: amount %q", n, f[zmAmount])
		}
		fee, err := parseSignedAmount(f[zmFee])
		if err != nil {
			return fmt.Errorf("line %d: fee: %w", n, err)
		}
		rec := channel.BillRecord{
			Amount:   amount,
			Fee:      fee,
			Currency: "CNY",
			At:       traceTime(f[zmTxnTime], day.Add(-48*time.Hour)),
		}
		switch f[zmTxnType] {
		case "01":
			rec.Kind = channel.NotifyPayment
			rec.OrderID = OrderIDFromChannel(f[zmOrderID])
			rec.ChannelTradeNo = f[zmQueryID]
		case "04":
			rec.Kind = channel.NotifyRefund
			rec.RefundID = OrderIDFromChannel(f[zmOrderID])
			rec.ChannelRefundNo = f[zmQueryID]
			rec.ChannelTradeNo = f[zmOrigQueryID]
			rec.OrderID = OrderIDFromChannel(f[zmReserved])
		default:
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return sc.Err()
}

// splitFixed cuts line into fields of the given widths, each followed by
// one separator, and trims the padding. The result is indexed from 1.
func splitFixed(line string, widths []int) []string {
	out := make([]string, len(widths)+1)
	pos := 0
	for i, w := range widths {
		if pos >= len(line) {
			break
		}
		end := min(pos+w, len(line))
		out[i+1] = strings.TrimSpace(line[pos:end])
		pos = end + 1
	}
	return out
}

// parseSignedAmount reads an X+n12 amount: "D" (debited from the merchant)
// is positive, "C" (credited) negative; blank is zero.
func parseSignedAmount(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s[1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not X+n12", s)
	}
	switch s[0] {
	case 'D':
		return n, nil
	case 'C':
		return -n, nil
	}
	return 0, fmt.Errorf("%q: sign %q is neither D nor C", s, s[0])
}
