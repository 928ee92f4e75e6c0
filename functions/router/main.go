// Command router is the LLM router: a local HTTP server on the embedded
// default configuration, or, on AWS Lambda, the function behind API Gateway.
// It only wires the parts together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}

// run starts the local server. env is the environment lookup; stdout receives
// audit and metric lines, stderr the logs.
func run(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	getenv := func(k string) string { v, _ := env(k); return v }
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultAddr := "127.0.0.1:8080"
	if port := getenv("PORT"); port != "" {
		defaultAddr = "127.0.0.1:" + port
	}
	addr := fs.String("addr", defaultAddr, "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))

	source, err := configSource(getenv)
	if err != nil {
		return err
	}
	sink := audit.NewWriter(stdout)
	gw := &gateway.Gateway{
		Source:    source,
		Providers: provider.Builtin(),
		Deps:      llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: env}},
		Sink:      sink,
		Namespace: getenv("ROUTER_METRICS_NAMESPACE"),
		Log:       log,
	}
	if err := gw.Init(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 64 << 10}
	flushCtx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() { sink.Run(flushCtx, 200*time.Millisecond); close(flushed) }()
	log.Info("router listening", "addr", ln.Addr().String(), "config", configName(getenv))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
	}
	stopFlush()
	<-flushed
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func configSource(getenv func(string) string) (gateway.ConfigSource, error) {
	switch store := getenv("ROUTER_STORE"); store {
	case "", "file":
	default:
		return nil, fmt.Errorf("ROUTER_STORE=%s is not available in this build (use file)", store)
	}
	if path := getenv("ROUTER_CONFIG"); path != "" {
		c, err := config.LoadFile(path)
		if err != nil {
			return nil, err
		}
		return gateway.Static{C: c}, nil
	}
	return gateway.Static{C: config.Default()}, nil
}

func configName(getenv func(string) string) string {
	if p := getenv("ROUTER_CONFIG"); p != "" {
		return p
	}
	return "built-in default"
}
