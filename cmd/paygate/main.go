// Command paygate is the Paygate payment gateway: one binary that serves the
// API (serve), migrates the database (migrate), checks the ledger (ledger
// verify), shows the demo app's keys (demo keys), loads a gateway (bench),
// plays a channel (sim) and settles merchants' days (settle run).
// `paygate <command> --help` describes each; README.md has the
// configuration table.
//
// Exit codes: 0 done, 1 the command failed, 2 it was called wrongly (an
// unknown command or flag, a bad setting).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	_ "time/tzdata" // merchant time zones work on machines without zoneinfo

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/paygate/paygate/internal/gateway"
)

func main() {
	ctx, stop := signalContext()
	defer stop()
	os.Exit(run(ctx, os.Args[1:], cli{stdout: os.Stdout, stderr: os.Stderr, env: os.LookupEnv}))
}

// signalContext ends on SIGINT or SIGTERM, with the signal as its cause.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		if sig, ok := <-ch; ok {
			name := "SIGTERM"
			if sig == os.Interrupt {
				name = "SIGINT"
			}
			cancel(fmt.Errorf("%s received", name))
			signal.Stop(ch) // a second signal kills the process as usual
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// cli is what the commands write to and read the environment from; tests
// run the commands in-process with their own.
type cli struct {
	stdin          io.Reader // nil: os.Stdin
	stdout, stderr io.Writer
	env            func(string) (string, bool)
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError is a command called wrongly: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError ends a command with a code and no further message (the command
// has said why).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, c cli) int {
	root := c.root()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "paygate: %v\nRun 'paygate --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "paygate: %v\n", err)
	return exitFailed
}

// root builds the command tree.
func (c cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "paygate",
		Short: "Paygate, an open-source payment gateway",
		Long: `Paygate is an open-source payment gateway: one signed HTTP API for orders, refunds
and webhooks over WeChat Pay, Alipay, UnionPay, cards and a sandbox, with a
double-entry ledger. It runs on SQLite out of the box and on PostgreSQL.

Start it with 'paygate serve'; the README has a payment in a minute.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noUnknownSubcommand,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	if c.stdin != nil {
		root.SetIn(c.stdin)
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(c.serveCommand(), c.migrateCommand(), c.ledgerCommand(), c.demoCommand(),
		c.benchCommand(), c.simCommand(), c.healthcheckCommand(), c.versionCommand(), c.settleCommand(), c.reconCommand(),
		c.riskCommand(), c.auditCommand(), c.fxCommand(), c.operatorCommand())
	return root
}

// noUnknownSubcommand refuses arguments to a command that only groups
// others, naming the command it did not find.
func noUnknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usagef("%s", msg)
}

// group is a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Args: noUnknownSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	g.AddCommand(subs...)
	return g
}

// usageArgs wraps an argument check so that its failure exits 2.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// bindSettings adds the flags of the settings named by keys (every setting
// when none) and --config to fs.
func bindSettings(fs *pflag.FlagSet, keys ...string) {
	fs.SortFlags = false
	fs.String(gateway.ConfigFlag, "", "read settings from this YAML file ("+gateway.ConfigEnv+"); flags and environment override it")
	for _, s := range gateway.Settings() {
		if len(keys) > 0 && !slices.Contains(keys, s.Key) {
			continue
		}
		def := s.Default
		if s.DefaultDoc != "" {
			def = s.DefaultDoc
		}
		if def == "" {
			def = "none"
		}
		f := fs.VarPF(&settingFlag{s: s}, s.Flag(), "", fmt.Sprintf("%s (%s; default %s)", s.Doc, s.Env(), def))
		if s.Type == "bool" {
			f.NoOptDefVal = "true"
		}
	}
}

// settingFlag is a setting's flag: it checks the value as it is given, so
// a bad one is refused by name at once.
type settingFlag struct {
	s     gateway.Setting
	value string
}

func (f *settingFlag) String() string { return f.value }
func (f *settingFlag) Type() string {
	if f.s.Type == "bool" {
		return "bool"
	}
	return f.s.Type
}

func (f *settingFlag) Set(v string) error {
	var scratch gateway.Config
	if err := f.s.Parse(&scratch, v); err != nil {
		return err
	}
	f.value = v
	return nil
}

// load reads the settings named by keys from cmd's flags, the environment
// and the configuration file. A bad value is a usage error.
func (c cli) load(cmd *cobra.Command, keys ...string) (gateway.Config, map[string]gateway.Source, error) {
	fs := cmd.Flags()
	cfg, sources, err := gateway.Load(gateway.Inputs{
		Flag: func(name string) (string, bool) {
			f := fs.Lookup(name)
			if f == nil || !f.Changed {
				return "", false
			}
			return f.Value.String(), true
		},
		Env: c.env,
	}, keys...)
	if err != nil {
		return cfg, nil, usageError{err}
	}
	return cfg, sources, nil
}
