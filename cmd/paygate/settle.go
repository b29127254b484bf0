package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/settlement"
)

func (c cli) settleCommand() *cobra.Command {
	var day, merchantID string
	var takeOver bool
	run := &cobra.Command{
		Use:   "run --date YYYY-MM-DD",
		Short: "Settle merchants' days now, up to --date",
		Long: `Settle every merchant's days up to --date (a day in each merchant's time
zone), or one merchant's with --merchant: the days not settled yet, in order,
each under a lease so that one node settles it (as the gateway's settlement
job does on its schedule). Only transactions that reconciliation proved
settle; the rest wait. Batches that exist are not made again, so running a
day twice is harmless, and a run that died can be run again: it makes the
batches that are missing. The gateway may be running meanwhile.

A run that died (a process killed) keeps other runs off its days until its
lease runs out (10 minutes); --take-over takes them at once. Use it only
when you know no other node is settling.

Each batch made is printed; the exit status is 1 when a merchant could not
be settled.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if day == "" {
				return usagef("settle run: --date is required (YYYY-MM-DD)")
			}
			cfg, _, err := c.load(cmd, "database", "log_level", "fx_markup_bps")
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
			// Batches in other currencies convert at the day's rate, as the
			// gateway's settlement job converts them.
			svc := &settlement.Service{Store: st, Clock: clock.Real{}, Log: gateway.NewLogger(cfg.LogLevel, c.stderr), TakeOver: takeOver,
				FX: &fx.Service{Store: st, Clock: clock.Real{}, MarkupBps: cfg.FXMarkupBps}}
			rep, err := svc.Run(cmd.Context(), settlement.RunParams{Day: day, MerchantID: merchantID})
			if rep != nil {
				for _, s := range rep.Settlements {
					mode := "test"
					if s.Livemode {
						mode = "live"
					}
					fmt.Fprintf(c.stdout, "%s %s %s %s %s net %d %s (%d payments, %d refunds, %d waiting)\n", s.ID, s.MerchantID, mode,
						s.Currency, s.Day, s.Net, s.Status, s.PaymentCount, s.RefundCount, s.Waiting.Payments.Count+s.Waiting.Refunds.Count)
				}
				for m, why := range rep.Skipped {
					fmt.Fprintf(c.stdout, "skipped %s: %s\n", m, why)
				}
				fmt.Fprintf(c.stdout, "settle run: %d merchants, %d settlements made\n", rep.Merchants, len(rep.Settlements))
			}
			if err != nil {
				return fmt.Errorf("settle run: %w", err)
			}
			return nil
		},
	}
	run.Flags().StringVar(&day, "date", "", "the last merchant day to settle, YYYY-MM-DD")
	run.Flags().StringVar(&merchantID, "merchant", "", "settle only this merchant (mch_…)")
	run.Flags().BoolVar(&takeOver, "take-over", false, "take the leases of a run that died instead of waiting for them to run out")
	bindSettings(run.Flags(), "database", "log_level")
	return group("settle", "Settlement of merchants' days", run)
}
