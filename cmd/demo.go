package cmd

import "github.com/spf13/cobra"

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "Generate a synthetic incident, ingest it and show what it found"}
}
