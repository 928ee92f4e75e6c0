// Command healthcheck is the health-check Lambda: started every minute by
// EventBridge, it probes every provider and model in rounds
// (ROUTER_HEALTH_INTERVAL apart) and writes their health to the state table
// (docs/HEALTH.md). Outside Lambda it runs rounds
// until interrupted. Everything is assembled by shared/wiring.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/llm-router/router/shared/wiring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := wiring.HealthCheckMain(ctx, wiring.Process{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}
