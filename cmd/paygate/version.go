package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/store/sqlite"
)

// version and commit are set at release (-ldflags "-X main.version=v1.2.3
// -X main.commit=…", scripts/release); otherwise they come from what Go
// stamped into the build (the module version, and the commit when the build
// ran in a git checkout with VCS stamping on).
var version, commit string

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
	v, rev := version, commit
	var at string
	var modified bool
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
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
	if rev == "" {
		rev = "unknown (built without VCS stamping)"
	}
	if at != "" {
		rev += " (" + at + ")"
	}
	if modified {
		rev += " with uncommitted changes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "paygate %s\n", v)
	fmt.Fprintf(&b, "  commit  %s\n", rev)
	fmt.Fprintf(&b, "  go      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "  sqlite  %s", sqlite.Driver)
	return b.String()
}
