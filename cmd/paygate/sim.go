package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/sim"
	"github.com/paygate/paygate/internal/sim/simulators"
)

// simulate runs a channel simulator until ctx ends, and prints the channel
// account to create for it.
func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains(simulators.Providers, args[0]) {
		fmt.Fprint(stderr, "usage: paygate sim wechatpay|alipay|unionpay [--addr 127.0.0.1:9101] [--retry-scale 1]\n")
		return errors.New("name a provider to simulate")
	}
	provider := args[0]
	fs := flag.NewFlagSet("sim "+provider, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9101", "listen address")
	scale := fs.Float64("retry-scale", 1, "multiplies the provider's notification retry schedule (0.01: a hundred times faster)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	s, err := simulators.New(provider, sim.Options{RetryScale: *scale, Logger: newLogger(*logLevel, stderr)})
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
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
	fmt.Fprintf(stdout, "%s simulator on %s\n\nCreate its channel account on the gateway:\n\n  curl -s localhost:8080/admin/v1/channel-accounts -H \"Authorization: Bearer $PAYGATE_ADMIN_TOKEN\" --json '%s'\n\nThe payer pays a trade: curl -X POST %s/_sim/trades/<out_trade_no>/pay\n",
		provider, base, strings.ReplaceAll(string(body), "'", `'\''`), base)
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
	return nil
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
