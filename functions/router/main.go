// Command router is the LLM router: a local HTTP server (the built-in
// default configuration, a YAML file or the DynamoDB table), or, on AWS
// Lambda, the function behind API Gateway. Everything is assembled by
// shared/wiring; this file only hands it the process.
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
	err := wiring.Main(ctx, os.Args[1:], wiring.Process{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}
