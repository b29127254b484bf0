package wechatpay

import (
	"bytes"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/paygate/paygate/internal/money"
)

// billHeader is the ALL trade bill's header; SUCCESS and REFUND bills use
// the same columns here (WeChat's SUCCESS bill drops the refund columns).
var billHeader = []string{
	"交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型",
	"交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号", "商户退款单号", "退款金额",
	"充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
}

var billSummaryHeader = []string{"总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"}

// feeRate is the simulated merchant's rate: 0.60 %, fees rounded half up to the fen.
const feeRate, feeRateText = 6, "0.60%"

func fee(amount int64) int64 { return (amount*feeRate + 500) / 1000 }

// yuan formats fen as yuan with two decimals.
func yuan(fen int64) string { return money.FormatMinor(fen, 2) }

// billRow is one line of the bill with its sort time.
type billRow struct {
	at     time.Time
	fields []string
}

// tradeBill serves GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL|SUCCESS|REFUND.
func (s *Sim) tradeBill(r *v3Request) (int, any) {
	q := r.URL.Query()
	day, err := time.ParseInLocation(time.DateOnly, q.Get("bill_date"), cst)
	if err != nil {
		return paramError("bill_date 格式错误 (YYYY-MM-DD)")
	}
	billType := q.Get("bill_type")
	switch billType {
	case "":
		billType = "ALL"
	case "ALL", "SUCCESS", "REFUND":
	default:
		return paramError("bill_type 取值错误")
	}
	if q.Get("tar_type") != "" {
		return paramError("tar_type 暂不支持 (simulator)")
	}
	if day.After(s.clock.Now()) {
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "账单日期不能大于当前日期")
	}
	file := s.billFile(day, billType)
	if file == nil {
		return fail(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在")
	}
	sum := sha1.Sum(file)
	token := randomHex(16)
	s.mu.Lock()
	s.bills[token] = file
	s.mu.Unlock()
	return http.StatusOK, map[string]string{
		"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]),
		"download_url": baseURL(r.Request) + "/v3/billdownload/file?token=" + token,
	}
}

// billFile builds the bill of day, or nil when it has no rows.
func (s *Sim) billFile(day time.Time, billType string) []byte {
	end := day.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(day) && t.Before(end) }
	var rows []billRow
	var settle, refunded, fees, orders int64
	s.mu.Lock()
	if billType != "REFUND" {
		for _, t := range s.trades {
			if !in(t.PaidAt) || t.global != nil { // global trades: their statements are not simulated
				continue
			}
			state := stateSuccess
			if t.State == stateRevoked {
				state = stateRevoked
			}
			total := t.Total
			if v, ok := s.billAmounts[t.OutTradeNo]; ok {
				total = v
			}
			f := fee(total)
			settle, fees, orders = settle+total, fees+f, orders+total
			rows = append(rows, billRow{t.PaidAt, tradeBillFields(t, t.PaidAt, state, yuan(total), "", "", "0.00", "", "", yuan(f), yuan(total), "0.00")})
		}
	}
	if billType != "SUCCESS" {
		for _, rf := range s.refunds {
			if !in(rf.CreatedAt) || rf.trade.global != nil {
				continue
			}
			f := -fee(rf.Amount)
			refunded, fees = refunded+rf.Amount, fees+f
			rows = append(rows, billRow{rf.CreatedAt, tradeBillFields(rf.trade, rf.CreatedAt, stateRefund, "0.00", rf.RefundID, rf.OutRefundNo,
				yuan(rf.Amount), "ORIGINAL", rf.Status, yuan(f), "0.00", yuan(rf.Amount))})
		}
	}
	s.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	w.Write(billHeader)
	for _, r := range rows {
		w.Write(r.fields)
	}
	w.Write(billSummaryHeader)
	w.Write(backquoted(strconv.Itoa(len(rows)), yuan(settle), yuan(refunded), "0.00", yuan(fees), yuan(orders), yuan(refunded)))
	w.Flush()
	return b.Bytes()
}

// tradeBillFields lays out one row in billHeader's order.
func tradeBillFields(t *trade, at time.Time, state, settlement, refundID, outRefundNo, refundAmount, refundType, refundStatus, feeText, orderAmount, applied string) []string {
	return backquoted(
		at.In(cst).Format(time.DateTime), AppID, MchID, "0", "", t.TransactionID, t.OutTradeNo, t.OpenID, t.TradeType,
		state, "OTHERS", "CNY", settlement, "0.00", refundID, outRefundNo, refundAmount,
		"0.00", refundType, refundStatus, t.Description, t.Attach, feeText, feeRateText, orderAmount, applied, "",
	)
}

// backquoted prefixes every field with "`", as WeChat's bills do.
func backquoted(fields ...string) []string {
	for i, f := range fields {
		fields[i] = "`" + f
	}
	return fields
}

// billDownload serves a bill file: a signed GET (the file itself is not signed).
func (s *Sim) billDownload(w http.ResponseWriter, r *http.Request) {
	if msg := s.checkAuth(r, nil); msg != "" {
		s.writeSigned(w, false, http.StatusUnauthorized, errorBody{"SIGN_ERROR", msg})
		return
	}
	s.mu.Lock()
	file, ok := s.bills[r.URL.Query().Get("token")]
	s.mu.Unlock()
	if !ok {
		s.writeSigned(w, false, http.StatusNotFound, errorBody{"RESOURCE_NOT_EXISTS", "账单文件不存在或已过期"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(file)
}
