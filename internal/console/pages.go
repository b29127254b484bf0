package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// search finds any id or reference from the one box: an order, refund or
// event id goes to its order; the merchant's numbers, the channel's trade or
// refund number and a payer id are looked up, and a single hit goes to it.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	ctx := r.Context()
	type result struct {
		Orders  []*store.Order
		Refunds []*store.Refund
		Query   string
	}
	res := result{Query: q}
	if q == "" || len(q) > 128 {
		return h.page(w, r, "search", "Search", res)
	}
	switch {
	case id.Valid(id.Order, q):
		if o, err := h.cfg.Store.OrderGet(ctx, q); err == nil && p.maysee(o.MerchantID) {
			res.Orders = append(res.Orders, o)
		}
	case id.Valid(id.Refund, q):
		if rf, err := h.cfg.Store.RefundGet(ctx, q); err == nil && p.maysee(rf.MerchantID) {
			res.Refunds = append(res.Refunds, rf)
		}
	case id.Valid(id.Event, q):
		if e, err := h.cfg.Store.EventGet(ctx, q); err == nil && p.maysee(e.MerchantID) {
			orderID := e.ObjectID
			if e.ObjectType == "refund" {
				if rf, err := h.cfg.Store.RefundGet(ctx, e.ObjectID); err == nil {
					orderID = rf.OrderID
				}
			}
			if strings.HasPrefix(orderID, id.Order) {
				http.Redirect(w, r, "/console/orders/"+orderID+"#"+e.ID, http.StatusSeeOther)
				return nil
			}
		}
	default:
		seen := map[string]bool{}
		for _, field := range []string{"out_trade_no", "channel_trade_no", "payer_id"} {
			os, err := h.cfg.Store.ConsoleFindOrders(ctx, p.scopeMerchant(), field, q)
			if err != nil {
				return err
			}
			for _, o := range os {
				if !seen[o.ID] {
					seen[o.ID] = true
					res.Orders = append(res.Orders, o)
				}
			}
		}
		for _, field := range []string{"out_refund_no", "channel_refund_no"} {
			rs, err := h.cfg.Store.ConsoleFindRefunds(ctx, p.scopeMerchant(), field, q)
			if err != nil {
				return err
			}
			for _, rf := range rs {
				if !seen[rf.ID] {
					seen[rf.ID] = true
					res.Refunds = append(res.Refunds, rf)
				}
			}
		}
	}
	switch {
	case len(res.Orders) == 1 && len(res.Refunds) == 0:
		http.Redirect(w, r, "/console/orders/"+res.Orders[0].ID, http.StatusSeeOther)
		return nil
	case len(res.Orders) == 0 && len(res.Refunds) == 1:
		http.Redirect(w, r, "/console/orders/"+res.Refunds[0].OrderID+"#"+res.Refunds[0].ID, http.StatusSeeOther)
		return nil
	}
	return h.page(w, r, "search", "Search", res)
}

// listQuery is a list page's filters as the form sends them.
type listQuery struct {
	Merchant, Status, Method, Channel, MinAmount, MaxAmount, From, To, Before, After, OrderID string
	// Sort is one of store.ConsoleSorts; "" is newest first.
	Sort string
}

// parseList reads the filters; bad values are a 400 naming the field.
func parseList(r *http.Request) (listQuery, error) {
	q := r.URL.Query()
	lq := listQuery{Merchant: q.Get("merchant"), Status: q.Get("status"), Method: q.Get("method"), Channel: q.Get("channel"),
		MinAmount: q.Get("min"), MaxAmount: q.Get("max"), From: q.Get("from"), To: q.Get("to"),
		Before: q.Get("before"), After: q.Get("after"), OrderID: q.Get("order"), Sort: q.Get("sort")}
	if lq.Sort == store.SortNewest {
		lq.Sort = ""
	}
	if lq.Sort != "" && !slices.Contains(store.ConsoleSorts, lq.Sort) {
		return lq, errs.InvalidParam("sort", "sort must be one of "+strings.Join(store.ConsoleSorts, ", ")+".")
	}
	for k, v := range map[string]string{"before": lq.Before, "after": lq.After} {
		if _, _, ok := store.ParseConsoleCursor(lq.Sort, v); v != "" && !ok {
			return lq, errs.InvalidParam(k, "The page link is not of this sort order; start from the first page.")
		}
	}
	for k, v := range map[string]string{"min": lq.MinAmount, "max": lq.MaxAmount} {
		if v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				return lq, errs.InvalidParam(k, "Amounts are whole minor units (cents, 分).")
			}
		}
	}
	for k, v := range map[string]string{"from": lq.From, "to": lq.To} {
		if v != "" {
			if _, err := time.Parse("2006-01-02", v); err != nil {
				return lq, errs.InvalidParam(k, "Dates are YYYY-MM-DD.")
			}
		}
	}
	return lq, nil
}

func (lq listQuery) amounts() (int64, int64) {
	min, _ := strconv.ParseInt(lq.MinAmount, 10, 64)
	max, _ := strconv.ParseInt(lq.MaxAmount, 10, 64)
	return min, max
}

// dates are the UTC day range [from, to+1 day).
func (lq listQuery) dates() (*time.Time, *time.Time) {
	var from, to *time.Time
	if t, err := time.Parse("2006-01-02", lq.From); err == nil {
		from = &t
	}
	if t, err := time.Parse("2006-01-02", lq.To); err == nil {
		t = t.AddDate(0, 0, 1)
		to = &t
	}
	return from, to
}

// merchantFilter is the merchant a list is limited to: the user's own, or
// the operator's pick.
func (p *principal) merchantFilter(lq listQuery) string {
	if p.Operator() {
		return lq.Merchant
	}
	return p.User.MerchantID
}

// values is the query without the cursors, for paging links and the export.
func (lq listQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"merchant": lq.Merchant, "status": lq.Status, "method": lq.Method, "channel": lq.Channel,
		"min": lq.MinAmount, "max": lq.MaxAmount, "from": lq.From, "to": lq.To, "order": lq.OrderID, "sort": lq.Sort} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (lq listQuery) orderFilter(p *principal) store.ConsoleOrderFilter {
	min, max := lq.amounts()
	from, to := lq.dates()
	return store.ConsoleOrderFilter{MerchantID: p.merchantFilter(lq), Livemode: p.Live(), Status: lq.Status, Method: lq.Method,
		ChannelAccountID: lq.Channel, AmountMin: min, AmountMax: max, CreatedGTE: from, CreatedLT: to,
		Sort: lq.Sort, Before: lq.Before, After: lq.After}
}

func (lq listQuery) refundFilter(p *principal) store.ConsoleRefundFilter {
	min, max := lq.amounts()
	from, to := lq.dates()
	return store.ConsoleRefundFilter{MerchantID: p.merchantFilter(lq), Livemode: p.Live(), Status: lq.Status, OrderID: lq.OrderID,
		AmountMin: min, AmountMax: max, CreatedGTE: from, CreatedLT: to, Sort: lq.Sort, Before: lq.Before, After: lq.After}
}

// pager holds a list's paging links: Newer is the previous page and Older
// the next in the list's sort order (newest first unless sorted otherwise).
type pager struct {
	Newer, Older, Export string
}

func makePager(base string, lq listQuery, first, last string, moreOlder, moreNewer bool) pager {
	var pg pager
	v := lq.values()
	pg.Export = base + ".csv"
	if enc := v.Encode(); enc != "" {
		pg.Export += "?" + enc
	}
	if last != "" && moreOlder {
		o := lq.values()
		o.Set("before", last)
		pg.Older = base + "?" + o.Encode()
	}
	if first != "" && moreNewer {
		n := lq.values()
		n.Set("after", first)
		pg.Newer = base + "?" + n.Encode()
	}
	return pg
}

type ordersData struct {
	Q        listQuery
	Orders   []*store.Order
	Page     pager
	Statuses []string
	Methods  []string
	Channels []*store.ChannelAccount
	Sorts    []string
}

var orderStatuses = []string{"pending", "processing", "requires_review", "succeeded", "failed", "closed"}

// pageSize is how many rows a list page shows (a variable for tests).
var pageSize = 50

func (h *Handler) orders(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	lq, err := parseList(r)
	if err != nil {
		return err
	}
	f := lq.orderFilter(p)
	f.Limit = pageSize
	os, more, err := h.cfg.Store.ConsoleOrders(r.Context(), f)
	if err != nil {
		return err
	}
	d := ordersData{Q: lq, Orders: os, Statuses: orderStatuses, Methods: methods, Sorts: store.ConsoleSorts}
	if len(os) > 0 {
		// Paging forward (before) there are newer ones when a cursor was
		// given; paging back (after), older ones.
		moreOlder, moreNewer := more, lq.Before != ""
		if lq.After != "" {
			moreOlder, moreNewer = true, more
		}
		first, last := os[0], os[len(os)-1]
		d.Page = makePager("/console/orders", lq, store.ConsoleCursor(lq.Sort, first.Amount, first.ID),
			store.ConsoleCursor(lq.Sort, last.Amount, last.ID), moreOlder, moreNewer)
	} else {
		d.Page = makePager("/console/orders", lq, "", "", false, false)
	}
	if p.Operator() {
		d.Channels, _, _ = h.cfg.Store.ChannelAccountList(r.Context(), "", store.ListParams{Limit: 100})
	}
	return h.page(w, r, "orders", "Orders", d)
}

type refundsData struct {
	Q        listQuery
	Refunds  []*store.Refund
	Page     pager
	Statuses []string
	Sorts    []string
}

func (h *Handler) refunds(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	lq, err := parseList(r)
	if err != nil {
		return err
	}
	f := lq.refundFilter(p)
	f.Limit = pageSize
	rs, more, err := h.cfg.Store.ConsoleRefunds(r.Context(), f)
	if err != nil {
		return err
	}
	d := refundsData{Q: lq, Refunds: rs, Statuses: []string{"pending", "succeeded", "failed"}, Sorts: store.ConsoleSorts}
	if len(rs) > 0 {
		moreOlder, moreNewer := more, lq.Before != ""
		if lq.After != "" {
			moreOlder, moreNewer = true, more
		}
		first, last := rs[0], rs[len(rs)-1]
		d.Page = makePager("/console/refunds", lq, store.ConsoleCursor(lq.Sort, first.Amount, first.ID),
			store.ConsoleCursor(lq.Sort, last.Amount, last.ID), moreOlder, moreNewer)
	} else {
		d.Page = makePager("/console/refunds", lq, "", "", false, false)
	}
	return h.page(w, r, "refunds", "Refunds", d)
}

// methods are the payment methods the filter offers.
var methods = []string{"sandbox", "card", "wechat.native", "wechat.h5", "wechat.jsapi", "wechat.app", "wechat.micropay",
	"alipay.qr", "alipay.page", "alipay.wap", "alipay.app", "alipay.micropay", "unionpay.qr", "unionpay.gateway", "unionpay.micropay"}

// orderData is an order's page.
type orderData struct {
	Order      *store.Order
	Merchant   *store.Merchant
	Refunds    []*store.Refund
	Timeline   []item
	Events     []*eventView
	Ledger     []ledger.Entry
	Refundable int64
	// OutRefundNo is generated with the page, so a double submit of the
	// refund form is one refund (the API's natural key).
	OutRefundNo string
	CanRefund   bool
	Risk, Route string
}

// item is one line of the timeline.
type item struct {
	At     time.Time
	Kind   string // css class
	Title  string
	Detail string
	Anchor string
}

type eventView struct {
	Event      *store.Event
	Deliveries []*store.Delivery
	Attempts   []*store.DeliveryAttempt
}

func (h *Handler) loadOrder(ctx context.Context, p *principal, orderID string) (*store.Order, error) {
	if !id.Valid(id.Order, orderID) {
		return nil, errNotFound
	}
	o, err := h.cfg.Store.OrderGet(ctx, orderID)
	if err != nil {
		return nil, notFound(err)
	}
	// A merchant's user sees another merchant's order as not found: the same
	// answer as an id that does not exist, so ids cannot be probed.
	if !p.maysee(o.MerchantID) {
		return nil, errNotFound
	}
	return o, nil
}

func (h *Handler) order(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	ctx := r.Context()
	o, err := h.loadOrder(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	tr := translator(r)
	d := orderData{Order: o, Refundable: o.Amount - o.AmountRefunded, Risk: pretty(o.Risk), Route: pretty(o.Route)}
	d.Merchant, _ = h.cfg.Store.MerchantGet(ctx, o.MerchantID)
	d.CanRefund = p.Admin() && o.Status == store.OrderSucceeded && d.Refundable > 0
	d.OutRefundNo = "console_" + strings.TrimPrefix(id.New(id.Refund, h.now()), id.Refund)
	if d.Refunds, _, err = h.cfg.Store.ConsoleRefunds(ctx, store.ConsoleRefundFilter{Livemode: o.Livemode, OrderID: o.ID,
		MerchantID: o.MerchantID, Limit: 100}); err != nil {
		return err
	}
	add := func(at time.Time, kind, title, detail, anchor string) {
		if !at.IsZero() {
			d.Timeline = append(d.Timeline, item{At: at, Kind: kind, Title: title, Detail: detail, Anchor: anchor})
		}
	}
	add(o.CreatedAt, "created", tr.T("Order created"), tr.Money(o.Amount, o.Currency)+" · "+o.Subject, "")
	if len(o.Risk) > 0 {
		add(o.CreatedAt, "risk", tr.T("Risk decision"), riskSummary(o.Risk), "risk")
	}
	if o.Method != "" {
		detail := o.Method
		if o.Channel != "" {
			detail += " → " + o.Channel
			if o.ChannelAccountID != "" {
				detail += " (" + o.ChannelAccountID + ")"
			}
		}
		add(o.CreatedAt, "route", tr.T("Routing decision"), detail+routeSummary(o.Route), "route")
	}
	if o.PaidAt != nil {
		add(*o.PaidAt, "succeeded", tr.T("Paid"), tr.Money(o.Amount, o.Currency)+" · "+o.ChannelTradeNo, "")
	}
	if o.ClosedAt != nil {
		add(*o.ClosedAt, "closed", tr.T("Closed"), o.FailureCode, "")
	}
	if o.Status == store.OrderFailed {
		add(o.UpdatedAt, "failed", tr.T("Failed"), o.FailureCode+" "+o.FailureMessage, "")
	}
	objects := []string{o.ID}
	for _, rf := range d.Refunds {
		objects = append(objects, rf.ID)
		add(rf.CreatedAt, "refund", tr.F("Refund %s requested", rf.ID), tr.Money(rf.Amount, rf.Currency)+" · "+rf.OutRefundNo+" · "+rf.Reason, rf.ID)
		if rf.SucceededAt != nil {
			add(*rf.SucceededAt, "succeeded", tr.F("Refund %s succeeded", rf.ID), tr.Money(rf.Amount, rf.Currency), rf.ID)
		} else if rf.Status == store.RefundFailed {
			add(rf.UpdatedAt, "failed", tr.F("Refund %s failed", rf.ID), rf.FailureCode+" "+rf.FailureMessage, rf.ID)
		}
	}
	for _, obj := range objects {
		evs, _, err := h.cfg.Store.EventList(ctx, store.EventFilter{MerchantID: o.MerchantID, Livemode: o.Livemode, ObjectID: obj,
			ListParams: store.ListParams{Limit: 100}})
		if err != nil {
			return err
		}
		for _, e := range evs {
			ev := &eventView{Event: e}
			if ev.Deliveries, err = h.cfg.Store.DeliveryList(ctx, e.ID); err != nil {
				return err
			}
			if ev.Attempts, err = h.cfg.Store.DeliveryAttempts(ctx, e.ID); err != nil {
				return err
			}
			d.Events = append(d.Events, ev)
			add(e.CreatedAt, "event", tr.F("Event %s", e.Type), e.ID, e.ID)
			for _, a := range ev.Attempts {
				kind, what := "delivered", "HTTP "+strconv.Itoa(a.StatusCode)
				if a.StatusCode < 200 || a.StatusCode > 299 {
					kind = "undelivered"
					if a.Error != "" {
						what += " · " + a.Error
					}
				}
				add(a.AttemptedAt, kind, tr.T("Webhook attempt"), a.URL+" · "+what+" · "+a.Latency.Round(time.Millisecond).String(), e.ID)
			}
		}
		entries, err := h.cfg.Store.LedgerEntries(ctx, obj)
		if err != nil {
			return err
		}
		for _, en := range entries {
			d.Ledger = append(d.Ledger, en)
			add(en.CreatedAt, "ledger", tr.F("Ledger entry %s", en.Kind), en.ID, "ledger")
		}
	}
	sort.SliceStable(d.Timeline, func(i, j int) bool { return d.Timeline[i].At.Before(d.Timeline[j].At) })
	sort.SliceStable(d.Events, func(i, j int) bool { return d.Events[i].Event.ID < d.Events[j].Event.ID })
	return h.page(w, r, "order", "Order", d)
}

// pretty indents a JSON document for a <pre>.
func pretty(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// riskSummary is the decision and score of an order's risk JSON.
func riskSummary(raw json.RawMessage) string {
	var v struct {
		Decision string `json:"decision"`
		Score    *int   `json:"score"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Decision == "" {
		return ""
	}
	s := v.Decision
	if v.Score != nil {
		s += " · score " + strconv.Itoa(*v.Score)
	}
	return s
}

// routeSummary names the routing strategy and how many accounts it tried.
func routeSummary(raw json.RawMessage) string {
	var v struct {
		Strategy   string            `json:"strategy"`
		Candidates []json.RawMessage `json:"candidates"`
		Skipped    []json.RawMessage `json:"skipped"`
		Attempts   []json.RawMessage `json:"attempts"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Strategy == "" {
		return ""
	}
	return fmt.Sprintf(" · %s · %d candidates, %d skipped, %d tried", v.Strategy, len(v.Candidates), len(v.Skipped), len(v.Attempts))
}

// refund refunds part or all of an order through payment.CreateRefund,
// after a confirmation page that repeats the amount.
func (h *Handler) refund(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	ctx := r.Context()
	o, err := h.loadOrder(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	exp, ok := money.Exponent(o.Currency)
	if !ok {
		exp = 0
	}
	amountText := strings.TrimSpace(r.PostFormValue("amount"))
	amount, err := money.ParseMinor(amountText, exp)
	if err != nil || amount <= 0 {
		return errs.InvalidParam("amount", "Enter an amount like 12.50, with at most "+strconv.Itoa(exp)+" decimals.")
	}
	if amount > o.Amount-o.AmountRefunded {
		return errs.RefundExceedsAmount
	}
	outRefundNo := r.PostFormValue("out_refund_no")
	if outRefundNo == "" {
		return errs.Missing("out_refund_no")
	}
	if r.PostFormValue("confirm") != "yes" {
		return h.page(w, r, "refund_confirm", "Confirm refund", struct {
			Order       *store.Order
			Amount      int64
			AmountText  string
			Reason      string
			OutRefundNo string
		}{o, amount, amountText, r.PostFormValue("reason"), outRefundNo})
	}
	rf, _, err := h.cfg.Payments.CreateRefund(ctx, payment.Scope{MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode},
		payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: outRefundNo, Amount: amount, Reason: r.PostFormValue("reason")})
	if err != nil {
		return err
	}
	h.cfg.Log.Info("console refund", "user", p.User.ID, "email", p.User.Email, "order", o.ID, "refund", rf.ID, "amount", amount)
	return back(w, r, "/console/orders/"+o.ID, "Refund created.")
}

// resend delivers an event again to every target, as POST
// /v1/events/{id}/redeliver does.
func (h *Handler) resend(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	ctx := r.Context()
	e, err := h.cfg.Store.EventGet(ctx, r.PathValue("id"))
	if err != nil || !p.maysee(e.MerchantID) {
		return errNotFound
	}
	if _, err := h.cfg.Store.EventRedeliver(ctx, store.Scope{MerchantID: e.MerchantID, AppID: e.AppID, Livemode: e.Livemode}, e.ID, h.now()); err != nil {
		return notFound(err)
	}
	if h.cfg.Notify != nil {
		h.cfg.Notify()
	}
	h.cfg.Log.Info("console resend", "user", p.User.ID, "event", e.ID)
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/console/") {
		next = "/console/webhooks"
	}
	return back(w, r, next, "Event queued for delivery again.")
}
