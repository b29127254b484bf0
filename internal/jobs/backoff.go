package jobs

import "time"

// queryBackoff is the schedule of QueryBackoff: the delays after the
// first, second, … fruitless try.
var queryBackoff = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// QueryBackoff is how long after its attempts-th fruitless try a worker asks
// a channel about an outcome it does not know yet (a transfer, a profit
// sharing) again: a minute, then 2, 5, 10, 30 minutes, then every hour.
func QueryBackoff(attempts int) time.Duration {
	if attempts >= 0 && attempts < len(queryBackoff) {
		return queryBackoff[attempts]
	}
	return time.Hour
}
