package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/store"
)

// The reconciliation pages are the operators': runs (one channel account's
// bill of one day), a run's tallies and discrepancies, resolving a
// discrepancy and starting a run. Every read and change goes through
// recon.Service, the code the operator API and `paygate recon` use.

// reconData is the runs page.
type reconData struct {
	Runs     []*store.ReconRun
	Accounts []*store.ChannelAccount
	// The filters as given.
	Account, Date, Status string
	Statuses              []string
	// Older pages on (newest first).
	Older string
	// Yesterday is the start form's default day (the channels' yesterday).
	Yesterday string
}

func (h *Handler) reconRuns(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Recon == nil {
		return errNotFound
	}
	ctx := r.Context()
	q := r.URL.Query()
	d := reconData{Account: q.Get("account"), Date: q.Get("date"), Status: q.Get("status"),
		Statuses: []string{store.ReconRunning, store.ReconCompleted, store.ReconFailed}}
	if d.Account != "" && !id.Valid(id.ChannelAccount, d.Account) {
		return errs.InvalidParam("account", "account must be a channel account id (cha_…).")
	}
	f := store.ReconRunFilter{ChannelAccountID: d.Account, BillDate: d.Date, Status: d.Status,
		ListParams: store.ListParams{Limit: pageSize, StartingAfter: q.Get("before")}}
	runs, more, err := h.cfg.Recon.List(ctx, f)
	if err != nil {
		return err
	}
	d.Runs = runs
	if more && len(runs) > 0 {
		v := url.Values{}
		for k, s := range map[string]string{"account": d.Account, "date": d.Date, "status": d.Status, "before": runs[len(runs)-1].ID} {
			if s != "" {
				v.Set(k, s)
			}
		}
		d.Older = "/console/recon?" + v.Encode()
	}
	if d.Accounts, _, err = h.cfg.Store.ChannelAccountList(ctx, "", store.ListParams{Limit: 100}); err != nil {
		return err
	}
	d.Yesterday = h.now().In(reconZone).AddDate(0, 0, -1).Format(recon.DayLayout)
	return h.page(w, r, "recon", "Reconciliation", d)
}

// reconZone is the channels' day, as recon.Service's default Location.
var reconZone = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// tallyRow is one class of a run's tallies.
type tallyRow struct {
	Class string
	store.ReconTally
}

// runData is a run's page.
type runData struct {
	Run           *store.ReconRun
	Tallies       []tallyRow
	Repaired      int
	Discrepancies []*store.Discrepancy
	Status, Class string
	Statuses      []string
	Classes       []string
	Actions       []string
	Older         string
}

func (h *Handler) reconRun(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Recon == nil {
		return errNotFound
	}
	ctx := r.Context()
	run, err := h.cfg.Recon.Get(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := runData{Run: run, Status: q.Get("status"), Class: q.Get("class"), Repaired: run.Tallies[recon.TallyRepaired].Count,
		Statuses: []string{store.DiscrepancyOpen, store.DiscrepancyRepaired, store.DiscrepancyResolved},
		Classes:  recon.Classes, Actions: []string{recon.WriteOff, recon.Adjust, recon.Explained}}
	for _, c := range recon.Classes {
		d.Tallies = append(d.Tallies, tallyRow{Class: c, ReconTally: run.Tallies[c]})
	}
	ds, more, err := h.cfg.Recon.Discrepancies(ctx, store.DiscrepancyFilter{RunID: run.ID, Status: d.Status, Class: d.Class,
		ListParams: store.ListParams{Limit: 100, StartingAfter: q.Get("before")}})
	if err != nil {
		return err
	}
	d.Discrepancies = ds
	if more && len(ds) > 0 {
		v := url.Values{"before": {ds[len(ds)-1].ID}}
		if d.Status != "" {
			v.Set("status", d.Status)
		}
		if d.Class != "" {
			v.Set("class", d.Class)
		}
		d.Older = "/console/recon/" + run.ID + "?" + v.Encode()
	}
	return h.page(w, r, "recon_run", "Reconciliation", d)
}

// startRecon reconciles a channel account's day now: the connector
// downloads the bill (recon.Service.Run, as `paygate recon run` does), and
// the page answers when the run is done. Providers without downloadable
// bills answer bill_not_supported. The run goes on if the browser leaves
// (a run stopped half-way would resume at the next try, but need not stop).
func (h *Handler) startRecon(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Recon == nil {
		return errNotFound
	}
	p := principalOf(r)
	run, err := h.cfg.Recon.Run(context.WithoutCancel(r.Context()), recon.RunParams{ChannelAccountID: strings.TrimSpace(r.PostFormValue("account")),
		Date: strings.TrimSpace(r.PostFormValue("date")), StartedBy: "console:" + p.User.Email})
	if err != nil {
		return err
	}
	h.cfg.Log.Info("console reconciliation", "user", p.User.ID, "run", run.ID, "status", run.Status)
	return back(w, r, "/console/recon/"+run.ID, "Reconciliation run.")
}

// resolveDiscrepancy closes an open discrepancy with an action and a note
// (recon.Service.Resolve, which books what the action books); the user's
// email is who resolved it.
func (h *Handler) resolveDiscrepancy(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Recon == nil {
		return errNotFound
	}
	p := principalOf(r)
	d, err := h.cfg.Recon.Resolve(r.Context(), r.PathValue("id"), recon.ResolveParams{Action: r.PostFormValue("action"),
		Note: r.PostFormValue("note"), By: p.User.Email})
	if err != nil {
		return err
	}
	return back(w, r, "/console/recon/"+d.RunID+"#"+d.ID, "Discrepancy resolved.")
}
