package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store/sqlite"
	"github.com/paygate/paygate/internal/tracing"
)

func (c cli) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the gateway (creates a demo merchant on an empty database)",
		Long: `Start the gateway: the merchant API (/v1), the operator API (/admin/v1), the
hosted cashier (/pay/), the API reference (/docs) and the background workers.

Every setting is a flag, a PAYGATE_* environment variable and a key of the
YAML file named by --config; a flag beats the environment, which beats the
file, which beats the default. A bad value stops the start, naming it.

On an empty database it creates a demo merchant and prints its test keys
(after it has bound its address, so a start that cannot listen prints
nothing it would not print again). SIGINT or SIGTERM drains in-flight
requests and stops.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: c.serve,
	}
	bindSettings(cmd.Flags())
	return cmd
}

func (c cli) serve(cmd *cobra.Command, _ []string) error {
	cfg, sources, err := c.load(cmd)
	if err != nil {
		return err
	}
	tuneGC()
	log := gateway.NewLoggerFormat(cfg.LogLevel, cfg.LogFormat, c.stderr)
	cfg.Logger, cfg.Version = log, versionString()
	defaultAdmin := cfg.AdminAddr == ""
	if defaultAdmin {
		cfg.AdminAddr = gateway.DefaultAdminAddr
	}
	gateway.LogConfig(log, &cfg, sources)
	ctx := cmd.Context()
	stopTracing, err := tracing.Setup(ctx, cfg.Version)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer stopTracing(context.WithoutCancel(ctx))
	g, err := gateway.Open(ctx, cfg, c.stdout)
	if errors.Is(err, gateway.ErrAdminAddrInUse) && defaultAdmin {
		// Another gateway on this machine has the default operator port:
		// this one serves without one rather than not at all.
		log.Warn("operator listener not started: its default address is taken; set admin_addr", "admin_addr", cfg.AdminAddr)
		cfg.AdminAddr = "off"
		g, err = gateway.Open(ctx, cfg, c.stdout)
	}
	if err != nil {
		return err
	}
	public := g.Payments.PublicURL
	store := "PostgreSQL"
	if strings.HasPrefix(cfg.Database, "sqlite:") {
		store = sqlite.Driver
	}
	log.Info("listening", "addr", g.Addr(), "public_url", public, "store", store, "admin_addr", g.AdminAddr(),
		"metrics", g.Metrics != nil, "tracing", tracing.Enabled())
	fmt.Fprintf(c.stdout, "\npaygate listening on %s (public URL %s)\n", g.Addr(), public)
	fmt.Fprintf(c.stdout, "  API reference  %s/docs\n  home page      %s/\nstore: %s\n", public, public, store)
	if a := g.AdminAddr(); a != "" {
		fmt.Fprintf(c.stdout, "operator listener on %s: metrics http://%s/metrics, profiles http://%s/debug/pprof/\n", a, a, a)
	}
	fmt.Fprintf(c.stdout, "Stop with Ctrl-C (SIGINT) or SIGTERM.\n")
	stopping := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			why := "stopping"
			if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
				why = cause.Error()
			}
			fmt.Fprintf(c.stdout, "paygate: %s: draining in-flight requests (up to 30s) and stopping…\n", why)
			log.Info("shutting down", "reason", why)
		case <-stopping:
		}
	}()
	err = g.Serve(ctx)
	close(stopping)
	if err != nil {
		return err
	}
	log.Info("stopped")
	fmt.Fprintln(c.stdout, "paygate stopped cleanly. Goodbye.")
	return nil
}
