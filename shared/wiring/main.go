package wiring

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// Main is the router command: it reads flags and environment, builds the
// router, then serves it on a local address or, on Lambda, runs the invoke
// loop (which does not return).
func Main(ctx context.Context, args []string, p Process) error {
	s, err := ParseSettings(p.Env)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	defaultAddr := "127.0.0.1:8080"
	if s.Port != "" {
		defaultAddr = "127.0.0.1:" + s.Port
	}
	addr := fs.String("addr", defaultAddr, "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := Build(ctx, p, s)
	if err != nil {
		return err
	}
	if s.OnLambda {
		lambda.StartWithOptions(r.LambdaHandler(), lambda.WithContext(ctx))
		return nil
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return r.Serve(ctx, ln)
}

// Serve runs the local HTTP server on ln until ctx ends, then shuts down
// gracefully. Audit lines are flushed every 200 ms and at the end.
func (r *Router) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: r.Gateway, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		MaxHeaderBytes: 64 << 10}
	flushCtx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() { r.Audit.Run(flushCtx, 200*time.Millisecond); close(flushed) }()
	tableFlushed := make(chan struct{})
	go func() {
		if r.AuditTable != nil {
			r.AuditTable.Run(flushCtx, time.Second)
		}
		close(tableFlushed)
	}()
	cacheFlushed := make(chan struct{})
	go func() {
		if r.ResponseCache != nil {
			r.ResponseCache.Run(flushCtx, time.Second)
		}
		close(cacheFlushed)
	}()
	limitsFlushed := make(chan struct{})
	go func() { r.Limits.Run(flushCtx, time.Second); close(limitsFlushed) }()
	r.Log.Info("router listening", "addr", ln.Addr().String(), "config", r.configName())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
	}
	stopFlush()
	<-flushed
	<-tableFlushed
	<-cacheFlushed
	<-limitsFlushed
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (r *Router) configName() string {
	switch {
	case r.Settings.Store == StoreDynamoDB:
		return "dynamodb:" + r.Settings.ConfigTable
	case r.Settings.ConfigPath != "":
		return r.Settings.ConfigPath
	}
	return "built-in default"
}
