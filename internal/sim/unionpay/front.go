package unionpay

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// frontPage is the simulator's stand-in for UnionPay's cashier page.
var frontPage = template.Must(template.New("front").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>银联在线支付 (simulator)</title></head>
<body>
<h1>银联在线支付 — simulator</h1>
{{if .Error}}<p role="alert">{{.Code}} {{.Error}}</p>{{else}}
<p>商户 {{.MerID}} · 订单 <code>{{.OrderID}}</code> · 金额 ¥{{.Amount}}</p>
<form method="post" action="/_sim/trades/{{.OrderID}}/pay"><button type="submit">支付 (pay)</button></form>
<form method="post" action="/_sim/trades/{{.OrderID}}/fail"><button type="submit">失败 (fail)</button></form>
{{if .FrontURL}}<p><a href="{{.FrontURL}}">返回商户 (back to the merchant)</a></p>{{end}}{{end}}
</body></html>
`))

// serveFront answers frontTransReq, the browser form of the gateway
// payment. Real UnionPay takes a POST; the simulator also takes the same
// fields as a GET query, so a redirect URL can carry them.
func (s *Sim) serveFront(w http.ResponseWriter, r *http.Request) {
	type page struct {
		Error, Code, MerID, OrderID, Amount, FrontURL string
	}
	render := func(status int, p page) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		frontPage.Execute(w, p)
	}
	f, err := readFields(r)
	if err == nil {
		err = s.check(f)
	}
	if err == nil {
		err = s.createFront(f)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{codeFormat, msgFormat}
		}
		render(http.StatusBadRequest, page{Error: ae.msg, Code: ae.code})
		return
	}
	amount := f["txnAmt"]
	for len(amount) < 3 {
		amount = "0" + amount
	}
	render(http.StatusOK, page{
		MerID: MerID, OrderID: f["orderId"],
		Amount:   fmt.Sprintf("%s.%s", amount[:len(amount)-2], amount[len(amount)-2:]),
		FrontURL: f["frontUrl"],
	})
}

// createFront records the gateway purchase (a repeat of the same form is
// the same purchase).
func (s *Sim) createFront(f map[string]string) error {
	if f["txnType"] != "01" || f["txnSubType"] != "01" || f["bizType"] != "000201" {
		return fail(codeNoPerm, msgNoPerm)
	}
	if err := need(f, "orderId", "txnTime", "txnAmt", "currencyCode", "backUrl", "channelType"); err != nil {
		return err
	}
	if u := f["frontUrl"]; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fail(codeFormat, msgFormat+"[frontUrl]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, err := s.newPurchaseLocked(f)
	return err
}
