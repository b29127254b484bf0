package console

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// Charts are drawn on the server as inline SVG: no script, no CDN, and
// the CSP's style-src holds since SVG presentation attributes are not styles.

// series is one line of a chart.
type series struct {
	Name   string
	Points []float64 // one per day; NaN: no data
}

var palette = []string{"#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"}

// lineChart draws series over days; yMax 0 scales to the data; percent
// labels the axis 0–100 %.
func lineChart(title string, days []time.Time, ss []series, percent bool) template.HTML {
	return drawChart(title, days, ss, percent, "01-02", "2006-01-02")
}

// drawChart draws series over the times xs, labelled on the axis with
// axisLayout and in each point's tooltip with pointLayout.
func drawChart(title string, days []time.Time, ss []series, percent bool, axisLayout, pointLayout string) template.HTML {
	const w, h, left, right, top, bottom = 640.0, 220.0, 48.0, 150.0, 24.0, 28.0
	pw, ph := w-left-right, h-top-bottom
	max := 0.0
	for _, s := range ss {
		for _, v := range s.Points {
			if !math.IsNaN(v) && v > max {
				max = v
			}
		}
	}
	if percent {
		max = 100
	}
	if max == 0 {
		max = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="16" font-size="13" font-weight="600" fill="#111827">%s</text>`, left, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		y := top + ph - ph*float64(i)/4
		label := fmt.Sprintf("%.0f", max*float64(i)/4)
		if percent {
			label += "%"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/>`, left, y, left+pw, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#6b7280">%s</text>`, left-4, y+3, label)
	}
	x := func(i int) float64 {
		if len(days) < 2 {
			return left + pw/2
		}
		return left + pw*float64(i)/float64(len(days)-1)
	}
	for i, d := range days {
		if len(days) <= 8 || i%(len(days)/7+1) == 0 || i == len(days)-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="#6b7280">%s</text>`, x(i), h-8, d.Format(axisLayout))
		}
	}
	for si, s := range ss {
		color := palette[si%len(palette)]
		var pts []string
		for i, v := range s.Points {
			if math.IsNaN(v) {
				continue
			}
			y := top + ph - ph*v/max
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s %s: %.1f</title></circle>`, x(i), y, color,
				html.EscapeString(s.Name), days[i].Format(pointLayout), v)
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
		}
		ly := top + 4 + float64(si)*16
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/>`, left+pw+12, ly, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#374151">%s</text>`, left+pw+26, ly+9, html.EscapeString(s.Name))
	}
	if len(ss) == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle" fill="#9ca3af">—</text>`, left+pw/2, top+ph/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// homeData is the dashboard.
type homeData struct {
	Days                      int
	Volume, Success, Channels template.HTML
	Refunds, Webhooks         template.HTML
	Totals                    []total
}

type total struct {
	Currency         string
	Orders, Paid     int64
	Amount           int64
	SuccessRatePct   float64
	RefundsCount     int64
	FailedDeliveries int
}

// home is the dashboard: orders and success rate per method and per
// channel account over the last days, from ConsoleStats.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	tr := translator(r)
	days := 14
	if r.URL.Query().Get("days") == "30" {
		days = 30
	}
	now := h.now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -days)
	merchant := p.scopeMerchant()
	if p.Operator() {
		merchant = r.URL.Query().Get("merchant")
	}
	stats, err := h.stats.get(r.Context(), h.cfg.Store, merchant, p.Live(), from, to, now)
	if err != nil {
		return err
	}
	axis := make([]time.Time, days)
	for i := range axis {
		axis[i] = from.AddDate(0, 0, i)
	}
	index := func(d time.Time) int { return int(d.Sub(from) / (24 * time.Hour)) }
	byMethod, byChannel := map[string]*acc{}, map[string]*acc{}
	totals := map[string]*total{}
	get := func(m map[string]*acc, k string) *acc {
		a := m[k]
		if a == nil {
			a = &acc{orders: make([]float64, days), ok: make([]float64, days)}
			m[k] = a
		}
		return a
	}
	for _, s := range stats {
		i := index(s.Day)
		if i < 0 || i >= days {
			continue
		}
		method := s.Method
		if method == "" {
			method = tr.T("(no method yet)")
		}
		channel := s.ChannelAccountID
		if channel == "" {
			channel = "sandbox"
		}
		for _, a := range []*acc{get(byMethod, method), get(byChannel, channel)} {
			a.orders[i] += float64(s.Orders)
			a.ok[i] += float64(s.Succeeded)
		}
		t := totals[s.Currency]
		if t == nil {
			t = &total{Currency: s.Currency}
			totals[s.Currency] = t
		}
		t.Orders += s.Orders
		t.Paid += s.Succeeded
		t.Amount += s.Amount
	}
	volume, success := seriesOf(byMethod, false), seriesOf(byMethod, true)
	d := homeData{Days: days,
		Volume:   lineChart(tr.T("Orders per day, by method"), axis, volume, false),
		Success:  lineChart(tr.T("Success rate per day, by method"), axis, success, true),
		Channels: lineChart(tr.T("Success rate per day, by channel account"), axis, seriesOf(byChannel, true), true)}
	for _, c := range []struct {
		what, title string
		out         *template.HTML
	}{{"refunds", "Refunds per day, by status", &d.Refunds}, {"deliveries", "Webhook deliveries per day, by status", &d.Webhooks}} {
		counts, err := h.cfg.Store.ConsoleDayCounts(r.Context(), c.what, merchant, p.Live(), from, to)
		if err != nil {
			return err
		}
		byStatus := map[string]*acc{}
		for _, n := range counts {
			if i := index(n.Day); i >= 0 && i < days {
				get(byStatus, tr.Status(n.Status)).orders[i] += float64(n.Count)
			}
		}
		*c.out = lineChart(tr.T(c.title), axis, seriesOf(byStatus, false), false)
	}
	for _, t := range totals {
		if t.Orders > 0 {
			t.SuccessRatePct = 100 * float64(t.Paid) / float64(t.Orders)
		}
		d.Totals = append(d.Totals, *t)
	}
	sort.Slice(d.Totals, func(i, j int) bool { return d.Totals[i].Orders > d.Totals[j].Orders })
	return h.page(w, r, "home", "Overview", d)
}

// seriesOf turns counts into series: orders per day, or the success rate
// (NaN on days without orders). At most 8 series, the busiest.
func seriesOf(m map[string]*acc, rate bool) []series {
	type kv struct {
		k   string
		a   *acc
		sum float64
	}
	var all []kv
	for k, a := range m {
		s := 0.0
		for _, v := range a.orders {
			s += v
		}
		all = append(all, kv{k, a, s})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].sum != all[j].sum {
			return all[i].sum > all[j].sum
		}
		return all[i].k < all[j].k
	})
	if len(all) > 8 {
		all = all[:8]
	}
	out := make([]series, 0, len(all))
	for _, e := range all {
		pts := make([]float64, len(e.a.orders))
		for i := range pts {
			switch {
			case !rate:
				pts[i] = e.a.orders[i]
			case e.a.orders[i] == 0:
				pts[i] = math.NaN()
			default:
				pts[i] = 100 * e.a.ok[i] / e.a.orders[i]
			}
		}
		out = append(out, series{Name: e.k, Points: pts})
	}
	return out
}

type acc = struct{ orders, ok []float64 }

func strconvF(f float64) string { return fmt.Sprintf("%.1f", f) }

// statsCache keeps the charts' sums: an order's status rarely changes days
// after it was created (it expires within hours), so the sums of days
// before yesterday are read from the database at most every statsTTL, and
// those of yesterday and today at most every recentTTL (a minute), so that
// the overview of a busy platform costs a scan of its recent orders once a
// minute, not on every view.
type statsCache struct {
	mu      sync.Mutex
	entries map[string]statsEntry
}

type statsEntry struct {
	at    time.Time
	stats []store.ConsoleStat
}

const (
	statsTTL  = 15 * time.Minute
	recentTTL = time.Minute
)

func (c *statsCache) get(ctx context.Context, st store.Store, merchant string, live bool, from, to, now time.Time) ([]store.ConsoleStat, error) {
	edge := to.AddDate(0, 0, -2) // the start of yesterday
	if edge.Before(from) {
		edge = from
	}
	old, err := c.read(ctx, st, merchant, live, from, edge, now, statsTTL, rolledUp(ctx, st, from, edge))
	if err != nil {
		return nil, err
	}
	recent, err := c.read(ctx, st, merchant, live, edge, to, now, recentTTL, false)
	if err != nil {
		return nil, err
	}
	return append(append([]store.ConsoleStat(nil), old...), recent...), nil
}

// read returns the sums of [from, to), from the cache when younger than
// ttl, else from the rollup job's daily sums when rolled (every day of the
// range is), else from the orders.
func (c *statsCache) read(ctx context.Context, st store.Store, merchant string, live bool, from, to, now time.Time, ttl time.Duration, rolled bool) ([]store.ConsoleStat, error) {
	if !to.After(from) {
		return nil, nil
	}
	key := fmt.Sprintf("%s|%v|%s|%s|%v", merchant, live, from.Format(time.DateOnly), to.Format(time.DateOnly), rolled)
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < ttl && !now.Before(e.at) {
		return e.stats, nil
	}
	read := st.ConsoleStats
	if rolled {
		read = st.ConsoleRolledStats
	}
	stats, err := read(ctx, merchant, live, from, to)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 1000 {
		c.entries = map[string]statsEntry{}
	}
	c.entries[key] = statsEntry{at: now, stats: stats}
	c.mu.Unlock()
	return stats, nil
}

// forget empties the cache (tests, benchmarks).
func (c *statsCache) forget() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
