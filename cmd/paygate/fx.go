package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/gateway"
)

// fxCommand groups the operator's exchange-rate tools.
func (c cli) fxCommand() *cobra.Command {
	var source string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Load exchange rates from a CSV file",
		Long: `Load exchange rates from a CSV file whose header names the columns base,
quote, rate (a decimal: units of quote for one unit of base), as_of (RFC 3339)
and optionally source (else --source). Every rate keeps its time and source;
a rate of the same pair, time and source is loaded once, so importing a file
again is harmless. Quotes use the latest rate of a pair (or its reverse) as
of their time. FILE "-" reads standard input.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := c.load(cmd, "database")
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			st, err := gateway.OpenStore(cmd.Context(), cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			s := &fx.Service{Store: st, Clock: clock.Real{}}
			n, err := s.Refresh(cmd.Context(), fx.CSVProvider{R: r, Source: source})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintf(c.stdout, "imported %d new rates\n", n)
			return nil
		},
	}
	imp.Flags().StringVar(&source, "source", "operator", "the source of rates whose row names none")
	bindSettings(imp.Flags(), "database")
	return group("fx", "Exchange rates", imp)
}
