package cmd

import (
	"os"
	"os/user"
	"runtime/debug"
)

// Version is trailhound's version; release builds set it with
// -ldflags "-X github.com/trailhound/trailhound/cmd.Version=v1.2.3".
var Version = "dev"

// version returns Version, with the VCS revision when the build recorded one.
func version() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
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
