package recon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/store"
)

// JobInterval is how often the reconciliation job looks for days whose
// bills are due.
const JobInterval = 10 * time.Minute

// CatchUpDays is how many past days the job looks at, so that a day
// missed while the gateway was down (or whose bill came late) is still
// reconciled.
const CatchUpDays = 3

// Job is the reconciliation job for a jobs.Scheduler: every JobInterval it
// reconciles each enabled channel account's days whose bills are due
// (RunDue). Each account's day runs under a lease of its own.
func (s *Service) Job() jobs.Job {
	return jobs.Job{
		Name:  "reconciliation",
		Next:  jobs.Every(JobInterval),
		Lease: time.Hour,
		Run: func(ctx context.Context, now time.Time) error {
			_, err := s.RunDue(ctx, now)
			return err
		},
	}
}

// RunDue reconciles, for every enabled channel account whose provider
// keeps bills, each of the last CatchUpDays days whose bill is available
// (the day's end plus BillReady for the provider) and that has no
// completed run. It returns the runs it completed. Accounts without bills
// (the sandbox) and days another node holds are skipped; one account's
// failure is logged and does not stop the others.
func (s *Service) RunDue(ctx context.Context, now time.Time) ([]*store.ReconRun, error) {
	var done []*store.ReconRun
	var failed error
	p := store.ListParams{Limit: 100}
	for {
		accts, more, err := s.Store.ChannelAccountList(ctx, "", p)
		if err != nil {
			return done, err
		}
		for _, a := range accts {
			if a.Disabled || a.Provider == "sandbox" {
				continue
			}
			today := now.In(s.loc())
			for back := CatchUpDays; back >= 1; back-- {
				d := time.Date(today.Year(), today.Month(), today.Day()-back, 0, 0, 0, 0, time.UTC)
				_, end := s.window(d)
				if now.Before(end.Add(s.billReady(a.Provider))) {
					continue
				}
				if end.Before(a.CreatedAt) {
					continue // the account did not exist that day
				}
				day := d.Format(DayLayout)
				if r, err := s.Store.ReconRunByDay(ctx, a.ID, day); err == nil && r.Status == store.ReconCompleted {
					continue
				}
				run, err := s.Run(ctx, RunParams{ChannelAccountID: a.ID, Date: day, StartedBy: "job"})
				switch {
				case err == nil:
					done = append(done, run)
				case errors.Is(err, ErrRunInProgress), errors.Is(err, ErrNoBills):
				default:
					s.log().Error("reconciliation job: run failed", "channel_account", a.ID, "date", day, "err", err)
					failed = err
				}
			}
		}
		if !more || len(accts) == 0 {
			break
		}
		p.StartingAfter = accts[len(accts)-1].ID
	}
	return done, failed
}

// ParseBillReady reads the recon_bill_ready setting: a time of day
// (HH:MM, in the channels' time zone, on the day after the bill's day)
// for every provider, or provider=HH:MM pairs separated by commas, with an
// optional bare HH:MM as the default for the others. It returns the
// default and the per-provider times as offsets from the end of the day.
func ParseBillReady(s string) (time.Duration, map[string]time.Duration, error) {
	def := DefaultBillReady
	per := map[string]time.Duration{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, at, ok := strings.Cut(part, "=")
		if !ok {
			at, name = name, ""
		}
		t, err := time.Parse("15:04", strings.TrimSpace(at))
		if err != nil {
			return 0, nil, fmt.Errorf("%q: want HH:MM or provider=HH:MM", part)
		}
		d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		if name == "" {
			def = d
		} else {
			per[strings.TrimSpace(name)] = d
		}
	}
	return def, per, nil
}
