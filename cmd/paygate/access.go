package main

import (
	"fmt"

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
