package recon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/alipay"
	"github.com/paygate/paygate/internal/channel/unionpay"
	"github.com/paygate/paygate/internal/channel/wechatpay"
)

// Bill sources.
const (
	SourceDownload = "download"
	SourceUpload   = "upload"
)

// Upload is a bill file an operator gives, in the channel's own format
// (WeChat Pay's trade bill CSV, Alipay's zip, UnionPay's zip of ACP
// files). It is read twice (a check, then the run) and never whole into
// memory: a file on disk is the usual ReaderAt.
type Upload struct {
	R    io.ReaderAt
	Size int64
}

// bill is a day's bill as a run reads it: scan calls fn with every record
// in file order, from the start, each time it is called.
type bill struct {
	source string
	format string
	digest string // hex SHA-256 of the file; of the records for a bill without a file
	scan   func(fn func(channel.BillRecord) error) error
}

// fileBill reads the file in r as provider's bill of day.
func fileBill(provider string, day time.Time, r io.ReaderAt, size int64, source string) (*bill, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return nil, fmt.Errorf("read the bill: %w", err)
	}
	b := &bill{source: source, digest: hex.EncodeToString(h.Sum(nil))}
	switch provider {
	case "wechatpay":
		b.format = wechatpay.BillFormat
		if err := checkUTF8(r, size); err != nil {
			return nil, err
		}
		b.scan = func(fn func(channel.BillRecord) error) error {
			return wechatpay.ScanTradeBill(io.NewSectionReader(r, 0, size), fn)
		}
	case "alipay":
		b.format = alipay.BillFormat
		b.scan = func(fn func(channel.BillRecord) error) error { return alipay.ScanBill(r, size, fn) }
	case "unionpay":
		b.format = unionpay.BillFormat
		b.scan = func(fn func(channel.BillRecord) error) error { return unionpay.ScanBill(r, size, day, fn) }
	default:
		return nil, ErrNoBills
	}
	return b, nil
}

// checkUTF8 refuses a WeChat Pay bill that is not UTF-8 (one saved as GBK
// by a spreadsheet, say): its header would not be found, and the error
// would not say why.
func checkUTF8(r io.ReaderAt, size int64) error {
	head := make([]byte, min(size, 64<<10))
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the bill: %w", err)
	}
	head = head[:n]
	if int64(n) < size {
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i]
		}
	}
	if !utf8.Valid(head) {
		return badBill("The bill is not UTF-8 text: WeChat Pay serves its bills in UTF-8 (was the file saved as GBK?).", nil)
	}
	return nil
}

// recordsBill is a bill a connector parsed without its file (a test
// double's, or a provider whose connector gives only records).
func recordsBill(format string, records []channel.BillRecord) *bill {
	h := sha256.New()
	for _, r := range records {
		fmt.Fprintf(h, "%s|%s|%s|%s|%s|%d|%d|%s|%d\n", r.Kind, r.OrderID, r.ChannelTradeNo, r.RefundID, r.ChannelRefundNo, r.Amount, r.Fee, r.Currency, r.At.UnixMicro())
	}
	return &bill{source: SourceDownload, format: format, digest: hex.EncodeToString(h.Sum(nil)),
		scan: func(fn func(channel.BillRecord) error) error {
			for _, r := range records {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		}}
}

// download fetches the day's bill through the account's connector.
func (s *Service) download(ctx context.Context, conn channel.Connector, provider string, live bool, day time.Time) (*bill, error) {
	if !conn.Capabilities().Bill {
		return nil, ErrNoBills
	}
	b, err := conn.Bill(ctx, channel.BillRequest{Date: day, Livemode: live})
	if errors.Is(err, channel.ErrNotSupported) {
		return nil, ErrNoBills
	}
	if err != nil {
		return nil, fmt.Errorf("download the bill of %s: %w", day.Format(DayLayout), err)
	}
	if len(b.Raw) > 0 {
		if fb, err := fileBill(provider, day, bytes.NewReader(b.Raw), int64(len(b.Raw)), SourceDownload); err == nil {
			return fb, nil
		} else if !errors.Is(err, ErrNoBills) {
			return nil, err
		}
	}
	return recordsBill(b.Format, b.Records), nil
}

// explain makes a bill's parse error an operator can act on.
func explain(provider string, err error) error {
	msg := err.Error()
	hint := ""
	switch {
	case provider == "alipay" && strings.Contains(msg, "header has no"):
		hint = " Alipay serves its bill's CSV in GBK; was it saved as UTF-8 without a byte-order mark?"
	case strings.Contains(msg, "without its summary") || strings.Contains(msg, "cut short") ||
		strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "not a valid zip") || strings.Contains(msg, "checksum"):
		hint = " The file looks truncated."
	}
	return badBill("The bill cannot be read: "+msg+"."+hint, err)
}
