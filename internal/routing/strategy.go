package routing

import "slices"

// order sorts the eligible candidates (given in route order) into the order
// to try them, by strategy. An unknown strategy is priority.
func (r *Router) order(strategy string, elig []eligible) {
	if len(elig) < 2 {
		return
	}
	switch strategy {
	case StrategyWeighted:
		r.orderWeighted(elig)
	case StrategyLowestCost:
		// Stable: equal fees keep route order.
		slices.SortStableFunc(elig, func(a, b eligible) int { return a.fee - b.fee })
	case StrategySuccessRate:
		r.orderSuccessRate(elig)
	}
}

// weight is a candidate's weight; a non-positive (unset) weight counts as 1.
func weight(e eligible) int {
	if e.cand.Weight > 0 {
		return e.cand.Weight
	}
	return 1
}

// orderWeighted draws an order by weight without replacement: the first
// candidate with probability proportional to its weight, then the next among
// those left, and so on.
func (r *Router) orderWeighted(elig []eligible) {
	for i := 0; i < len(elig)-1; i++ {
		total := 0
		for _, e := range elig[i:] {
			total += weight(e)
		}
		x := r.float64() * float64(total)
		pick := len(elig) - 1
		for j := i; j < len(elig); j++ {
			x -= float64(weight(elig[j]))
			if x < 0 {
				pick = j
				break
			}
		}
		// Move the pick to position i, keeping the rest in route order.
		e := elig[pick]
		copy(elig[i+1:pick+1], elig[i:pick])
		elig[i] = e
	}
}

// orderSuccessRate sorts by recent success rate, highest first (accounts
// with fewer than MinSamples outcomes count as 1.0, so new or quiet accounts
// get traffic), ties in route order. With probability Explore it then puts
// a candidate drawn uniformly from the others first, so that the rates of
// accounts that are not first keep being measured.
func (r *Router) orderSuccessRate(elig []eligible) {
	slices.SortStableFunc(elig, func(a, b eligible) int {
		switch {
		case a.rate > b.rate:
			return -1
		case a.rate < b.rate:
			return 1
		}
		return 0
	})
	if p := r.explore(); p > 0 && r.float64() < p {
		pick := 1 + r.intN(len(elig)-1)
		e := elig[pick]
		copy(elig[1:pick+1], elig[:pick])
		elig[0] = e
	}
}
