package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store"
)

// operatorCommand manages the web console's operator users.
func (c cli) operatorCommand() *cobra.Command {
	var email, name, role string
	var passwordStdin bool
	add := &cobra.Command{
		Use:   "add",
		Short: "Add an operator user of the web console (/console)",
		Long: `Add an operator user of the web console (/console). With --password-stdin the
password (at least 12 characters) is read from the first line of standard
input; without it, an invitation link is printed, with which the operator
chooses a password (valid 72 hours).

  echo "$PASSWORD" | paygate operator add --email ops@example.com --password-stdin
  paygate operator add --email viewer@example.com --role viewer`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return usagef("--email is required")
			}
			cfg, _, err := c.load(cmd, "database", "public_url", "addr")
			if err != nil {
				return err
			}
			var password string
			if passwordStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read the password from standard input: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
				if password == "" {
					return usagef("--password-stdin: standard input is empty")
				}
			}
			st, err := gateway.OpenStore(cmd.Context(), cfg.Database)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			users := &console.Users{Store: st, Clock: clock.Real{}}
			u, token, err := users.Add(cmd.Context(), console.NewUser{Kind: store.ConsoleOperator, Email: email, Name: name,
				Role: role, Password: password})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "operator %s (%s, %s) added\n", u.Email, u.ID, u.Role)
			if token != "" {
				base := strings.TrimRight(cfg.PublicURL, "/")
				if base == "" {
					base = "http://" + cfg.Addr
				}
				fmt.Fprintf(c.stdout, "invitation link (valid 72 hours, shown once): %s/console/invite/%s\n", base, token)
			}
			return nil
		},
	}
	add.Flags().StringVar(&email, "email", "", "the operator's email (their sign-in name)")
	add.Flags().StringVar(&name, "name", "", "the operator's name")
	add.Flags().StringVar(&role, "role", "admin", "admin (may change things) or viewer (reads only)")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input instead of printing an invitation link")
	bindSettings(add.Flags(), "database", "public_url", "addr")
	return group("operator", "Manage the web console's operator users", add)
}
