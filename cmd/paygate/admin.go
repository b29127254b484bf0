package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/gateway"
)

func (c cli) migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date (serve does this too)",
		Args:  usageArgs(cobra.NoArgs),
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
			fmt.Fprintln(c.stdout, "schema is up to date")
			return nil
		},
	}
	bindSettings(cmd.Flags(), "database")
	return cmd
}

func (c cli) ledgerCommand() *cobra.Command {
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check that every journal entry balances and every balance equals its entries",
		Long: `Check the ledger: every journal entry balances per currency, every balance
equals the sum of its entries, every payment and refund has its entry, and
every settlement agrees with its lines and its entries.
Exits 0 when all holds, 1 with a report otherwise.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: c.ledgerVerify,
	}
	bindSettings(verify.Flags(), "database")
	return group("ledger", "Check the double-entry ledger", verify)
}

func (c cli) ledgerVerify(cmd *cobra.Command, _ []string) error {
	cfg, _, err := c.load(cmd, "database")
	if err != nil {
		return err
	}
	st, err := gateway.OpenStore(cmd.Context(), cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.LedgerVerify(cmd.Context())
	if err != nil {
		return fmt.Errorf("ledger verify: %w", err)
	}
	fmt.Fprintf(c.stdout, "entries: %d, lines: %d\n", rep.Entries, rep.Lines)
	for _, group := range []struct {
		name  string
		items []string
	}{{"unbalanced entries", rep.UnbalancedEntries}, {"balance mismatches", rep.BalanceMismatches}, {"missing or stray entries", rep.MissingEntries},
		{"settlement mismatches", rep.SettlementMismatches}} {
		for _, s := range group.items {
			fmt.Fprintf(c.stdout, "%s: %s\n", group.name, s)
		}
	}
	if !rep.Clean() {
		fmt.Fprintln(c.stdout, "ledger verify: FAILED")
		return exitError{exitFailed}
	}
	fmt.Fprintln(c.stdout, "ledger verify: ok")
	return nil
}

func (c cli) demoCommand() *cobra.Command {
	var revoke bool
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Issue a new secret key for the demo app and show its keys",
		Long: `Show the demo app's keys again. Secret keys are kept only as hashes, so the
one printed at the first start cannot be shown again: this issues a new
secret key (the earlier ones stay valid unless --revoke-others). The signing
secret and the webhook secret are sealed with the master key, and are shown
as they are. The gateway may be running meanwhile.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, "database", "master_key", "old_master_keys", "addr", "public_url")
			if err != nil {
				return err
			}
			k, err := gateway.ReissueDemoKeys(cmd.Context(), cfg, revoke)
			if err != nil {
				return err
			}
			k.Print(c.stdout, demoBaseURL(cfg), false)
			if len(k.Revoked) > 0 {
				fmt.Fprintf(c.stdout, "Revoked the earlier secret keys: %v\n", k.Revoked)
			} else {
				fmt.Fprintln(c.stdout, "Earlier secret keys still work; --revoke-others revokes them.")
			}
			return nil
		},
	}
	keys.Flags().BoolVar(&revoke, "revoke-others", false, "revoke the demo app's earlier secret keys")
	bindSettings(keys.Flags(), "database", "master_key", "old_master_keys", "addr", "public_url")
	return group("demo", "The demo merchant's test app", keys)
}

// demoBaseURL is where the gateway of cfg is reached, for the printed example.
func demoBaseURL(cfg gateway.Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	_, port, _ := net.SplitHostPort(cfg.Addr)
	return "http://localhost:" + port
}
