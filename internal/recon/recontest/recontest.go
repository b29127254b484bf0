// Package recontest makes a day to reconcile for tests and benchmarks of
// reconciliation: a WeChat Pay channel account (whose credentials are a
// simulator's) and the trade bill, in WeChat Pay's own format, of a day
// that settlementtest.Seed wrote (with Day.ChannelAccount set to the
// account and Day.NoReconciled), line for line what the channel would
// bill at FeeBps.
package recontest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channel/wechatpay"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/settlement/settlementtest"
	"github.com/paygate/paygate/internal/sim"
	simwechat "github.com/paygate/paygate/internal/sim/wechatpay"
	"github.com/paygate/paygate/internal/store"
)

// WeChatAccount creates a live WeChat Pay channel account at feeBps with a
// simulator's credentials (sealed with masterKey, as the gateway seals
// them), whose base URL goes nowhere: uploaded bills need no channel.
func WeChatAccount(ctx context.Context, st store.Store, masterKey []byte, feeBps int) (*store.ChannelAccount, error) {
	s, err := simwechat.New(sim.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	acct := s.Account("https://wechatpay.invalid")
	box, err := cryptobox.New(masterKey)
	if err != nil {
		return nil, err
	}
	svc := &channelaccount.Service{Store: st, Box: box, Clock: clock.Real{}, PublicURL: "http://127.0.0.1:9",
		Providers: map[string]channel.Provider{wechatpay.Name: wechatpay.Provider}}
	provider, name, live, base := wechatpay.Name, "seeded wechatpay", true, acct.BaseURL
	return svc.Create(ctx, channelaccount.CreateParams{Provider: &provider, Name: &name, Livemode: &live, BaseURL: &base,
		Config: acct.Config, Secrets: acct.Secrets, Methods: []string{"wechat.native"}, FeeBps: &feeBps})
}

// Totals are what a bill holds: its lines, and the signed sum of their
// amounts (refunds negative) and of the channel's fees.
type Totals struct {
	Lines  int
	Amount int64
	Fee    int64
}

const header = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// WriteWeChatBill writes the trade bill of the day d describes (as
// settlementtest.Seed wrote it) at feeBps to w, streaming.
func WriteWeChatBill(w io.Writer, d settlementtest.Day, feeBps int) (Totals, error) {
	tz := d.Timezone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return Totals{}, err
	}
	day, err := time.ParseInLocation(time.DateOnly, d.Day, loc)
	if err != nil {
		return Totals{}, err
	}
	cst := time.FixedZone("CST", 8*3600)
	from := day.UTC().UnixMicro()
	span := day.AddDate(0, 0, 1).UTC().UnixMicro() - from
	n := int64(d.Transactions)
	amount := func(i int64) int64 { return 100 + (i*7919)%99900 }
	fee := func(a int64) int64 { return (a*int64(feeBps) + 5000) / 10000 }
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(header)
	var t Totals
	var settle, refunded, fees, orders int64
	for i := int64(0); i < n; i++ {
		at := time.UnixMicro(from + i*span/n).In(cst).Format(time.DateTime)
		if i%10 != 9 {
			a := amount(i)
			f := fee(a)
			fmt.Fprintf(bw, "`%s,`wxseed,`1900000001,`,`,`W%d,`ord_seed%d,`oSeed,`NATIVE,`SUCCESS,`CFT,`CNY,`%s,`0.00,`,`,`0.00,`0.00,`,`,`Seeded,`,`%s,`%.2f%%,`%s,`0.00,`\r\n",
				at, i, i, yuan(a), yuan(f), float64(feeBps)/100, yuan(a))
			t.Amount += a
			t.Fee += f
			settle, fees, orders = settle+a, fees+f, orders+a
		} else {
			a := amount(i-1) / 2
			f := -fee(a)
			fmt.Fprintf(bw, "`%s,`wxseed,`1900000001,`,`,`W%d,`ord_seed%d,`oSeed,`NATIVE,`REFUND,`CFT,`CNY,`0.00,`0.00,`WR%d,`rfd_seed%d,`%s,`0.00,`ORIGINAL,`SUCCESS,`Seeded,`,`%s,`%.2f%%,`0.00,`%s,`\r\n",
				at, i-1, i-1, i, i, yuan(a), yuan(f), float64(feeBps)/100, yuan(a))
			t.Amount -= a
			t.Fee += f
			refunded, fees = refunded+a, fees+f
		}
		t.Lines++
	}
	fmt.Fprintf(bw, "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`%d,`%s,`%s,`0.00,`%s,`%s,`%s\r\n",
		t.Lines, yuan(settle), yuan(refunded), yuan(fees), yuan(orders), yuan(refunded))
	return t, bw.Flush()
}
