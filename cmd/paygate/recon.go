package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/recon"
	"github.com/paygate/paygate/internal/store"
)

var reconSettings = []string{"database", "master_key", "old_master_keys", "public_url", "refund_fee_policy", "recon_bill_ready", "log_level"}

func (c cli) reconCommand() *cobra.Command {
	var day, account, billPath string
	var takeOver, quiet bool
	run := &cobra.Command{
		Use:   "run --date YYYY-MM-DD [--account cha_…] [--bill FILE]",
		Short: "Reconcile channel accounts' bills of a day now",
		Long: `Reconcile the channel's bill of --date (the channel's day, China Standard
Time) against the gateway's payments and refunds: for one channel account
(--account), or for every enabled account whose provider keeps bills. The
bill is downloaded by the account's connector, or read from --bill, a file
in the channel's own format (WeChat Pay's trade bill CSV, Alipay's zip,
UnionPay's zip), streamed from disk. A bad bill is refused before anything
is applied. Running a day again is harmless: it finds the same and posts
nothing twice; a run that died resumes where it stopped.

A run that died (a process killed) keeps other runs off its day until its
lease runs out (10 minutes); --take-over takes it at once. Use it only when
you know no other node is reconciling.

A progress line is written to stderr while lines are applied (--quiet: none),
and a summary table per run at the end. The exit status is 1 when a run
failed.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if day == "" {
				return usagef("recon run: --date is required (YYYY-MM-DD)")
			}
			if billPath != "" && account == "" {
				return usagef("recon run: --bill needs --account (the bill is one account's)")
			}
			cfg, _, err := c.load(cmd, reconSettings...)
			if err != nil {
				return err
			}
			svc, closeStore, err := gateway.OpenRecon(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeStore()
			svc.TakeOver = takeOver
			if !quiet {
				svc.Progress = func(r *store.ReconRun, done, total int) {
					fmt.Fprintf(c.stderr, "\r%s %s %s", r.ChannelAccountID, r.BillDate, progressBar(done, total))
				}
			}
			accounts := []string{account}
			if account == "" {
				if accounts, err = billedAccounts(cmd, svc.Store); err != nil {
					return err
				}
			}
			var runs []*store.ReconRun
			var failed error
			for _, a := range accounts {
				p := recon.RunParams{ChannelAccountID: a, Date: day, StartedBy: "cli"}
				if billPath != "" {
					f, err := os.Open(billPath)
					if err != nil {
						return fmt.Errorf("recon run: %w", err)
					}
					defer f.Close()
					fi, err := f.Stat()
					if err != nil {
						return fmt.Errorf("recon run: %w", err)
					}
					p.Bill = &recon.Upload{R: f, Size: fi.Size()}
				}
				r, err := svc.Run(cmd.Context(), p)
				if !quiet {
					fmt.Fprintln(c.stderr)
				}
				if err != nil {
					fmt.Fprintf(c.stdout, "%s %s: %v\n", a, day, err)
					failed = err
					continue
				}
				runs = append(runs, r)
			}
			if err := printRuns(cmd, c.stdout, svc.Store, runs); err != nil {
				return err
			}
			if failed != nil {
				return fmt.Errorf("recon run: %w", failed)
			}
			return nil
		},
	}
	run.Flags().StringVar(&day, "date", "", "the channel's day to reconcile, YYYY-MM-DD")
	run.Flags().StringVar(&account, "account", "", "reconcile only this channel account (cha_…)")
	run.Flags().StringVar(&billPath, "bill", "", "the bill file, in the channel's format (default: download it)")
	run.Flags().BoolVar(&takeOver, "take-over", false, "take the lease of a run that died instead of waiting for it to run out")
	run.Flags().BoolVar(&quiet, "quiet", false, "no progress line")
	bindSettings(run.Flags(), reconSettings...)

	var rday, raccount string
	report := &cobra.Command{
		Use:   "report [--date YYYY-MM-DD] [--account cha_…]",
		Short: "Show reconciliation runs with their counts and totals per class",
		Long: `Show the reconciliation runs of a day (or the latest 100), each with its
lines, counts and amounts per class and its open discrepancies, as a table.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, "database")
			if err != nil {
				return err
			}
			st, err := gateway.OpenStore(cmd.Context(), cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			if rday != "" {
				if _, err := recon.ParseDay(rday); err != nil {
					return usagef("recon report: --date: %v", err)
				}
			}
			runs, _, err := st.ReconRunList(cmd.Context(), store.ReconRunFilter{ChannelAccountID: raccount, BillDate: rday, ListParams: store.ListParams{Limit: 100}})
			if err != nil {
				return err
			}
			return printRuns(cmd, c.stdout, st, runs)
		},
	}
	report.Flags().StringVar(&rday, "date", "", "only runs of this day")
	report.Flags().StringVar(&raccount, "account", "", "only this channel account's runs")
	bindSettings(report.Flags(), "database")
	return group("recon", "Reconciliation of channel bills (对账)", run, report)
}

// billedAccounts lists the enabled channel accounts whose provider keeps bills.
func billedAccounts(cmd *cobra.Command, st store.Store) ([]string, error) {
	var out []string
	p := store.ListParams{Limit: 100}
	for {
		as, more, err := st.ChannelAccountList(cmd.Context(), "", p)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if !a.Disabled && a.Provider != "sandbox" {
				out = append(out, a.ID)
			}
		}
		if !more || len(as) == 0 {
			break
		}
		p.StartingAfter = as[len(as)-1].ID
	}
	if len(out) == 0 {
		return nil, errors.New("recon run: no enabled channel account keeps bills")
	}
	sort.Strings(out)
	return out, nil
}

// printRuns writes a summary table: one row per run and class that has
// lines, amounts in minor units.
func printRuns(cmd *cobra.Command, w io.Writer, st store.Store, runs []*store.ReconRun) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\taccount\tdate\tstatus\tclass\tcount\tamount\tfee\t")
	for _, r := range runs {
		open := 0
		sums, err := st.DiscrepancySummary(cmd.Context(), r.ID)
		if err != nil {
			return err
		}
		for _, s := range sums {
			if s.Status == store.DiscrepancyOpen {
				open += s.Count
			}
		}
		for _, class := range recon.Classes {
			t := r.Tallies[class]
			if t.Count == 0 && class != recon.Matched {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t\n", r.ID, r.ChannelAccountID, r.BillDate, r.Status, class, t.Count, t.Amount, t.Fee)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\t\t\n", r.ID, r.ChannelAccountID, r.BillDate, r.Status, "lines", r.Cursor)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\t\t\n", r.ID, r.ChannelAccountID, r.BillDate, r.Status, "repaired", r.Tallies[recon.TallyRepaired].Count)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\t\t\n", r.ID, r.ChannelAccountID, r.BillDate, r.Status, "open discrepancies", open)
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\terror: %s\t\t\t\t\n", r.ID, r.ChannelAccountID, r.BillDate, r.Status, strings.ReplaceAll(r.Error, "\t", " "))
		}
	}
	return tw.Flush()
}

// progressBar draws "[#####     ]  52% 520000/1000000 lines".
func progressBar(done, total int) string {
	const width = 30
	if total <= 0 {
		return fmt.Sprintf("%d lines", done)
	}
	n := min(width, done*width/total)
	return fmt.Sprintf("[%s%s] %3d%% %d/%d lines", strings.Repeat("#", n), strings.Repeat(" ", width-n), done*100/total, done, total)
}
