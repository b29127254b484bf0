package risk

// BenchmarkRules are 20 rules of the kinds an operator turns on (limits,
// daily totals, velocity on every key, lists, location, night-time
// amounts, failures in a row, metadata and user-agent checks), ten of them
// on counters, with thresholds a load test's orders stay under. The Go
// benchmark of evaluation and `paygate bench --risk-rules` use them.
var BenchmarkRules = []struct{ Name, Expression string }{
	{"card_over_50k", "order.amount > 5000000 && order.method == 'card'"},
	{"over_200k", "order.amount > 20000000"},
	{"merchant_daily", "kind == 'payment' && counters.merchant_amount_today + order.amount > 1000000000000"},
	{"payer_daily", "kind == 'payment' && payer.id != '' && counters.payer_amount_24h + order.amount > 50000000"},
	{"payer_burst", "payer.id != '' && counters.payer_count_10m >= 20"},
	{"ip_burst", "payer.ip != '' && counters.ip_count_10m >= 50"},
	{"ip_hourly", "payer.ip != '' && counters.ip_count_1h >= 200"},
	{"device_hourly", "payer.device_id != '' && counters.device_count_1h >= 30"},
	{"card_daily", "payer.card_fingerprint != '' && counters.card_count_24h >= 10"},
	{"blocked_payer", "in_list('blocked_payers', payer.id)"},
	{"blocked_ip", "in_list('blocked_ips', payer.ip)"},
	{"blocked_device", "in_list('blocked_devices', payer.device_id)"},
	{"card_abroad", "payer.ip_country != '' && payer.card_country != '' && payer.ip_country != payer.card_country"},
	{"night_large", "(local.hour >= 1 && local.hour < 5) && order.amount >= 2000000"},
	{"many_failures", "payer.id != '' && counters.payer_failures_in_row >= 5"},
	{"many_ips", "counters.payer_distinct_ips_24h > 10"},
	{"many_countries", "counters.payer_distinct_countries_24h > 3"},
	{"promo_abuse", "order.metadata.exists(k, k == 'promo' && order.metadata[k] == 'abuse')"},
	{"scripted_client", "payer.user_agent.contains('curl/')"},
	{"foreign_large", "order.currency != 'CNY' && order.amount > 1000000"},
}
