package sqlstore

import (
	"context"
	"slices"
	"strings"

	"github.com/paygate/paygate/internal/store"
)

// Page sizes of lists.
const (
	defaultPageLimit = 20
	maxPageLimit     = 100
)

// pageLimit applies the default and the cap to a requested page size.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return defaultPageLimit
	case n > maxPageLimit:
		return maxPageLimit
	}
	return n
}

// filter is the WHERE clause of a query, built up one condition at a time.
type filter struct {
	conds []string
	args  []any
}

// and adds a condition with its arguments.
func (f *filter) and(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

// where renders the clause, or "" when there is no condition.
func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}

// listPage runs selectFrom ("SELECT … FROM table") with f and Stripe-style
// pagination over the id column, whose order is creation order: newest
// first; StartingAfter returns objects older than the cursor, EndingBefore
// objects newer than it (when both are given, both bounds apply and the page
// is the one nearest EndingBefore). It fetches one row beyond the page to
// tell whether there are more.
func listPage[T any](ctx context.Context, c conn, selectFrom string, f filter, p store.ListParams, scan func(rowScanner) (T, error)) ([]T, bool, error) {
	limit := pageLimit(p.Limit)
	if p.CreatedGTE != nil {
		f.and("created_at >= ?", micros(*p.CreatedGTE))
	}
	if p.CreatedLT != nil {
		f.and("created_at < ?", micros(*p.CreatedLT))
	}
	if p.StartingAfter != "" {
		f.and("id < ?", p.StartingAfter)
	}
	order := "DESC"
	if p.EndingBefore != "" {
		// Walk forward from the cursor so the page is the objects just newer
		// than it, then reverse them into newest-first order.
		f.and("id > ?", p.EndingBefore)
		order = "ASC"
	}
	items, err := queryAll(ctx, c, scan, selectFrom+f.where()+" ORDER BY id "+order+" LIMIT ?", append(f.args, limit+1)...)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if order == "ASC" {
		slices.Reverse(items)
	}
	return items, more, nil
}
