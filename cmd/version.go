package cmd

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version and Commit describe the build; a release or a build without VCS information sets them:
//
//	go build -ldflags "-X github.com/trailhound/trailhound/cmd.Version=v1.2.3 \
//	  -X github.com/trailhound/trailhound/cmd.Commit=$(git rev-parse HEAD)$(git diff --quiet HEAD || echo -dirty)" ./cmd/trailhound
//
// A Commit ending in "-dirty" means the tree had changes not committed.
var (
	Version = "dev"
	Commit  = ""
)

// version is trailhound's version as --version, 'trailhound version', the pages and the
// evidence pack's manifest give it: VERSION+COMMIT (12 hex digits), with ".dirty" when the
// build had changes not committed, e.g. "dev+0123456789ab.dirty". VERSION is Version, or the
// module's version when Version was not set and the build knows one (go install ...@v1.2.3);
// COMMIT is Commit, or the VCS revision the Go toolchain recorded. Without either, it says so:
// "dev (commit unknown)".
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi, Version, Commit)
}

func versionOf(bi *debug.BuildInfo, v, commit string) string {
	dirty := false
	if c, ok := strings.CutSuffix(commit, "-dirty"); ok {
		commit, dirty = c, true
	}
	if bi != nil {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if commit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
		}
	}
	if commit == "" {
		return v + " (commit unknown)"
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	// A pseudo-version (v0.0.0-20261107120000-0123456789ab+dirty) already names the commit.
	if strings.Contains(v, commit) {
		return v
	}
	v += "+" + commit
	if dirty {
		v += ".dirty"
	}
	return v
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print trailhound's version and commit (as --version does)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(c.OutOrStdout(), "trailhound %s\n", version())
			return err
		},
	}
}

// whoRuns names the user and machine running trailhound, for the evidence pack's manifest.
func whoRuns() string {
	name := "unknown user"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return name
}

// goRunCommand is how hints name trailhound when it runs from 'go run'.
const goRunCommand = "go run ./cmd/trailhound"

// selfCommand is how a hint should tell the user to run trailhound again: "trailhound" when
// that name on $PATH is this program, goRunCommand when it was built by 'go run' (its binary
// sits in a go-build directory), else the path it was started as (./trailhound).
func (e *env) selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "trailhound"
	}
	return selfCommand(exe, os.Args[0], exec.LookPath)
}

func selfCommand(exe, arg0 string, lookPath func(string) (string, error)) string {
	for _, part := range strings.Split(filepath.ToSlash(exe), "/") {
		if strings.HasPrefix(part, "go-build") {
			return goRunCommand
		}
	}
	if p, err := lookPath("trailhound"); err == nil && sameFile(p, exe) {
		return "trailhound"
	}
	if strings.ContainsRune(arg0, os.PathSeparator) {
		return shellQuote(arg0)
	}
	return shellQuote(exe)
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
