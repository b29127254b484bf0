package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCommand asks the gateway on this machine for /healthz: the
// container image's HEALTHCHECK, which has no shell or curl to do it.
func (c cli) healthcheckCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the gateway on this machine answers /healthz (for container health checks)",
		Long: `Ask the gateway listening at the port of the addr setting on 127.0.0.1 for
GET /healthz, and exit 0 when it answers 200, 1 otherwise. It reads addr
as serve does (flag, PAYGATE_ADDR, config file), so it finds the gateway
of the same configuration.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.load(cmd, "addr")
			if err != nil {
				return err
			}
			_, port, _ := net.SplitHostPort(cfg.Addr)
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			url := "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck: %w", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck: GET %s answered %s", url, res.Status)
			}
			fmt.Fprintln(c.stdout, "ok")
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	bindSettings(cmd.Flags(), "addr")
	return cmd
}
