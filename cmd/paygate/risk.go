package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/store"
)

// riskCommand groups risk control's imports: the country tables of IP
// addresses and card BINs, which can be larger than an API request body.
func (c cli) riskCommand() *cobra.Command {
	ip := &cobra.Command{
		Use:   "import-ip-countries FILE",
		Short: "Replace the IP-to-country table risk rules read (payer.ip_country)",
		Long: `Replace the IP-to-country table with a CSV file: "CIDR,CC" or
"FIRST_IP,LAST_IP,CC" per line (IPv4 or IPv6; lines starting with # and a
header line are skipped; ranges may not overlap). None is shipped: export one
from the geolocation database you license. FILE "-" reads standard input.
Running gateways use the new table within a second.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.importRanges(cmd, args[0], store.RiskRangesIP, risk.ParseIPCountries)
		},
	}
	bin := &cobra.Command{
		Use:   "import-bin-countries FILE",
		Short: "Replace the card-BIN-to-country table risk rules read (payer.card_country)",
		Long: `Replace the card-BIN-to-country table with a CSV file: "BIN,CC" or
"FIRST_BIN,LAST_BIN,CC" per line with six-digit BINs (lines starting with #
and a header line are skipped). None is shipped. FILE "-" reads standard
input. Running gateways use the new table within a second.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.importRanges(cmd, args[0], store.RiskRangesBIN, risk.ParseBINCountries)
		},
	}
	bindSettings(ip.Flags(), "database")
	bindSettings(bin.Flags(), "database")
	return group("risk", "Import risk control's country tables", ip, bin)
}

func (c cli) importRanges(cmd *cobra.Command, file, kind string, parse func(io.Reader) ([]store.RiskRange, error)) error {
	cfg, _, err := c.load(cmd, "database")
	if err != nil {
		return err
	}
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	rs, err := parse(r)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	st, err := gateway.OpenStore(cmd.Context(), cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(cmd.Context()); err != nil {
		return err
	}
	s := &risk.Service{Store: st, Clock: clock.Real{}}
	if err := s.ImportRanges(cmd.Context(), kind, rs); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "imported %d ranges into the %s country table\n", len(rs), kind)
	return nil
}
