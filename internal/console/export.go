package console

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// exportChunk is how many rows the export reads per query: memory stays
// bounded by one chunk whatever the size of the set, and no query holds a
// read transaction open for the whole download.
var exportChunk = 1000

// exportOrders streams every order of the filtered set as CSV in the
// list's sort order, in chunks (keyset paging on the sort's key and id).
func (h *Handler) exportOrders(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	lq, err := parseList(r)
	if err != nil {
		return err
	}
	lq.Before, lq.After = "", ""
	f := lq.orderFilter(p)
	f.Limit = exportChunk
	cw := startCSV(w, "orders", h.now())
	cw.Write([]string{"id", "merchant_id", "app_id", "livemode", "out_trade_no", "amount", "currency", "amount_refunded",
		"status", "method", "channel", "channel_account_id", "channel_trade_no", "payer_id", "subject", "failure_code",
		"created_at", "paid_at"})
	for {
		os, more, err := h.cfg.Store.ConsoleOrders(r.Context(), f)
		if err != nil {
			// Headers are gone: the truncated file ends with a line that says so.
			cw.Write([]string{"# export failed; the file is incomplete"})
			cw.Flush()
			h.cfg.Log.Error("console export failed", "err", err)
			return nil
		}
		for _, o := range os {
			cw.Write([]string{o.ID, o.MerchantID, o.AppID, strconv.FormatBool(o.Livemode), cell(o.OutTradeNo),
				money.Format(o.Amount, o.Currency), o.Currency, money.Format(o.AmountRefunded, o.Currency), string(o.Status),
				o.Method, o.Channel, o.ChannelAccountID, cell(o.ChannelTradeNo), cell(o.Payer.ID), cell(o.Subject), o.FailureCode,
				csvTime(o.CreatedAt), csvTimePtr(o.PaidAt)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil || !more || len(os) == 0 {
			return nil // a write error is the client gone
		}
		keepWriting(w)
		last := os[len(os)-1]
		f.Before = store.ConsoleCursor(f.Sort, last.Amount, last.ID)
	}
}

// exportRefunds streams the filtered refunds as CSV.
func (h *Handler) exportRefunds(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	lq, err := parseList(r)
	if err != nil {
		return err
	}
	lq.Before, lq.After = "", ""
	f := lq.refundFilter(p)
	f.Limit = exportChunk
	cw := startCSV(w, "refunds", h.now())
	cw.Write([]string{"id", "order_id", "merchant_id", "app_id", "livemode", "out_refund_no", "amount", "currency", "status",
		"channel", "channel_refund_no", "reason", "failure_code", "created_at", "succeeded_at"})
	for {
		rs, more, err := h.cfg.Store.ConsoleRefunds(r.Context(), f)
		if err != nil {
			cw.Write([]string{"# export failed; the file is incomplete"})
			cw.Flush()
			h.cfg.Log.Error("console export failed", "err", err)
			return nil
		}
		for _, x := range rs {
			cw.Write([]string{x.ID, x.OrderID, x.MerchantID, x.AppID, strconv.FormatBool(x.Livemode), cell(x.OutRefundNo),
				money.Format(x.Amount, x.Currency), x.Currency, string(x.Status), x.Channel, cell(x.ChannelRefundNo), cell(x.Reason),
				x.FailureCode, csvTime(x.CreatedAt), csvTimePtr(x.SucceededAt)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil || !more || len(rs) == 0 {
			return nil
		}
		keepWriting(w)
		last := rs[len(rs)-1]
		f.Before = store.ConsoleCursor(f.Sort, last.Amount, last.ID)
	}
}

func startCSV(w http.ResponseWriter, what string, now time.Time) *csv.Writer {
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+what+`-`+now.UTC().Format("20060102-150405")+`.csv"`)
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	keepWriting(w)
	return csv.NewWriter(w)
}

// cell defuses text a spreadsheet would run as a formula (=, +, -, @, tab,
// carriage return first): merchants' numbers and subjects come from outside.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func csvTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return csvTime(*t)
}

// keepWriting sends what is buffered and moves the write deadline on, so a
// long export is not cut by the server's WriteTimeout while it progresses.
func keepWriting(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(time.Minute))
	rc.Flush()
}
