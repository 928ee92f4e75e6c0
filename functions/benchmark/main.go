// Command benchmark is the weekly benchmark Lambda: started by an
// EventBridge schedule, it sends the configuration's benchmark prompts to
// every model of the routes and writes each model's figures to the state
// table, where routers read the latest as the latency strategy's prior
// (docs/HEALTH.md, "Weekly benchmarks"). Outside Lambda it runs once.
// Everything is assembled by shared/wiring.
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
	err := wiring.BenchmarkMain(ctx, wiring.Process{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmark:", err)
		os.Exit(1)
	}
}
