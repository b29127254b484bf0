package wechatpay

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"time"
)

// Transfers (商家转账到零钱, API v3 transfer batches): POST
// /v3/transfer/batches and GET
// /v3/transfer/batches/out-batch-no/{no}/details/out-detail-no/{no}. A
// batch is accepted (batch_status ACCEPTED) and made once per
// out_batch_no: a repeat with the same details answers the first, with
// others INVALID_REQUEST. Each detail is PROCESSING until queried once,
// then SUCCESS, or FAIL with fail_reason ACCOUNT_NOT_EXIST for the openid
// PayeeMissing. Simplified: no batch callbacks, no batch query
// (/v3/transfer/batches/out-batch-no/{no}), no user_name, no limits on the
// merchant's balance.

// PayeeMissing is an openid WeChat does not know.
const PayeeMissing = "o-nobody"

var billNoPattern = regexp.MustCompile(`^[0-9A-Za-z]{5,32}$`)

type transferBatch struct {
	outBatchNo, batchID, outDetailNo, detailID, openid, status, failReason string
	amount                                                                 int64
	queried                                                                bool
	at                                                                     time.Time
}

func (s *Sim) createTransferBatch(r *v3Request) (int, any) {
	var req struct {
		AppID       string `json:"appid"`
		OutBatchNo  string `json:"out_batch_no"`
		BatchName   string `json:"batch_name"`
		BatchRemark string `json:"batch_remark"`
		TotalAmount int64  `json:"total_amount"`
		TotalNum    int    `json:"total_num"`
		Details     []struct {
			OutDetailNo    string `json:"out_detail_no"`
			TransferAmount int64  `json:"transfer_amount"`
			TransferRemark string `json:"transfer_remark"`
			OpenID         string `json:"openid"`
		} `json:"transfer_detail_list"`
	}
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	switch {
	case req.AppID == "" || req.OutBatchNo == "" || req.BatchName == "" || req.BatchRemark == "":
		return paramError("缺少必填参数 (appid, out_batch_no, batch_name, batch_remark)")
	case !billNoPattern.MatchString(req.OutBatchNo):
		return paramError("out_batch_no 只能由数字、大小写字母组成")
	case req.TotalNum != 1 || len(req.Details) != 1:
		return paramError("the simulator takes batches of one detail")
	case !billNoPattern.MatchString(req.Details[0].OutDetailNo) || req.Details[0].OpenID == "":
		return paramError("transfer_detail_list: out_detail_no 格式错误或缺少 openid")
	case req.Details[0].TransferAmount <= 0 || req.Details[0].TransferAmount != req.TotalAmount:
		return paramError("total_amount 与明细金额之和不一致")
	case len([]rune(req.BatchRemark)) > 32 || len([]rune(req.Details[0].TransferRemark)) > 32:
		return paramError("备注最多32个字符")
	}
	d := req.Details[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transfers == nil {
		s.transfers = map[string]*transferBatch{}
	}
	if b, ok := s.transfers[req.OutBatchNo]; ok {
		if b.amount != d.TransferAmount || b.openid != d.OpenID || b.outDetailNo != d.OutDetailNo {
			return fail(http.StatusBadRequest, "INVALID_REQUEST", "商户批次单号已存在，请求参数与原批次不一致")
		}
		return http.StatusOK, s.batchView(b)
	}
	b := &transferBatch{outBatchNo: req.OutBatchNo, batchID: s.nextIDLocked("1030000071100999991182020", 4), outDetailNo: d.OutDetailNo,
		detailID: s.nextIDLocked("1040000071100999991182020", 4), openid: d.OpenID, amount: d.TransferAmount, status: "PROCESSING", at: s.clock.Now()}
	s.transfers[b.outBatchNo] = b
	return http.StatusOK, s.batchView(b)
}

func (s *Sim) batchView(b *transferBatch) map[string]any {
	return map[string]any{"out_batch_no": b.outBatchNo, "batch_id": b.batchID, "create_time": b.at.In(cst).Format(time.RFC3339), "batch_status": "ACCEPTED"}
}

func (s *Sim) transferDetail(r *v3Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.transfers[r.PathValue("batch")]
	if b == nil || b.outDetailNo != r.PathValue("detail") {
		return fail(http.StatusNotFound, "NOT_FOUND", "记录不存在")
	}
	out := map[string]any{"mchid": MchID, "out_batch_no": b.outBatchNo, "batch_id": b.batchID, "appid": AppID,
		"out_detail_no": b.outDetailNo, "detail_id": b.detailID, "detail_status": b.status, "transfer_amount": b.amount,
		"transfer_remark": "转账", "openid": b.openid, "initiate_time": b.at.In(cst).Format(time.RFC3339),
		"update_time": s.clock.Now().In(cst).Format(time.RFC3339)}
	if b.failReason != "" {
		out["fail_reason"] = b.failReason
	}
	if !b.queried { // settles once asked
		b.queried = true
		if b.openid == PayeeMissing {
			b.status, b.failReason = "FAIL", "ACCOUNT_NOT_EXIST"
		} else {
			b.status = "SUCCESS"
		}
	}
	return http.StatusOK, out
}

// Transfers returns the amount of every transfer batch made, by
// out_batch_no (tests check nothing was paid twice or lost).
func (s *Sim) Transfers() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.transfers))
	for k := range s.transfers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]int64, len(keys))
	for _, k := range keys {
		out[k] = s.transfers[k].amount
	}
	return out
}
