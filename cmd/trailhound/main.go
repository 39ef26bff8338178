// Command trailhound is a CloudTrail forensics tool: it pulls CloudTrail into one
// DuckDB file and answers what a leaked access key did.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/trailhound/trailhound/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
