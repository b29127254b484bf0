package unionpay

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// zmWidths are the widths of the 41 fields of a line of the general
// transaction file (全渠道商户一般交易明细流水文件); each field is followed by one
// space.
var zmWidths = [41]int{3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 131}

// fileTransfer (文件传输, fileType 00) serves the statement of a settlement
// day (settleDate MMDD): a zip holding the ZM file, zlib-compressed and
// Base64-encoded in fileContent; 98 when nothing happened that day.
func (s *Sim) fileTransfer(f map[string]string) (map[string]string, error) {
	if err := need(f, "settleDate", "txnTime", "fileType"); err != nil {
		return nil, err
	}
	if f["fileType"] != "00" {
		return nil, fail(codeFormat, msgFormat+"[fileType]")
	}
	day, err := s.settleDay(f["settleDate"])
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	lines := s.statementLocked(day)
	s.mu.Unlock()
	if len(lines) == 0 {
		return nil, fail(codeNoFile, msgNoFile)
	}
	content, err := statementZip(day, lines)
	if err != nil {
		return nil, fmt.Errorf("unionpay sim: statement: %w", err)
	}
	a := okAnswer(f)
	a["fileName"] = fmt.Sprintf("%s_%s.zip", MerID, day.Format("20060102"))
	a["fileContent"] = content
	return a, nil
}

// settleDay reads MMDD as the latest such day not after tomorrow (CST).
func (s *Sim) settleDay(mmdd string) (time.Time, error) {
	now := s.clock.Now().In(cst)
	for _, year := range []int{now.Year(), now.Year() - 1} {
		d, err := time.ParseInLocation("20060102", strconv.Itoa(year)+mmdd, cst)
		if err != nil {
			return time.Time{}, fail(codeFormat, msgFormat+"[settleDate]")
		}
		if !d.After(now.Add(24 * time.Hour)) {
			return d, nil
		}
	}
	return time.Time{}, fail(codeFormat, msgFormat+"[settleDate]")
}

// statementLocked writes the ZM lines of the purchases paid and the
// refunds settled on day, and the cancellations (S31) of reversed purchases.
func (s *Sim) statementLocked(day time.Time) []string {
	var lines []string
	sameDay := func(t time.Time) bool {
		y1, m1, d1 := t.In(cst).Date()
		y2, m2, d2 := day.Date()
		return y1 == y2 && m1 == m2 && d1 == d2
	}
	for _, t := range s.trades {
		if t.paidAt.IsZero() || !sameDay(t.paidAt) {
			continue
		}
		switch {
		case t.refund && t.state == statePaid:
			lines = append(lines, zmLine(t, "S30", "04"))
		case !t.refund && (t.state == statePaid || t.state == stateReversed):
			billed := t
			if v, ok := s.billAmounts[t.orderID]; ok {
				c := *t
				c.amount = v
				billed = &c
			}
			lines = append(lines, zmLine(billed, "S22", "01"))
			if t.state == stateReversed {
				lines = append(lines, zmLine(t, "S31", "31"))
			}
		}
	}
	return lines
}

// fee is the simulated merchant fee, 0.6 % rounded half up.
func fee(amount int64) int64 { return (amount*6 + 500) / 1000 }

// zmLine is one fixed-width line. Transaction codes S22 (purchase), S30
// (refund) and S31 (cancellation) are the simulator's choice.
func zmLine(t *trade, code, txnType string) string {
	var v [41]string
	at := t.paidAt.In(cst)
	v[0] = code
	v[1], v[2] = "00010000", "00010000"
	v[3] = t.traceNo
	v[4] = at.Format("0102150405")
	v[5] = "6216********0018"
	v[6] = fmt.Sprintf("%012d", t.amount)
	v[7] = "5999"
	v[8] = t.channelType
	v[9] = t.queryID
	v[11] = t.orderID
	v[12] = "01"
	charge, settle := "D", "C" // a purchase: the fee is charged, the rest credited
	if txnType != "01" {
		charge, settle = "C", "D"
	}
	v[15] = fmt.Sprintf("%s%012d", charge, fee(t.amount))
	v[16] = fmt.Sprintf("%s%012d", settle, t.amount-fee(t.amount))
	v[19] = txnType
	v[20] = t.txnSubType
	v[21] = t.bizType
	v[22] = "01"
	v[27] = MerID
	v[32] = v[16]
	if t.refund {
		v[13] = t.orig.traceNo
		v[14] = t.orig.paidAt.In(cst).Format("0102150405")
		v[26] = t.orig.queryID
		v[34] = t.reqReserved
	}
	var b strings.Builder
	for i, w := range zmWidths {
		field := v[i]
		if len(field) > w {
			field = field[:w]
		}
		b.WriteString(field)
		b.WriteString(strings.Repeat(" ", w-len(field)))
		if i < len(zmWidths)-1 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// statementZip packs the lines as "INN<yyMMdd>88ZM_<merId>" in a zip,
// then deflates (zlib) and Base64-encodes it, as fileContent carries it.
func statementZip(day time.Time, lines []string) (string, error) {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, err := zw.Create("INN" + day.Format("060102") + "88ZM_" + MerID)
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(strings.Join(lines, "\r\n") + "\r\n")); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	var packed bytes.Buffer
	fw := zlib.NewWriter(&packed)
	if _, err := fw.Write(zbuf.Bytes()); err != nil {
		return "", err
	}
	if err := fw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(packed.Bytes()), nil
}
