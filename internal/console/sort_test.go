package console_test

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

var (
	orderRowRE = regexp.MustCompile(`<tr><td><a href="/console/orders/(ord_[a-z0-9]+)">`)
	olderRE    = regexp.MustCompile(`href="([^"]+)" id="older"`)
	newerRE    = regexp.MustCompile(`href="([^"]+)" id="newer"`)
)

// TestConsoleSortedPaging: the orders list in each sort order, walked page
// by page forward and back again, holds every order once in that order
// (ties of amount broken by id), and the export follows the same order.
func TestConsoleSortedPaging(t *testing.T) {
	defer console.SetPageSize(3)()
	defer console.SetExportChunk(2)()
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		addUser(t, g, store.ConsoleMerchant, g.Demo.App.MerchantID, "shop@example.com", store.RoleViewer)
		type row struct {
			id     string
			amount int64
		}
		var rows []row
		for i, amount := range []int64{500, 120, 500, 900, 120, 300, 500, 75, 900, 260} {
			o := paidOrder(t, g, fmt.Sprintf("sort-%02d", i), amount)
			rows = append(rows, row{o.ID, o.Amount})
		}
		want := map[string]func(a, b row) int{
			"newest":      func(a, b row) int { return -cmp.Compare(a.id, b.id) },
			"oldest":      func(a, b row) int { return cmp.Compare(a.id, b.id) },
			"amount_desc": func(a, b row) int { return -cmp.Or(cmp.Compare(a.amount, b.amount), cmp.Compare(a.id, b.id)) },
			"amount_asc":  func(a, b row) int { return cmp.Or(cmp.Compare(a.amount, b.amount), cmp.Compare(a.id, b.id)) },
		}
		shop := newUser(t, g.URL())
		shop.login("shop@example.com")
		for sort, less := range want {
			exp := slices.Clone(rows)
			slices.SortFunc(exp, less)
			var ids []string
			for _, r := range exp {
				ids = append(ids, r.id)
			}
			// Forward, following "next page".
			var got []string
			var pages []string
			link := "/console/orders?sort=" + sort
			for n := 0; link != "" && n < 10; n++ {
				r := shop.get(link)
				if r.status != http.StatusOK {
					t.Fatalf("%s: %d %s", link, r.status, errorText(r.body))
				}
				pages = append(pages, link)
				for _, m := range orderRowRE.FindAllStringSubmatch(r.body, -1) {
					got = append(got, m[1])
				}
				link = ""
				if m := olderRE.FindStringSubmatch(r.body); m != nil {
					link = html.UnescapeString(m[1])
				}
			}
			if !slices.Equal(got, ids) {
				t.Errorf("sort %s, paging forward: %v, want %v", sort, got, ids)
			}
			// Back from the last page, following "previous page".
			r := shop.get(pages[len(pages)-1])
			var back [][]string
			for n := 0; n < 10; n++ {
				var page []string
				for _, m := range orderRowRE.FindAllStringSubmatch(r.body, -1) {
					page = append(page, m[1])
				}
				back = append([][]string{page}, back...)
				m := newerRE.FindStringSubmatch(r.body)
				if m == nil {
					break
				}
				r = shop.get(html.UnescapeString(m[1]))
			}
			if flat := slices.Concat(back...); !slices.Equal(flat, ids) {
				t.Errorf("sort %s, paging back: %v, want %v", sort, back, ids)
			}
			// The export link of the page has the sort.
			r = shop.get("/console/orders.csv?sort=" + sort)
			recs, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
			if err != nil || len(recs) == 0 {
				t.Fatalf("export: %v", err)
			}
			var exported []string
			for _, rec := range recs[1:] {
				exported = append(exported, rec[0])
			}
			if !slices.Equal(exported, ids) {
				t.Errorf("sort %s, export: %v, want %v", sort, exported, ids)
			}
		}
		for _, q := range []string{"sort=cheapest", "sort=amount_desc&before=ord_x", "sort=amount_asc&after=x.ord_1", "before=1.ord_x"} {
			if r := shop.get("/console/orders?" + q); r.status != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", q, r.status)
			}
		}
		// Refunds sort the same way.
		o := paidOrder(t, g, "sort-refunds", 1000)
		var byAmount []string
		for i, amount := range []int64{30, 10, 20} {
			rf, _, err := g.Payments.CreateRefund(context.Background(), payment.Scope{MerchantID: o.MerchantID, AppID: o.AppID},
				payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("sort-r%d", i), Amount: amount})
			if err != nil {
				t.Fatal(err)
			}
			byAmount = append(byAmount, fmt.Sprintf("%d:%s", amount, rf.ID))
		}
		slices.Sort(byAmount) // 10, 20, 30 (one digit count)
		r := shop.get("/console/refunds?sort=amount_asc")
		var refunds []string
		for _, m := range regexp.MustCompile(`<tr><td>(rfd_[a-z0-9]+)</td>`).FindAllStringSubmatch(r.body, -1) {
			refunds = append(refunds, m[1])
		}
		var wantRefunds []string
		for _, x := range byAmount {
			wantRefunds = append(wantRefunds, strings.SplitN(x, ":", 2)[1])
		}
		if r.status != http.StatusOK || !slices.Equal(refunds, wantRefunds) {
			t.Errorf("refunds sorted by amount: %d %v, want %v", r.status, refunds, wantRefunds)
		}
	})
}
