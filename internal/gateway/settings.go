package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/settlement"
)

// A Setting is one configuration value of Paygate. Every setting is read,
// in this order of precedence, from a command-line flag, a PAYGATE_*
// environment variable, a key of the optional configuration file
// (--config), and its default. The three names derive from Key: the flag
// is Key with "-" for "_" (notify_timeout → --notify-timeout), the variable
// is PAYGATE_ and Key in upper case (PAYGATE_NOTIFY_TIMEOUT), and the file
// key is Key itself.
//
// Settings lists them all: a new setting is one entry there (and one field
// of Config), and the flags, the environment, the file, the README's
// Configuration table and serve's log of its effective configuration all
// follow from it.
type Setting struct {
	// Key names the setting in the configuration file (snake_case).
	Key string
	// Type is what the value is, for help and the README: string, address,
	// url, database, duration, durations, int, bool, level, secret.
	Type string
	// Default is the value when nothing sets it, as it would be written.
	Default string
	// DefaultDoc describes a default that is computed ("" to show Default).
	DefaultDoc string
	// Doc is one line saying what the setting does.
	Doc string
	// Secret settings are masked wherever they are shown.
	Secret bool

	// parse validates v and stores it in c; its error says what a valid
	// value is (the caller names the setting and where v came from).
	parse func(c *Config, v string) error
	// show renders the setting's value in c (unmasked).
	show func(c *Config) string
	// zero reports whether c leaves the setting at its zero value.
	zero func(c *Config) bool
}

// Flag is the setting's command-line flag, without the leading "--".
func (s Setting) Flag() string { return strings.ReplaceAll(s.Key, "_", "-") }

// Env is the setting's environment variable.
func (s Setting) Env() string { return "PAYGATE_" + strings.ToUpper(s.Key) }

// Parse validates v and stores it in c.
func (s Setting) Parse(c *Config, v string) error { return s.parse(c, v) }

// Value renders the setting's value in c, with secrets masked and a
// database URL's password hidden: what may be logged.
func (s Setting) Value(c *Config) string {
	v := s.show(c)
	switch {
	case s.Secret && v == "":
		return "(not set)"
	case s.Secret:
		return "(set, masked)"
	case s.Type == "database":
		return redactURL(v)
	}
	return v
}

// Settings are every setting of Paygate's server, in the order help and the
// README list them.
func Settings() []Setting {
	return []Setting{
		stringSetting("addr", "address", ":8080", "",
			"TCP address the HTTP server listens on (host:port; port 0 picks a free one)",
			func(c *Config) *string { return &c.Addr }, validateAddr),
		stringSetting("database", "database", "sqlite:paygate.db", "",
			"sqlite:PATH (the file is created when missing) or a postgres:// URL",
			func(c *Config) *string { return &c.Database }, validateDatabase),
		stringSetting("public_url", "url", "", "http://localhost:PORT, PORT being the port of addr",
			"how payers and channels reach the gateway (cashier links, channel callbacks)",
			func(c *Config) *string { return &c.PublicURL }, validatePublicURL),
		secretSetting("admin_token", "generated at first start, printed once, its hash kept",
			"operator token for /admin/v1 (when set, it replaces the generated one)",
			func(c *Config) *string { return &c.AdminToken }, validateAdminToken),
		secretSetting("master_key", "SQLite: generated into the file PATH.masterkey beside the database (mode 0600); PostgreSQL: required",
			"32 bytes as 64 hex digits or base64, sealing secrets at rest (AES-256-GCM)",
			func(c *Config) *string { return &c.MasterKey }, validateMasterKey),
		secretSetting("old_master_keys", "none",
			"former master keys, comma-separated, that still open what they sealed but never seal: give them during a master key rotation (paygate keys rotate-master), remove them after",
			func(c *Config) *string { return &c.OldMasterKeys }, validateOldMasterKeys),
		boolSetting("no_demo", "do not create the demo merchant on an empty database",
			func(c *Config) *bool { return &c.NoDemo }),
		boolSetting("hosted", "the gateway serves merchants from a machine they do not own: test-mode notifications may not go to loopback either (local development and the demo leave it off)",
			func(c *Config) *bool { return &c.Hosted }),
		boolSetting("simulators", "run the WeChat Pay, Alipay and UnionPay simulators in the process; test orders of their methods go through them",
			func(c *Config) *bool { return &c.Simulators }),
		scheduleSetting("notify_retry_schedule", "15s,15s,30s,3m,10m,20m,30m,30m,30m,1h,3h,3h,3h,6h,6h",
			"delays before each notification retry (comma-separated durations)",
			func(c *Config) *[]time.Duration { return &c.NotifyRetrySchedule }),
		durationSetting("notify_timeout", "10s", "how long a notification attempt may take; a 2xx within it acknowledges",
			func(c *Config) *time.Duration { return &c.NotifyTimeout }),
		durationSetting("notify_lease", "1m", "how long a node holds claimed deliveries; after a crash they are sent again once it ends (raised to notify_timeout+5s if shorter)",
			func(c *Config) *time.Duration { return &c.NotifyLease }),
		intSetting("notify_concurrency", "32", 1, 100000, "notification attempts in flight on this node",
			func(c *Config) *int { return &c.NotifyConcurrency }),
		intSetting("notify_per_target", "4", 1, 100000, "notification attempts in flight to one endpoint or notify_url host, on this node",
			func(c *Config) *int { return &c.NotifyPerTarget }),
		durationSetting("worker_interval", "5s", "how often the background jobs run (expiry, channel queries, micropay reversal) and the scheduled jobs (settlement) look whether they are due",
			func(c *Config) *time.Duration { return &c.WorkerInterval }),
		durationSetting("micropay_deadline", "1m", "how long a micropay may wait for its payer to confirm before it is reversed",
			func(c *Config) *time.Duration { return &c.MicropayDeadline }),
		stringSetting("refund_fee_policy", "string", "keep", "",
			"what a refund does with its payment's fee: keep (the platform keeps it, as Stripe) or pro_rata (the refund returns its share, rounded down, as WeChat Pay)",
			func(c *Config) *string { return &c.RefundFeePolicy }, validateRefundFeePolicy),
		stringSetting("settle_at", "time", "12:00", "",
			"time of day (HH:MM, in each merchant's time zone) after which a merchant's day T is settled on T+N, once the channels' bills of T are reconciled",
			func(c *Config) *string { return &c.SettleAt }, validateClockTime),
		stringSetting("recon_bill_ready", "string", "10:00", "",
			"when a channel's bill of day T is reconciled: HH:MM on T+1 in China Standard Time, for every provider or per provider (wechatpay=10:00,alipay=09:00,unionpay=10:00)",
			func(c *Config) *string { return &c.ReconBillReady }, validateBillReady),
		intSetting("risk_rule_max_cost", "10000", 100, 1000000, "the most a risk rule may cost to evaluate (CEL cost units, its worst case checked when saved, and the limit at run time)",
			func(c *Config) *int { return &c.RiskRuleMaxCost }),
		intSetting("risk_merchant_rule_max_cost", "5000", 100, 1000000, "the same for rules merchants write (at most risk_rule_max_cost)",
			func(c *Config) *int { return &c.RiskMerchantRuleMaxCost }),
		intSetting("risk_merchant_max_rules", "20", 1, 10000, "how many risk rules a merchant may write under /v1/risk/rules",
			func(c *Config) *int { return &c.RiskMerchantMaxRules }),
		levelSetting("log_level", "info", "log level: debug, info, warn or error",
			func(c *Config) *string { return &c.LogLevel }),
		scheduleSetting("dunning_schedule", "24h,72h,120h,168h",
			"delays before each retry of a subscription invoice whose charge failed; when they run out the subscription is canceled or unpaid",
			func(c *Config) *[]time.Duration { return &c.DunningSchedule }),
		durationSetting("invoice_claim", "2m", "how long a node holds an invoice it is charging; after a crash another node (or a restart) takes it over once this has passed",
			func(c *Config) *time.Duration { return &c.InvoiceClaim }),
		// The access layer's defences (internal/api/limits.go).
		stringSetting("rate_limits", "string", api.DefaultRates, "",
			"rate limits per app by route class (create, read, refund, admin) and per source IP (callback_ip, oauth_ip, cashier_ip), as CLASS=COUNT/PERIOD,…; a class not named keeps its default, unlimited lifts one; PUT /admin/v1/apps/{id}/rate-limits sets an app's own",
			func(c *Config) *string { return &c.RateLimits }, func(v string) error { _, err := api.ParseRates(v); return err }),
		secretSetting("redis_url", "none: each node limits on its own",
			"redis:// URL of a Redis the nodes share the rate limits through (while it cannot be reached, each node limits on its own)",
			func(c *Config) *string { return &c.RedisURL }, validateRedisURL),
		withDefaultDoc(intSetting("max_in_flight", "", 1, 1000000, "requests served at once on this node; more wait up to max_queue_time, then get 503 at once (channel callbacks and operator requests have a quarter more slots: they are shed last). Past a few per CPU, more only queue inside the process and lengthen every answer",
			func(c *Config) *int { return &c.MaxInFlight }), fmt.Sprintf("%d per CPU (GOMAXPROCS)", InFlightPerCPU)),
		durationSetting("max_queue_time", "25ms", "how long a request may wait for one of the max_in_flight slots before it gets 503 (what it waited is added to its answer's time). While the node is under pressure (within the last second a request found every slot taken), the wait counts from when the kernel received the request (Linux): one that waited this long in the accept queue, a socket buffer or for a goroutine is refused at once instead of being served late; channel callbacks and operator requests are not",
			func(c *Config) *time.Duration { return &c.MaxQueueTime }),
		offDurationSetting("shed_latency_target", "10ms", "when the 99th percentile of the time the process's goroutines wait for a CPU passes this while requests find every slot taken, the shedder admits a quarter fewer requests (down to 1), and one more each 100 ms once it is back under half; so that an overload waits as refusals, not in socket buffers before the shedder (off: the bound stays max_in_flight)",
			func(c *Config) *time.Duration { return &c.ShedLatencyTarget }),
		// Monitoring (monitoring.go).
		stringSetting("admin_addr", "address", "", DefaultAdminAddr+" with paygate serve (loopback only); off: none",
			"operator listener serving /metrics (Prometheus) and /debug/pprof/; never the public port",
			func(c *Config) *string { return &c.AdminAddr }, validateAdminAddr),
		stringSetting("log_format", "string", "json", "", "log format: json or text",
			func(c *Config) *string { return &c.LogFormat }, validateLogFormat),
		durationSetting("ledger_verify_interval", "1h", "how often one node verifies the ledger (paygate admin ledger verify) and exports the result as paygate_ledger_verify_* metrics",
			func(c *Config) *time.Duration { return &c.LedgerVerifyInterval }),
		intSetting("fx_markup_bps", "50", 1, 1000, "the platform's markup on exchange rates in FX quotes, basis points of the converted amount (its income)",
			func(c *Config) *int { return &c.FXMarkupBps }),
		stringSetting("fx_rates_url", "url", "", "none: rates come from the operator (admin API, paygate fx import)",
			"a URL serving exchange rates as CSV (base,quote,rate,as_of[,source]) that the gateway loads every fx_rates_interval",
			func(c *Config) *string { return &c.FXRatesURL }, validateRatesURL),
		durationSetting("fx_rates_interval", "1h", "how often the rates of fx_rates_url are loaded",
			func(c *Config) *time.Duration { return &c.FXRatesInterval }),
		durationSetting("profit_sharing_release_after", "4320h", "how long after its payment an order paid with profit sharing and never finished has the rest of its money released to the merchant (180 days)",
			func(c *Config) *time.Duration { return &c.ProfitSharingReleaseAfter }),
	}
}

func validateBillReady(v string) error {
	_, _, err := recon.ParseBillReady(v)
	return err
}

func validateRedisURL(v string) error {
	if v == "" {
		return nil
	}
	_, err := redis.ParseURL(v)
	return err
}

func validateRatesURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an absolute http(s) URL, such as https://rates.example.com/today.csv")
	}
	return nil
}

func validateRefundFeePolicy(v string) error {
	_, err := settlement.ParseRefundFeePolicy(v)
	if err != nil || v == "" {
		return fmt.Errorf("want keep or pro_rata")
	}
	return nil
}

// ParseClockTime reads a time of day written HH:MM (24-hour) as the time
// since midnight.
func ParseClockTime(v string) (time.Duration, error) {
	t, err := time.Parse("15:04", v)
	if err != nil || len(v) != 5 {
		return 0, fmt.Errorf("want a time of day HH:MM, such as 12:00 or 09:30")
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func validateClockTime(v string) error {
	_, err := ParseClockTime(v)
	return err
}

// SettingByKey returns the setting named key.
func SettingByKey(key string) (Setting, bool) {
	for _, s := range Settings() {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// setDefaults gives every setting that c leaves at its zero value its
// default: the one place defaults are applied, for the command line and for
// code that builds a Config by hand (tests, bench).
func (c *Config) setDefaults() {
	for _, s := range Settings() {
		if s.Default != "" && s.zero(c) {
			if err := s.parse(c, s.Default); err != nil {
				panic(fmt.Sprintf("gateway: default of %s does not parse: %v", s.Key, err)) // a test catches it
			}
		}
	}
}

// LogConfig logs c's effective configuration (secrets masked) with where
// each value came from (sources by key; a missing one is "default").
func LogConfig(log *slog.Logger, c *Config, sources map[string]Source) {
	attrs := make([]any, 0, len(Settings()))
	for _, s := range Settings() {
		src := sources[s.Key]
		if src == "" {
			src = SourceDefault
		}
		attrs = append(attrs, slog.Group(s.Key, "value", s.Value(c), "from", string(src)))
	}
	log.Info("configuration", attrs...)
}

// The kinds of setting, each with its parser.

func stringSetting(key, typ, def, defDoc, doc string, field func(*Config) *string, validate func(string) error) Setting {
	return Setting{Key: key, Type: typ, Default: def, DefaultDoc: defDoc, Doc: doc,
		parse: func(c *Config, v string) error {
			if err := validate(v); err != nil {
				return err
			}
			*field(c) = v
			return nil
		},
		show: func(c *Config) string { return *field(c) },
		zero: func(c *Config) bool { return *field(c) == "" },
	}
}

func secretSetting(key, defDoc, doc string, field func(*Config) *string, validate func(string) error) Setting {
	s := stringSetting(key, "secret", "", defDoc, doc, field, validate)
	s.Secret = true
	return s
}

func levelSetting(key, def, doc string, field func(*Config) *string) Setting {
	return stringSetting(key, "level", def, "", doc, field, func(v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			return nil
		}
		return fmt.Errorf("want debug, info, warn or error")
	})
}

// ParseBool accepts true, false, 1 and 0 (in any case): nothing else, so a
// "yes" or a typo is an error rather than a silent false.
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("want true or false (or 1 or 0)")
}

func boolSetting(key, doc string, field func(*Config) *bool) Setting {
	return Setting{Key: key, Type: "bool", Default: "false", Doc: doc,
		parse: func(c *Config, v string) error {
			b, err := ParseBool(v)
			if err != nil {
				return err
			}
			*field(c) = b
			return nil
		},
		show: func(c *Config) string { return strconv.FormatBool(*field(c)) },
		zero: func(c *Config) bool { return !*field(c) },
	}
}

func durationSetting(key, def, doc string, field func(*Config) *time.Duration) Setting {
	return Setting{Key: key, Type: "duration", Default: def, Doc: doc,
		parse: func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d <= 0 {
				return fmt.Errorf("want a positive duration such as 10s, 1m or 1h30m")
			}
			*field(c) = d
			return nil
		},
		show: func(c *Config) string { return shortDuration(*field(c)) },
		zero: func(c *Config) bool { return *field(c) == 0 },
	}
}

// withDefaultDoc is s with its default described by doc (a default that
// is computed, not written).
// offDurationSetting is a duration that "off" turns off (stored as -1).
func offDurationSetting(key, def, doc string, field func(*Config) *time.Duration) Setting {
	s := durationSetting(key, def, doc, field)
	parse := s.parse
	s.parse = func(c *Config, v string) error {
		if strings.TrimSpace(v) == "off" {
			*field(c) = -1
			return nil
		}
		return parse(c, v)
	}
	s.show = func(c *Config) string {
		if *field(c) < 0 {
			return "off"
		}
		return shortDuration(*field(c))
	}
	return s
}

func withDefaultDoc(s Setting, doc string) Setting {
	s.DefaultDoc = doc
	return s
}

func intSetting(key, def string, lo, hi int, doc string, field func(*Config) *int) Setting {
	return Setting{Key: key, Type: "int", Default: def, Doc: doc,
		parse: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("want a whole number from %d to %d", lo, hi)
			}
			*field(c) = n
			return nil
		},
		show: func(c *Config) string { return strconv.Itoa(*field(c)) },
		zero: func(c *Config) bool { return *field(c) == 0 },
	}
}

func scheduleSetting(key, def, doc string, field func(*Config) *[]time.Duration) Setting {
	return Setting{Key: key, Type: "durations", Default: def, Doc: doc,
		parse: func(c *Config, v string) error {
			ds, err := ParseSchedule(v)
			if err != nil {
				return err
			}
			*field(c) = ds
			return nil
		},
		show: func(c *Config) string {
			parts := make([]string, len(*field(c)))
			for i, d := range *field(c) {
				parts[i] = shortDuration(d)
			}
			return strings.Join(parts, ",")
		},
		zero: func(c *Config) bool { return len(*field(c)) == 0 },
	}
}

// shortDuration writes d as 15s, 3m or 6h rather than 3m0s or 6h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseSchedule parses a comma-separated list of positive durations ("15s,15s,30s,3m").
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not a positive duration (want e.g. 15s,30s,3m)", part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("want at least one duration (e.g. 15s,30s,3m)")
	}
	return out, nil
}

// validateAddr accepts host:port with a numeric port from 0 to 65535 (the
// host may be empty: every interface).
func validateAddr(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want host:port such as :8080 or 127.0.0.1:8080")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || port != strconv.Itoa(n) {
		return fmt.Errorf("the port must be a number from 0 to 65535 (host:port such as :8080)")
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("want host:port such as :8080 or 127.0.0.1:8080")
	}
	return nil
}

func validateDatabase(v string) error {
	switch {
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		if _, err := url.Parse(v); err != nil {
			return fmt.Errorf("not a URL: %v", err)
		}
		return nil
	case strings.HasPrefix(v, "sqlite:") && len(v) > len("sqlite:"):
		return nil
	}
	return fmt.Errorf("want sqlite:<path> or a postgres:// URL")
}

func validatePublicURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("want an absolute http(s) URL without query, such as https://pay.example.com")
	}
	return nil
}

func validateAdminToken(v string) error {
	if strings.TrimSpace(v) != v || v == "" {
		return fmt.Errorf("want a non-empty token without surrounding spaces")
	}
	return nil
}

func validateMasterKey(v string) error {
	if _, err := cryptobox.ParseKey(v); err != nil {
		return fmt.Errorf("want 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)")
	}
	return nil
}

func validateOldMasterKeys(v string) error {
	for _, k := range strings.Split(v, ",") {
		if _, err := cryptobox.ParseKey(k); err != nil {
			return fmt.Errorf("want master keys (32 bytes as 64 hex digits or base64) separated by commas")
		}
	}
	return nil
}

// redactURL hides the password of a URL's user info.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// MarkdownTable renders Settings as the README's Configuration table: one
// row per setting with its flag, variable, file key, default and doc.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| flag | environment variable | file key | default | what it does |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| `--%s` | `%s` | | none | %s |\n", ConfigFlag, ConfigEnv, "a YAML file of settings (keys as in this table)")
	for _, s := range Settings() {
		def := "`" + s.Default + "`"
		if s.DefaultDoc != "" {
			def = s.DefaultDoc
		} else if s.Default == "" {
			def = "none"
		}
		fmt.Fprintf(&b, "| `--%s` | `%s` | `%s` | %s | %s |\n", s.Flag(), s.Env(), s.Key, def, s.Doc)
	}
	return b.String()
}
