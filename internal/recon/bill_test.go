package recon

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
)

// Bills uploaded in the channels' formats: what reads, and the clear
// errors of what does not (truncated, wrong encoding).

const wechatHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"

const wechatRow = "`2026-03-14 10:00:00,`wx1,`1900000001,`,`,`4200000001,`ord_01hwrj9e4s7b2q6w8m1x3k5tcz,`o1,`NATIVE,`SUCCESS,`CFT,`CNY,`100.00,`0.00,`,`,`0.00,`0.00,`,`,`Tea,`,`0.60,`0.60%,`100.00,`0.00,`\r\n"

const wechatSummary = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`1,`100.00,`0.00,`0.00,`0.60,`100.00,`0.00\r\n"

var day = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)

func scanAll(t *testing.T, provider string, raw []byte) ([]channel.BillRecord, error) {
	t.Helper()
	b, err := fileBill(provider, day, bytes.NewReader(raw), int64(len(raw)), SourceUpload)
	if err != nil {
		return nil, err
	}
	var out []channel.BillRecord
	err = b.scan(func(r channel.BillRecord) error { out = append(out, r); return nil })
	if err != nil {
		return nil, explain(provider, err)
	}
	return out, nil
}

func wantBillInvalid(t *testing.T, err error, says string) {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Code != "bill_invalid" || !strings.Contains(e.Message, says) {
		t.Fatalf("error %v; want bill_invalid saying %q", err, says)
	}
}

func TestWeChatBillUpload(t *testing.T) {
	recs, err := scanAll(t, "wechatpay", []byte(wechatHeader+wechatRow+wechatSummary))
	if err != nil || len(recs) != 1 || recs[0].Amount != 10000 || recs[0].Fee != 60 || recs[0].OrderID != "ord_01hwrj9e4s7b2q6w8m1x3k5tcz" {
		t.Fatalf("records %+v, %v", recs, err)
	}
	_, err = scanAll(t, "wechatpay", []byte(wechatHeader+wechatRow))
	wantBillInvalid(t, err, "truncated")
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(wechatHeader + wechatRow + wechatSummary))
	_, err = scanAll(t, "wechatpay", gbk)
	wantBillInvalid(t, err, "not UTF-8")
}

func alipayZip(t *testing.T, csv []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "20880000_20260314_业务明细.csv", Flags: 0x800, Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(csv)
	zw.Close()
	return b.Bytes()
}

const alipayCSV = "#支付宝业务明细查询\r\n#-----------------------------------------业务明细列表----------------------------------------\r\n" +
	"支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r\n" +
	"2026031422001\t,ord_01hwrj9e4s7b2q6w8m1x3k5tcz\t,交易,Tea,2026-03-14 10:00:00,2026-03-14 10:00:05,,,,,159****5620,100.00,100.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.60,0.00,\r\n" +
	"#-----------------------------------------业务明细列表结束------------------------------------\r\n"

func TestAlipayBillUpload(t *testing.T) {
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(alipayCSV))
	recs, err := scanAll(t, "alipay", alipayZip(t, gbk))
	if err != nil || len(recs) != 1 || recs[0].Amount != 10000 || recs[0].Fee != 60 {
		t.Fatalf("records %+v, %v", recs, err)
	}
	_, err = scanAll(t, "alipay", alipayZip(t, []byte(alipayCSV)))
	wantBillInvalid(t, err, "GBK")
	whole := alipayZip(t, gbk)
	_, err = scanAll(t, "alipay", whole[:len(whole)-30])
	wantBillInvalid(t, err, "truncated")
}
