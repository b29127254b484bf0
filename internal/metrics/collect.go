package metrics

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Backlog is what the webhook backlog is read from (sqlstore.Store).
type Backlog interface {
	DeliveriesBacklog(ctx context.Context) (pending int, oldestDue time.Time, err error)
}

// scrapeTimeout bounds the queries one scrape makes.
const scrapeTimeout = 2 * time.Second

var (
	backlogDesc = prometheus.NewDesc("paygate_webhook_backlog",
		"Webhook deliveries pending (due or waiting for a retry).", nil, nil)
	oldestDueDesc = prometheus.NewDesc("paygate_webhook_oldest_due_age_seconds",
		"How long the oldest pending webhook delivery has been due (0 when none is due).", nil, nil)
	breakerDesc = prometheus.NewDesc("paygate_channel_breaker_state",
		"The channel account's circuit breaker: 0 closed, 1 half-open, 2 open.", []string{"channel_account"}, nil)
	successDesc = prometheus.NewDesc("paygate_channel_success_ratio",
		"Share of the channel account's recent calls that the channel answered (the router's window); 1 with no samples.",
		[]string{"channel_account"}, nil)
	samplesDesc = prometheus.NewDesc("paygate_channel_recent_calls",
		"Calls in the router's success-rate window, by channel account.", []string{"channel_account"}, nil)
)

type backlogCollector struct {
	src Backlog
	now func() time.Time
}

// CollectBacklog reads the webhook backlog from src at each scrape; now is
// the gateway's clock.
func (m *Metrics) CollectBacklog(src Backlog, now func() time.Time) {
	if m == nil {
		return
	}
	m.Register(&backlogCollector{src: src, now: now})
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- oldestDueDesc
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, oldest, err := c.src.DeliveriesBacklog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(backlogDesc, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		if d := c.now().Sub(oldest); d > 0 {
			age = d.Seconds()
		}
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(oldestDueDesc, prometheus.GaugeValue, age)
}

// ChannelHealth is one channel account's health as the router sees it.
type ChannelHealth struct {
	Account     string
	Breaker     string // closed, half_open, open
	SuccessRate float64
	Samples     int
}

type healthCollector struct{ read func() []ChannelHealth }

// CollectChannelHealth reads the channel accounts' breakers and success
// rates from read at each scrape.
func (m *Metrics) CollectChannelHealth(read func() []ChannelHealth) {
	if m == nil {
		return
	}
	m.Register(&healthCollector{read: read})
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- breakerDesc
	ch <- successDesc
	ch <- samplesDesc
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range c.read() {
		state := 0.0
		switch h.Breaker {
		case "half_open":
			state = 1
		case "open":
			state = 2
		}
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, state, h.Account)
		ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, h.SuccessRate, h.Account)
		ch <- prometheus.MustNewConstMetric(samplesDesc, prometheus.GaugeValue, float64(h.Samples), h.Account)
	}
}

// CollectPools exports database/sql's statistics of each pool (go_sql_*,
// labelled db_name=paygate_<name>).
func (m *Metrics) CollectPools(pools map[string]*sql.DB) {
	if m == nil {
		return
	}
	for name, db := range pools {
		m.Register(collectors.NewDBStatsCollector(db, "paygate_"+name))
	}
}

// Discrepancies is what open reconciliation discrepancies are read from
// (sqlstore.Store).
type Discrepancies interface {
	DiscrepanciesOpenByAccount(ctx context.Context) (map[string]int, error)
}

var discrepanciesDesc = prometheus.NewDesc("paygate_recon_discrepancies",
	"Reconciliation discrepancies still open (neither repaired nor resolved), by channel account; accounts with none are absent.",
	[]string{"channel_account"}, nil)

type discrepancyCollector struct{ src Discrepancies }

// CollectDiscrepancies reads the open reconciliation discrepancies from
// src at each scrape.
func (m *Metrics) CollectDiscrepancies(src Discrepancies) {
	if m == nil {
		return
	}
	m.Register(&discrepancyCollector{src: src})
}

func (c *discrepancyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- discrepanciesDesc }

func (c *discrepancyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	open, err := c.src.DiscrepanciesOpenByAccount(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(discrepanciesDesc, err)
		return
	}
	for account, n := range open {
		ch <- prometheus.MustNewConstMetric(discrepanciesDesc, prometheus.GaugeValue, float64(n), account)
	}
}
