package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/store"
)

type channelView struct {
	Account *store.ChannelAccount
	Health  Health
}

// channelsData is the channel accounts page: each account's live health,
// and per hour over the last hours its success rate and time to payment.
type channelsData struct {
	Accounts []channelView
	Hours    int
	Success  template.HTML
	PayTime  template.HTML
}

// channels lists the channel accounts with the router's live health, and
// charts per UTC hour, from the orders each account served (created in the
// hour): the share that succeeded, and the mean time from the order to the
// channel's confirmation of the payment (paid_at − created_at; the
// gateway keeps no per-call latency in the database, only in its metrics).
// The sums are cached for a minute (hoursCache).
func (h *Handler) channels(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principalOf(r)
	tr := translator(r)
	as, _, err := h.cfg.Store.ChannelAccountList(ctx, "", store.ListParams{Limit: 100})
	if err != nil {
		return err
	}
	d := channelsData{Hours: 24}
	if r.URL.Query().Get("hours") == "48" {
		d.Hours = 48
	}
	for _, a := range as {
		v := channelView{Account: a}
		if h.cfg.ChannelHealth != nil {
			v.Health = h.cfg.ChannelHealth(a.ID)
		}
		d.Accounts = append(d.Accounts, v)
	}
	to := h.now().UTC().Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-time.Duration(d.Hours) * time.Hour)
	hours, err := h.hours.get(ctx, h.cfg.Store, p.Live(), from, to, h.now())
	if err != nil {
		return err
	}
	axis := make([]time.Time, d.Hours)
	for i := range axis {
		axis[i] = from.Add(time.Duration(i) * time.Hour)
	}
	names := map[string]string{}
	for _, a := range as {
		names[a.ID] = a.Name
	}
	byAccount := map[string]*acc{}
	payMicros := map[string][]float64{}
	for _, c := range hours {
		i := int(c.Hour.Sub(from) / time.Hour)
		if i < 0 || i >= d.Hours {
			continue
		}
		name := names[c.ChannelAccountID]
		if name == "" {
			name = c.ChannelAccountID
		}
		a := byAccount[name]
		if a == nil {
			a = &acc{orders: make([]float64, d.Hours), ok: make([]float64, d.Hours)}
			byAccount[name] = a
			payMicros[name] = make([]float64, d.Hours)
		}
		a.orders[i] += float64(c.Orders)
		a.ok[i] += float64(c.Succeeded)
		payMicros[name][i] += float64(c.PayMicros)
	}
	success := seriesOf(byAccount, true)
	// The same accounts' mean seconds to payment (NaN: nothing paid that hour).
	var payTime []series
	for _, s := range success {
		a := byAccount[s.Name]
		pts := make([]float64, d.Hours)
		for i := range pts {
			pts[i] = math.NaN()
			if a.ok[i] > 0 {
				pts[i] = payMicros[s.Name][i] / a.ok[i] / 1e6
			}
		}
		payTime = append(payTime, series{Name: s.Name, Points: pts})
	}
	d.Success = drawChart(tr.T("Success rate per hour, by channel account (UTC)"), axis, success, true, "15:00", "2006-01-02 15:00")
	d.PayTime = drawChart(tr.T("Seconds from order to payment, mean per hour (UTC)"), axis, payTime, false, "15:00", "2006-01-02 15:00")
	return h.page(w, r, "channels", "Channel accounts", d)
}

// hoursCache keeps the channel charts' sums for recentTTL (a minute), so a
// busy platform's page scans its last hours of orders once a minute, not
// on every view.
type hoursCache struct {
	mu      sync.Mutex
	entries map[string]hoursEntry
}

type hoursEntry struct {
	at    time.Time
	hours []store.ConsoleChannelHour
}

func (c *hoursCache) get(ctx context.Context, st store.Store, live bool, from, to, now time.Time) ([]store.ConsoleChannelHour, error) {
	key := fmt.Sprintf("%v|%d|%d", live, from.Unix(), to.Unix())
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < recentTTL && !now.Before(e.at) {
		return e.hours, nil
	}
	hours, err := st.ConsoleChannelHours(ctx, live, from, to)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 100 {
		c.entries = map[string]hoursEntry{}
	}
	c.entries[key] = hoursEntry{at: now, hours: hours}
	c.mu.Unlock()
	return hours, nil
}
