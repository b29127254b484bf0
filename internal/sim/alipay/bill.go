package alipay

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// billURLLifetime is how long a bill_download_url works (Alipay: 30 s).
const billURLLifetime = 30 * time.Second

type billToken struct {
	date    time.Time // midnight CST of the bill's day
	expires time.Time
}

// billURL is alipay.data.dataservice.bill.downloadurl.query.
func (s *Sim) billURL(req *request) (map[string]any, *apiError) {
	billType, date := req.str("bill_type"), req.str("bill_date")
	switch {
	case billType == "":
		return nil, invalid("isv.missing-bill-type", "缺少必选参数 bill_type")
	case date == "":
		return nil, invalid("isv.missing-bill-date", "缺少必选参数 bill_date")
	case billType != "trade":
		return nil, business("isp.bill_not_exist", "账单不存在: the simulator serves bill_type trade")
	}
	day, err := time.ParseInLocation("2006-01-02", date, cst)
	if err != nil {
		if _, err := time.ParseInLocation("2006-01", date, cst); err == nil {
			return nil, business("isp.bill_not_exist", "账单不存在: the simulator serves daily bills")
		}
		return nil, invalid("isv.invalid-parameter", "参数无效: bill_date")
	}
	if day.After(s.clock.Now()) {
		return nil, business("isp.bill_not_exist", "账单不存在")
	}
	token := randomHex(16)
	s.mu.Lock()
	s.billTokens[token] = billToken{date: day, expires: s.clock.Now().Add(billURLLifetime)}
	s.mu.Unlock()
	return map[string]any{"bill_download_url": req.base + "/bill/download?token=" + token}, nil
}

// serveBill serves the zip behind a bill_download_url.
func (s *Sim) serveBill(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tok, ok := s.billTokens[r.URL.Query().Get("token")]
	if ok && s.clock.Now().After(tok.expires) {
		delete(s.billTokens, r.URL.Query().Get("token"))
		ok = false
	}
	var zipped []byte
	var err error
	if ok {
		zipped, err = s.billZip(tok.date)
	}
	s.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "the bill download URL is unknown or has expired", http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", "attachment; filename=bill.zip")
		w.Write(zipped)
	}
}

// fee is the simulator's 0.6 % rate, rounded half up to the fen.
func fee(amount int64) int64 { return (amount*6 + 500) / 1000 }

// billRow is one line of 业务明细.
type billRow struct {
	at        time.Time
	t         *trade
	refund    *refund
	total     int64 // 订单金额
	amount    int64 // 商家实收
	serviceFe int64 // 服务费: negative when charged, positive when returned
}

// billZip builds the day's zip. The caller holds s.mu.
func (s *Sim) billZip(day time.Time) ([]byte, error) {
	end := day.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(day) && t.Before(end) }
	var rows []billRow
	for _, t := range s.trades {
		if in(t.paidAt) {
			total := t.total
			if v, ok := s.billAmounts[t.outTradeNo]; ok {
				total = v
			}
			rows = append(rows, billRow{at: t.paidAt, t: t, total: total, amount: total, serviceFe: -fee(total)})
		}
		for _, r := range t.refunds {
			if in(r.at) {
				rows = append(rows, billRow{at: r.at, t: t, refund: r, total: t.total, amount: -r.amount, serviceFe: fee(r.amount)})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })

	const (
		header = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
		rule   = "#-----------------------------------------"
	)
	var b strings.Builder
	period := fmt.Sprintf("#起始日期：[%s]   终止日期：[%s]\r\n", day.Format("2006年01月02日 15:04:05"), end.Format("2006年01月02日 15:04:05"))
	b.WriteString("#支付宝业务明细查询\r\n")
	fmt.Fprintf(&b, "#账号：[%s0156]\r\n", SellerID)
	b.WriteString(period)
	b.WriteString(rule + "业务明细列表----------------------------------------\r\n")
	b.WriteString(header + "\r\n")
	var payments, refunds int
	var received, fees int64
	for _, r := range rows {
		kind, reqNo := "交易", ""
		if r.refund != nil {
			kind, reqNo = "退款", r.refund.outRequestNo
			refunds++
		} else {
			payments++
		}
		received += r.amount
		fees += r.serviceFe
		fields := []string{
			r.t.tradeNo + "\t", r.t.outTradeNo + "\t", kind, csvText(r.t.subject),
			r.t.createdAt.In(cst).Format(timeLayout), r.at.In(cst).Format(timeLayout),
			"", "", "", "", "159****5620",
			yuan(r.total), yuan(r.amount), "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00",
			reqNo, yuan(r.serviceFe), "0.00", "",
		}
		b.WriteString(strings.Join(fields, ",") + "\r\n")
	}
	b.WriteString(rule + "业务明细列表结束------------------------------------\r\n")
	fmt.Fprintf(&b, "#交易合计：%d笔，退款合计：%d笔，商家实收共%s元，服务费共%s元\r\n", payments, refunds, yuan(received), yuan(fees))
	fmt.Fprintf(&b, "#导出时间：[%s]\r\n", s.clock.Now().In(cst).Format("2006年01月02日 15:04:05"))

	var sum strings.Builder
	sum.WriteString("#支付宝业务汇总查询\r\n")
	fmt.Fprintf(&sum, "#账号：[%s0156]\r\n", SellerID)
	sum.WriteString(period)
	sum.WriteString(rule + "业务汇总列表----------------------------------------\r\n")
	sum.WriteString("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,服务费（元）,实收净额（元）\r\n")
	fmt.Fprintf(&sum, "合计,,%d,%d,%s,%s,%s,%s\r\n", payments, refunds, yuan(received), yuan(received), yuan(fees), yuan(received+fees))
	sum.WriteString(rule + "业务汇总列表结束------------------------------------\r\n")

	prefix := fmt.Sprintf("%s0156_%s_", SellerID, day.Format("20060102"))
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range []struct{ name, text string }{
		{prefix + "业务明细.csv", b.String()},
		{prefix + "业务明细(汇总).csv", sum.String()},
	} {
		gbk := encoding.ReplaceUnsupported(simplifiedchinese.GBK.NewEncoder())
		name, err := gbk.String(f.name)
		if err != nil {
			return nil, fmt.Errorf("encode %s in GBK: %w", f.name, err)
		}
		text, err := gbk.String(f.text)
		if err != nil {
			return nil, fmt.Errorf("encode %s in GBK: %w", f.name, err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, NonUTF8: true, Modified: s.clock.Now()})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(text)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// csvText keeps a subject from breaking the row (Alipay's file does not quote).
func csvText(s string) string {
	return strings.NewReplacer(",", "，", "\r", " ", "\n", " ", "\"", "＂").Replace(s)
}
