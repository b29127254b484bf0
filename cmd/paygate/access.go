package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/gateway"
)

// auditCommand checks the hash chain of the audit log.
func (c cli) auditCommand() *cobra.Command {
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain",
		Long: `Check the audit log: every record's hash covers it and the record before it,
so a record changed or deleted is found. Prints the head (the last record's
number and hash): keep it elsewhere, and a later verify showing an older head
reveals records deleted from the end. Exits 0 when the chain holds, 1 with a
report otherwise.`,
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
			rep, err := api.VerifyAudit(cmd.Context(), st)
			if err != nil {
				return fmt.Errorf("audit verify: %w", err)
			}
			fmt.Fprintf(c.stdout, "records: %d, head: %d %s\n", rep.Events, rep.HeadSeq, rep.HeadHash)
			for _, b := range rep.Broken {
				fmt.Fprintf(c.stdout, "broken: %s\n", b)
			}
			if len(rep.Broken) > 0 {
				fmt.Fprintln(c.stdout, "audit verify: FAILED")
				return exitError{exitFailed}
			}
			fmt.Fprintln(c.stdout, "audit verify: ok")
			return nil
		},
	}
	bindSettings(verify.Flags(), "database")
	return group("audit", "Check the audit log of operator and key changes", verify)
}

// keysCommand rotates the platform's keys.
func (c cli) keysCommand() *cobra.Command {
	platform := &cobra.Command{
		Use:   "rotate-platform",
		Short: "Take the next step of a platform signing key rotation",
		Long: `Rotate the platform's Ed25519 response-signing key in two steps, one per run.
The first run makes a new key and publishes it as "next" in GET /v1/platform-keys;
the second (once clients have fetched the list) makes it current, and the former
current key "retired" (still published). Running gateways switch within 10 seconds,
without a restart.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, "database", "master_key")
			if err != nil {
				return err
			}
			box, err := gateway.OpenBox(cfg)
			if err != nil {
				return err
			}
			st, err := gateway.OpenStore(cmd.Context(), cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			msg, err := gateway.RotatePlatformKey(cmd.Context(), st, box, time.Now())
			if err != nil {
				return fmt.Errorf("rotate platform key: %w", err)
			}
			fmt.Fprintln(c.stdout, msg)
			return nil
		},
	}
	bindSettings(platform.Flags(), "database", "master_key")
	return group("keys", "Rotate the platform's keys", platform)
}
