package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/store/sqlite"
)

// version is set at release (-ldflags "-X main.version=v1.2.3"); otherwise
// the module version Go stamped into the build.
var version string

func (c cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the SQLite driver of this binary",
		Args:  usageArgs(cobra.NoArgs),
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(c.stdout, versionString()) },
	}
}

// versionString is the version, the commit it was built from, the Go
// toolchain and the SQLite driver.
func versionString() string {
	v, commit := version, "unknown"
	var at string
	var modified bool
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if at != "" {
		commit += " (" + at + ")"
	}
	if modified {
		commit += " with uncommitted changes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "paygate %s\n", v)
	fmt.Fprintf(&b, "  commit  %s\n", commit)
	fmt.Fprintf(&b, "  go      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "  sqlite  %s", sqlite.Driver)
	return b.String()
}
