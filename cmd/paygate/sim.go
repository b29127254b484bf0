package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/sim"
	"github.com/paygate/paygate/internal/sim/simulators"
)

func (c cli) simCommand() *cobra.Command {
	var o simOptions
	cmd := &cobra.Command{
		Use:       "sim " + strings.Join(simulators.Providers, "|"),
		Short:     "Run a channel simulator that speaks a provider's protocol",
		ValidArgs: simulators.Providers,
		Long: `Run one channel simulator (WeChat Pay v3, Alipay or UnionPay ACP) on its own:
signatures, encryption, trade states, notifications with the provider's
retry schedule, bills and documented errors. It prints the channel account
to create for it on the gateway.

Its control API:
  POST   /_sim/trades/{out_trade_no}/pay    the payer pays
  POST   /_sim/trades/{out_trade_no}/fail   the payer's payment fails
  POST   /_sim/fault {"fault":"5xx","count":3}   the next calls misbehave (count 0: until cleared)
  DELETE /_sim/fault
  GET    /_sim/account                      the channel account settings

{out_trade_no} is the gateway's order id (ord_…): the gateway sends it to the
channel as the merchant order number. Faults: ` + faultNames() + `.

The flags are options of this run, not settings: they have no environment
variables.`,
		Args: usageArgs(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		RunE: func(cmd *cobra.Command, args []string) error { return c.simulate(cmd.Context(), args[0], o) },
	}
	cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:9101", "listen address")
	cmd.Flags().Float64Var(&o.scale, "retry-scale", 1, "multiplies the provider's notification retry schedule (0.01: a hundred times faster)")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

type simOptions struct {
	addr, logLevel string
	scale          float64
}

// simulate runs a channel simulator until ctx ends, and prints the channel
// account to create for it.
func (c cli) simulate(ctx context.Context, provider string, o simOptions) error {
	if o.scale <= 0 {
		return usagef("--retry-scale must be positive")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	s, err := simulators.New(provider, sim.Options{RetryScale: o.scale,
		Logger: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	base := "http://" + l.Addr().String()
	acct := s.Account(base)
	if len(acct.Methods) == 0 {
		acct.Methods = gateway.Providers()[provider].Methods
	}
	create := map[string]any{
		"provider": provider, "name": provider + " simulator", "livemode": false, "base_url": acct.BaseURL,
		"config": acct.Config, "secrets": acct.Secrets, "methods": acct.Methods, "fee_bps": 60,
	}
	body, _ := json.MarshalIndent(create, "", "  ")
	fmt.Fprintf(c.stdout, `%s simulator on %s

Create its channel account on the gateway:

  curl -s localhost:8080/admin/v1/channel-accounts -H "Authorization: Bearer $PAYGATE_ADMIN_TOKEN" --json '%s'

Then test orders of its methods go through it. The payer pays an order's trade with

  curl -X POST %s/_sim/trades/<order id>/pay

where <order id> is the gateway's order id (ord_…), the out_trade_no the gateway sent
to the channel. Make it misbehave with

  curl -X POST %s/_sim/fault --json '{"fault":"5xx","count":3}'

(faults: %s; DELETE /_sim/fault clears).
`, provider, base, strings.ReplaceAll(string(body), "'", `'\''`), base, base, faultNames())
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintf(c.stdout, "%s simulator stopped. Goodbye.\n", provider)
	return nil
}

func faultNames() string {
	names := make([]string, len(sim.KnownFaults))
	for i, f := range sim.KnownFaults {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
