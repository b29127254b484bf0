package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store"
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
			cfg, _, err := c.load(cmd, "database", "master_key", "old_master_keys")
			if err != nil {
				return err
			}
			st, err := gateway.OpenStore(cmd.Context(), cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			box, err := gateway.OpenBox(cmd.Context(), cfg, st)
			if err != nil {
				return err
			}
			msg, err := gateway.RotatePlatformKey(cmd.Context(), st, box, time.Now())
			if err != nil {
				return fmt.Errorf("rotate platform key: %w", err)
			}
			fmt.Fprintln(c.stdout, msg)
			if err := api.AppendAudit(cmd.Context(), st, &store.AuditEvent{
				ActorType: "cli", ActorID: cliActor(), Action: "paygate keys rotate-platform",
				ObjectType: "platform_key", After: mustJSON(map[string]any{"result": msg}),
			}, time.Now()); err != nil {
				fmt.Fprintf(c.stderr, "audit: append failed (the rotation stands): %v\n", err)
			}
			return nil
		},
	}
	bindSettings(platform.Flags(), "database", "master_key", "old_master_keys")
	return group("keys", "Rotate the platform's keys and the master key", platform, c.rotateMasterCommand())
}

// rotateMasterCommand reseals every sealed value under a new master key.
func (c cli) rotateMasterCommand() *cobra.Command {
	var batch int
	cmd := &cobra.Command{
		Use:   "rotate-master",
		Short: "Seal every secret again under a new master key, while the gateway serves",
		Long: `Seal every value kept sealed with the master key (channel credentials, app and
key signing secrets, webhook secrets, the platform's private keys, operators'
TOTP secrets, kept Idempotency-Key answers, the derivation root) again under
a new master key, while the gateway serves. Give the new key as master_key and
the former one(s) as old_master_keys, to this command and, before it runs, to
every gateway node (restarted with both keys: they then open values under
either key and seal new ones under the new key).

Each value is resealed in its own transaction, only if its row still holds
the value read (a write made meanwhile is never lost). Stopped half-way, the
command resumes when run again. It ends by counting the values not sealed
under the new key: it exits 0 when there are none, and 1 with the columns
that still hold some otherwise (run it again once every node seals with the
new key). Then remove old_master_keys and restart the nodes. Request and card
fingerprints do not change: they are derived from a root kept in the
database, which is only resealed. The rotation is recorded in the audit log.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, _, err := c.load(cmd, "database", "master_key", "old_master_keys")
			if err != nil {
				return err
			}
			st, err := gateway.OpenStore(ctx, cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			box, err := gateway.OpenBox(ctx, cfg, st)
			if err != nil {
				return err
			}
			if cfg.OldMasterKeys == "" {
				fmt.Fprintln(c.stdout, "note: old_master_keys is not set; values under a former master key will not open")
			}
			rep, rerr := gateway.RotateMasterKey(ctx, st, box, gateway.RotateMasterOptions{BatchSize: batch})
			if rep == nil {
				return fmt.Errorf("rotate master key: %w", rerr)
			}
			fmt.Fprintf(c.stdout, "new master key %s; old keys %v\n", rep.KeyID, rep.OldKeys)
			for _, col := range rep.Columns {
				fmt.Fprintf(c.stdout, "%-42s resealed %6d  changed meanwhile %4d  failed %4d  left %d\n",
					col.Column, col.Resealed, col.Changed, col.Failed, col.Left)
				if col.FirstError != "" {
					fmt.Fprintf(c.stdout, "  first failure: %s\n", col.FirstError)
				}
			}
			if err := api.AppendAudit(ctx, st, &store.AuditEvent{
				ActorType: "cli", ActorID: cliActor(), Action: "paygate keys rotate-master",
				ObjectType: "master_key", ObjectID: rep.KeyID,
				Before: mustJSON(map[string]any{"key_ids": rep.OldKeys}),
				After:  mustJSON(map[string]any{"key_id": rep.KeyID, "resealed": rep.Resealed(), "left": rep.Left(), "complete": rerr == nil}),
			}, time.Now()); err != nil {
				fmt.Fprintf(c.stderr, "audit: append failed (the rotation stands): %v\n", err)
			}
			if rerr != nil {
				fmt.Fprintf(c.stdout, "rotate-master: INCOMPLETE: %v\n", rerr)
				return exitError{exitFailed}
			}
			fmt.Fprintf(c.stdout, "rotate-master: ok, %d values resealed, none left under another key; remove old_master_keys and restart the nodes\n", rep.Resealed())
			if path, ok := gateway.MasterKeyFile(cfg.Database); ok {
				replaced, err := gateway.ReplaceMasterKeyFile(path, cfg.MasterKey)
				if err != nil {
					return fmt.Errorf("the rotation is complete, but %s still holds the former key: %w", path, err)
				}
				if replaced {
					fmt.Fprintf(c.stdout, "%s now holds the new key: a node started without master_key reads it\n", path)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&batch, "batch", 200, "values listed and resealed per batch")
	bindSettings(cmd.Flags(), "database", "master_key", "old_master_keys")
	return cmd
}

// cliActor names who ran a command, for the audit log: the local user and host.
func cliActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// mustJSON marshals v, which cannot fail for the maps given here.
func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
